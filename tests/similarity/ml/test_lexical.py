"""Lexical vectors: normalisation, model numbers, ranking, norms, IDF storage, stable hashing."""

import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from similarity.ml import lexical

REPO_ROOT = Path(__file__).resolve().parents[3]
# blake2b("model:wh1000xm4") mod 2**20: a changed hash, namespace or normalisation moves every
# stored vector, so it must fail here first (and come with a lexical index rebuild).
WH1000XM4_BUCKET = 601901
CATALOGUE = [
    "Sony WH-1000XM4 Wireless Noise Cancelling Over-Ear Headphones - Black",
    "Sony WH-1000XM3 Wireless Noise Cancelling Over-Ear Headphones - Black",
    "Sony WF-1000XM4 Truly Wireless Earbuds - Black",
    "Bose QuietComfort 45 Wireless Headphones - White",
    "Apple AirPods Pro (2nd generation)",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Café Crème", "cafe creme"),
        ("Ångström Naïve Façade", "angstrom naive facade"),
        ("SONY WH-1000XM4", "sony wh-1000xm4"),
        ("Sony® WH-1000XM4 (Black)!", "sony wh-1000xm4 black"),
        ('  1/4"  x 2.5m\tCable, Blue  ', "1/4 x 2.5m cable blue"),
        ("Sony™ Walkman®", "sony walkman"),
        ("™ ® © !?", ""),
    ],
)
def test_normalise_folds_accents_case_and_punctuation(text, expected):
    assert lexical.normalise(text) == expected


def test_model_numbers_meet_across_separators_and_case():
    spaced = lexical.hashed_counts("WH-1000XM4")["model"]
    joined = lexical.hashed_counts("wh1000xm4")["model"]

    assert joined == Counter({WH1000XM4_BUCKET: 1})
    assert spaced == Counter({WH1000XM4_BUCKET: 1, lexical._bucket("model", "1000xm4"): 1})


@pytest.mark.parametrize(
    ("word", "codes"),
    [
        ("a3l791-03-blu-s", {"a3l79103blus": 1, "a3l791": 1, "a3l79103": 1}),
        ("ea650green", {"ea650green": 1, "ea650": 1}),
        ("500gb", {"500gb": 1}),  # a stem must keep a letter: no bare "500"
        ("43347", {"43347": 1}),
        ("4k", {}),  # too short to be a code
        ("black", {}),
    ],
)
def test_model_number_variants(word, codes):
    assert lexical._model_numbers([word], variants=True) == Counter(codes)


def test_model_number_variants_off_keeps_the_joined_code_only():
    assert lexical._model_numbers(["a3l791-03-blu-s"], variants=False) == Counter(
        {"a3l79103blus": 1}
    )


def test_same_model_with_another_title_ranks_above_the_neighbouring_model():
    idf = lexical.fit_idf(CATALOGUE)
    query = lexical.vectorise("Sony WH-1000XM4 headphones black", idf)

    scores = [lexical.cosine(query, lexical.vectorise(text, idf)) for text in CATALOGUE]

    assert sorted(range(len(CATALOGUE)), key=lambda i: -scores[i]) == [0, 1, 2, 3, 4]
    assert scores[0] - scores[1] > 0.2
    assert scores[4] == 0.0


def test_vectors_are_unit_norm_and_capped():
    idf = lexical.fit_idf(CATALOGUE)
    long_text = " ".join(f"part{i:04d} colour{i % 37} size{i % 11}" for i in range(600))

    for text in [CATALOGUE[0], long_text]:
        vector = lexical.vectorise(text, idf)
        assert math.sqrt(sum(value * value for value in vector.values())) == pytest.approx(1.0)
        assert all(0 <= index < lexical.DIMENSIONS for index in vector)
        assert all(value > 0 for value in vector.values())
    assert len(lexical.vectorise(long_text, idf)) == lexical.MAX_NONZERO


def test_empty_text_gives_an_empty_vector():
    idf = lexical.fit_idf(CATALOGUE)

    assert lexical.vectorise("", idf) == {}
    assert lexical.vectorise(" -- ! ", idf) == {}
    assert lexical.cosine({}, lexical.vectorise(CATALOGUE[0], idf)) == 0.0


def test_idf_counts_documents_and_round_trips_through_json():
    idf = lexical.fit_idf(["red shoe", "red hat", "blue hat"])
    red = lexical._bucket("word", "red")

    restored = lexical.IdfTable.from_json(json.loads(json.dumps(idf.as_json())))

    assert idf.documents == 3
    assert idf.frequencies[red] == 2
    assert idf.idf(red) == pytest.approx(math.log(4 / 3) + 1)
    assert idf.idf(lexical._bucket("word", "never-seen")) == pytest.approx(math.log(4) + 1)
    assert restored == idf


def test_cosine_is_symmetric_and_one_for_identical_text():
    idf = lexical.fit_idf(CATALOGUE)
    a = lexical.vectorise(CATALOGUE[0], idf)
    b = lexical.vectorise(CATALOGUE[2], idf)

    assert lexical.cosine(a, b) == lexical.cosine(b, a)
    assert 0.0 < lexical.cosine(a, b) < 1.0
    assert lexical.cosine(a, lexical.vectorise(CATALOGUE[0], idf)) == pytest.approx(1.0)


def test_zero_weights_leave_only_the_ngram_family():
    idf = lexical.fit_idf(CATALOGUE)
    ngrams_only = lexical.LexicalConfig(word_weight=0.0, model_number_weight=0.0)

    vector = lexical.vectorise("wh1000xm4", idf, ngrams_only)

    assert WH1000XM4_BUCKET not in vector
    assert set(vector) == set(lexical.hashed_counts("wh1000xm4")["ngram"])


def test_default_config_is_the_tuned_one():
    assert lexical.LexicalConfig() == lexical.LexicalConfig(
        ngram_weight=1.0,
        word_weight=0.6,
        model_number_weight=0.6,
        model_number_variants=True,
        sublinear_tf=True,
    )


@pytest.mark.parametrize("hash_seed", ["0", "12345"])
def test_buckets_agree_across_processes(hash_seed):
    script = (
        "import json; from similarity.ml import lexical; "
        "print(json.dumps({f: sorted(c.items()) for f, c in "
        "lexical.hashed_counts('Sony WH-1000XM4 Black').items()}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}

    output = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, check=True
    ).stdout

    here = lexical.hashed_counts("Sony WH-1000XM4 Black")
    assert json.loads(output) == {
        f: [list(item) for item in sorted(c.items())] for f, c in here.items()
    }
