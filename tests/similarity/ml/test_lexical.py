"""Lexical vectors: normalisation, model numbers, field weighting, IDF storage, stable hashing."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from similarity.ml import lexical
from similarity.ml.lexical.hashing import family_counts

REPO_ROOT = Path(__file__).resolve().parents[3]
# MurmurHash3 of "wh1000xm4" in the model family: a changed hash, namespace or normalisation
# moves every stored vector, so it must fail here first (and come with a lexical rebuild).
WH1000XM4_BUCKET = int(family_counts(["wh1000xm4"], "model").indices[0])
CATALOGUE = [
    "Sony WH-1000XM4 Wireless Noise Cancelling Over-Ear Headphones - Black",
    "Sony WH-1000XM3 Wireless Noise Cancelling Over-Ear Headphones - Black",
    "Sony WF-1000XM4 Truly Wireless Earbuds - Black",
    "Bose QuietComfort 45 Wireless Headphones - White",
    "Apple AirPods Pro (2nd generation)",
]


def fitted(columns, config=lexical.LexicalConfig()):
    idf = lexical.catalogue_idf(columns, config)
    return idf, lexical.vectorise_columns(columns, idf, config)


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
    assert lexical.normalise_many([text, "x"]) == [expected, "x"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Красная Кружка", "красная кружка"),
        ("Φλιτζάνι τσαγιού", "φλιτζανι τσαγιου"),  # accents go in every script
        ("陶瓷杯 350ml", "陶瓷杯 350ml"),
        ("Кружка-термос 0.5", "кружка-термос 0.5"),
        ("Straße Øre µm", "strae re m"),  # Latin letters without an ASCII base go, as before
    ],
)
def test_letters_of_every_script_are_kept_and_latin_folds_as_before(text, expected):
    assert lexical.normalise(text) == expected
    assert lexical.normalise_many([text]) == [expected]


def test_titles_in_another_script_meet_their_own_kind():
    idf, catalogue = fitted({"title": ["Красная кружка", "Синяя тарелка", "Red mug"]})
    query = lexical.vectorise_columns(
        {"title": ["кружка красная большая"]}, idf, lexical.LexicalConfig()
    )

    scores = (query @ catalogue.T).toarray()[0]

    assert catalogue[0].nnz and catalogue[1].nnz
    assert int(np.argmax(scores)) == 0 and scores[0] > 0.3


def test_normalise_many_keeps_one_line_per_text_even_with_newlines_inside():
    assert lexical.normalise_many(["a\nb", "", "c - d /"]) == ["a b", "", "c d"]


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("a3l791-03-blu-s", ["a3l79103blus", "a3l791", "a3l79103"]),
        ("ea650green", ["ea650green", "ea650"]),
        ("500gb", ["500gb"]),  # a stem must keep a letter: no bare "500"
        ("43347", ["43347"]),
        ("4k", []),  # too short to be a code
        ("black", []),
    ],
)
def test_model_number_variants(text, codes):
    assert lexical.model_numbers(text) == codes


def test_model_numbers_meet_across_separators_and_case():
    spaced = family_counts([lexical.normalise("WH-1000XM4")], "model")
    joined = family_counts([lexical.normalise("wh1000xm4")], "model")

    assert joined.indices.tolist() == [WH1000XM4_BUCKET]
    assert WH1000XM4_BUCKET in spaced.indices.tolist()


def test_same_model_with_another_title_ranks_above_the_neighbouring_model():
    idf, catalogue = fitted({"title": CATALOGUE})
    query = lexical.vectorise_columns(
        {"title": ["Sony WH-1000XM4 headphones black"]}, idf, lexical.LexicalConfig()
    )

    scores = (query @ catalogue.T).toarray()[0]

    assert np.argsort(-scores).tolist() == [0, 1, 2, 3, 4]
    assert scores[0] - scores[1] > 0.2


def test_vectors_are_unit_norm_capped_and_empty_rows_stay_empty():
    long_text = " ".join(f"word{i} code{i}x" for i in range(2000))
    columns = {"title": ["Sony WH-1000XM4", "", long_text], "description": ["", "", long_text]}

    _, matrix = fitted(columns)

    nonzeros = np.diff(matrix.indptr)
    assert nonzeros[1] == 0 and nonzeros[2] == lexical.MAX_NONZERO
    norms = np.sqrt(matrix.multiply(matrix).sum(axis=1)).A1
    assert norms[[0, 2]] == pytest.approx([1.0, 1.0], abs=1e-5)


def test_a_long_description_adds_evidence_but_never_drowns_the_title():
    prose = "this wonderful item is great for the whole family and more " * 40
    columns = {
        "title": ["Bose QuietComfort 45 Headphones", "Sony WH-1000XM4 Headphones"],
        "description": [prose, "Noise cancelling"],
    }
    idf, catalogue = fitted(columns)
    config = lexical.LexicalConfig()
    query = lexical.vectorise_record({"title": "Bose QuietComfort 45"}, idf, config)
    prose_query = lexical.vectorise_record({"description": prose}, idf, config)

    def score(vector, row):
        return sum(value * catalogue[row, index] for index, value in vector.items())

    assert score(query, 0) > 0.6  # the title's share survives the long prose
    assert score(prose_query, 0) == pytest.approx(
        config.fields.description / np.sqrt(config.fields.title**2 + config.fields.description**2),
        abs=0.05,
    )


def test_query_fields_left_out_add_nothing_and_change_no_ranking():
    columns = {"title": CATALOGUE, "brand": ["Sony", "Sony", "Sony", "Bose", "Apple"]}
    idf, catalogue = fitted(columns)
    config = lexical.LexicalConfig()

    title_only = lexical.vectorise_record({"title": "wireless headphones black"}, idf, config)
    blank = lexical.vectorise_record(
        {"title": "wireless headphones black", "brand": " ", "description": ""}, idf, config
    )

    assert title_only == blank
    assert lexical.vectorise_record({"brand": "", "title": ""}, idf, config) == {}


def test_zero_field_weight_ignores_the_field_on_both_sides():
    config = lexical.LexicalConfig().with_fields(description=0.0)
    columns = {"title": ["Sony WH-1000XM4"], "description": ["Bose headphones"]}
    idf = lexical.catalogue_idf(columns, config)

    with_description = lexical.vectorise_columns(columns, idf, config)
    without = lexical.vectorise_columns({"title": ["Sony WH-1000XM4"]}, idf, config)

    assert (with_description != without).nnz == 0


def test_idf_counts_each_product_once_and_round_trips_through_json():
    columns = {"title": ["sony tv", "sony radio"], "brand": ["sony", ""]}
    config = lexical.LexicalConfig()
    idf = lexical.catalogue_idf(columns, config, batch=1)  # two batches of one
    sony = int(family_counts(["sony"], "word").indices[0])

    restored = lexical.IdfTable.from_json(idf.as_json())

    assert idf.documents == 2 and idf.frequencies[sony] == 2  # title and brand: still one each
    assert restored.documents == 2
    assert np.array_equal(restored.frequencies, idf.frequencies)


def test_idf_from_an_index_built_before_the_packed_form():
    restored = lexical.IdfTable.from_json({"documents": 3, "frequencies": {"5": 2, "7": 1}})

    assert restored.idf(5) == pytest.approx(np.log(4 / 3) + 1)
    assert restored.idf(8) == pytest.approx(np.log(4) + 1)


@pytest.mark.parametrize(
    ("documents", "changed", "refit"),
    [(1000, 199, False), (1000, 200, True), (0, 0, True), (10, 1, False), (10, 2, True)],
)
def test_idf_is_refitted_once_the_drift_reaches_its_share(documents, changed, refit):
    assert lexical.IDF_DRIFT_SHARE == 0.2
    assert lexical.idf_needs_refit(documents_at_fit=documents, changed_since_fit=changed) is refit


def test_config_round_trips_through_json():
    config = lexical.LexicalConfig().with_fields(description=0.7, model=1.0)

    assert lexical.LexicalConfig.from_json(config.as_json()) == config
    assert lexical.LexicalConfig.from_json({}) == lexical.LexicalConfig()


@pytest.mark.parametrize("hash_seed", ["0", "12345"])
def test_buckets_agree_across_processes(hash_seed):
    script = (
        "from similarity.ml import lexical; "
        "idf = lexical.IdfTable(); "
        "print(sorted(lexical.vectorise_record({'title': 'Sony WH-1000XM4 Black'}, idf, "
        "lexical.LexicalConfig())))"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}

    output = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, check=True
    ).stdout.decode()

    here = lexical.vectorise_record(
        {"title": "Sony WH-1000XM4 Black"}, lexical.IdfTable(), lexical.LexicalConfig()
    )
    assert output.strip() == str(sorted(here))


@pytest.mark.parametrize(
    ("texts", "counts"),
    [
        ([""], [0]),
        (["a"], [1]),  # " a " is one 3-gram
        (["abcd"], [9]),  # " abcd ": four 3-grams, three 4-grams, two 5-grams
        (["ab", "", "abcd"], [3, 0, 9]),  # no n-gram spans two texts
    ],
)
def test_char_ngrams_are_counted_per_text(texts, counts):
    from similarity.ml.lexical.hashing import char_ngram_counts

    matrix = char_ngram_counts(texts)

    assert matrix.sum(axis=1).A1.tolist() == counts


def test_char_ngram_buckets_do_not_depend_on_the_neighbouring_texts():
    from similarity.ml.lexical.hashing import char_ngram_counts

    alone = char_ngram_counts(["sony wh-1000xm4"])
    among = char_ngram_counts(["bose", "sony wh-1000xm4", "x"])[1]

    assert (alone != among).nnz == 0
