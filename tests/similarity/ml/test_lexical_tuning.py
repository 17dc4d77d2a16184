"""Field weights tuned per catalogue from pseudo-queries (no labels)."""

import csv
import random
from pathlib import Path

import numpy as np
import pytest

from similarity.ml import lexical
from similarity.ml.lexical import corruption, tuning

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
NOUNS = ["speaker", "camera", "kettle", "router", "drill", "monitor", "blender", "charger"]
COLOURS = ["black", "white", "silver", "red"]
SERIES = [f"{a}{b}{c}" for a in "bdfk" for b in "aeiou" for c in "lmnrst"]
BOILERPLATE = [
    "Great quality product for the whole family and every day use",
    "Order today and enjoy fast delivery with our friendly service",
    "A reliable choice trusted by thousands of happy customers",
]


def synthetic_catalogue(informative: bool, size: int = 400, seed: int = 7) -> lexical.Columns:
    """Products whose titles (brand, noun, colour) are shared by several products; their
    descriptions either name what tells them apart, a code and a series, in both halves
    (informative) or are shared boilerplate."""
    rng = random.Random(seed)
    brands = [f"brand{chr(97 + i)}{chr(97 + j)}" for i in range(4) for j in range(4)]
    columns = {"title": [], "brand": [], "description": []}
    for i in range(size):
        brand, noun, colour = rng.choice(brands), rng.choice(NOUNS), rng.choice(COLOURS)
        code, series = f"{rng.choice('ABCDEFGH')}{rng.choice('XYZ')}{i}", SERIES[i % len(SERIES)]
        columns["title"].append(f"{brand} {noun} {colour}")
        columns["brand"].append(brand)
        specific = f"{code} {series} {noun} model {code} {series} edition"
        columns["description"].append(specific if informative else rng.choice(BOILERPLATE))
    return columns


def test_descriptions_that_identify_the_product_weigh_more_than_boilerplate():
    informative = tuning.tune(synthetic_catalogue(informative=True))
    boilerplate = tuning.tune(synthetic_catalogue(informative=False))

    assert informative.method == boilerplate.method == "pseudo-queries"
    default = lexical.FieldWeights().description
    assert informative.config.fields.description > default > boilerplate.config.fields.description
    assert informative.mrr_tuned >= informative.mrr_default


def test_tuning_is_deterministic_and_records_its_evidence():
    columns = synthetic_catalogue(informative=True)

    first, second = tuning.tune(columns), tuning.tune(columns)

    assert first.as_json() == second.as_json()
    assert first.queries == 400 and first.products == 400
    assert first.field_share == {"title": 1.0, "brand": 1.0, "description": 1.0}
    assert first.trials[0]["weights"] == lexical.FieldWeights().__dict__
    assert max(trial["mrr"] for trial in first.trials) == first.mrr_tuned


def test_a_small_catalogue_keeps_the_documented_defaults():
    columns = synthetic_catalogue(informative=True, size=tuning.MIN_PRODUCTS - 1)

    result = tuning.tune(columns)

    assert result.method == "default"
    assert result.config == lexical.LexicalConfig()
    assert "fewer than 200" in result.note


def test_a_catalogue_without_descriptions_gives_them_no_weight():
    columns = synthetic_catalogue(informative=True)
    columns["description"] = [""] * len(columns["title"])

    result = tuning.tune(columns)

    assert result.config.fields.description == 0.0
    assert "description" not in result.note


def test_matched_pairs_replace_the_pseudo_queries():
    columns = synthetic_catalogue(informative=True)
    targets = np.arange(0, 400, 2)
    queries = {"title": [columns["title"][i].split(" ", 1)[1] for i in targets]}

    result = tuning.tune(columns, pairs=(queries, targets))

    assert result.method == "pairs"
    assert result.queries == len(targets)


def test_a_pseudo_query_holds_the_description_half_the_catalogue_side_lacks():
    first, second = corruption.split_description("one two three four five")
    record = {"title": "Sony WH-1000XM4 Wireless Headphones Black", "brand": "Sony"}

    query = corruption.pseudo_query(record, first, {"description": 1.0}, random.Random(3))

    assert (first, second) == ("one two three", "four five")
    assert query["description"] == first
    assert "brand" not in query  # this catalogue fills no brand (share 0): neither do queries


@pytest.mark.parametrize(
    ("damage", "title"),
    [
        ({}, "Sony WH-1000XM4 Wireless Headphones Black"),
        ({"drop_codes": 1.0}, "Sony Wireless Headphones Black"),
        ({"drop_brand": 1.0}, "WH-1000XM4 Wireless Headphones Black"),
        ({"drop_brand": 1.0, "drop_codes": 1.0}, "Wireless Headphones Black"),
    ],
)
def test_title_damage(monkeypatch, damage, title):
    monkeypatch.setattr(corruption, "DAMAGE", dict.fromkeys(corruption.DAMAGE, 0.0) | damage)
    record = {"title": "Sony WH-1000XM4 Wireless Headphones Black", "brand": "Sony"}

    assert corruption.damaged_title(record, random.Random(1)) == title


def read(path: Path, encoding: str) -> list[dict]:
    with path.open(newline="", encoding=encoding) as handle:
        return list(csv.DictReader(handle))


@pytest.mark.skipif(not (DATA / "abt-buy").is_dir(), reason="shared dev data not present")
def test_dev_catalogues_get_weights_in_the_direction_their_data_implies():
    walmart = read(DATA / "amazon-walmart" / "tableB.csv", "utf-8")
    abt_buy = read(DATA / "abt-buy" / "tableB.csv", "latin-1")

    walmart_weights = tuning.tune(
        {
            "title": [row["title"] for row in walmart],
            "brand": [row["brand"] for row in walmart],
            "model": [row["modelno"] for row in walmart],
        }
    ).config.fields
    abt_buy_weights = tuning.tune(
        {
            "title": [row["name"] for row in abt_buy],
            "description": [row["description"] for row in abt_buy],
        }
    ).config.fields

    # Buy's descriptions restate names and codes; Walmart–Amazon's catalogue has none.
    assert abt_buy_weights.description > walmart_weights.description
