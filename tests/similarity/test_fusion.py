"""The fused score on hand-built products: exact signal values and how weights order results."""

import math

import pytest

from similarity import fusion
from similarity.fusion import Facts, Weights
from similarity.scores import cosine_to_unit


def facts(**overrides) -> Facts:
    values = {
        "brand": "Hearth",
        "category_path": "Home > Kitchen > Mugs",
        "tags": ["red", "ceramic"],
        "attributes": {"colour": "red"},
        "price": 10.0,
    }
    values.update(overrides)
    return Facts(**values)


def test_jaccard_of_known_sets():
    assert fusion.jaccard({"a", "b", "c"}, {"b", "c", "d"}) == 0.5
    assert fusion.jaccard(set(), set()) == 0.0


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (10, 10, 1.0),
        (10, 20, 0.5),
        (20, 10, 0.5),
        (10, 40, 0.0),
        (10, 80, 0.0),
        (10, 10 * math.sqrt(2), 0.75),
    ],
)
def test_price_proximity(left, right, expected):
    assert fusion.price_proximity(left, right) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("Home > Kitchen > Mugs", "Home > Kitchen > Mugs", 1.0),
        ("Home > Kitchen > Mugs", "Home > Kitchen > Plates", 2 / 3),
        ("Home > Kitchen", "Home > Kitchen > Plates", 2 / 3),
        ("Home > Kitchen > Mugs", "Fashion > Hats", 0.0),
        ("", "Home", 0.0),
    ],
)
def test_category_closeness(left, right, expected):
    assert fusion.category_closeness(left, right) == pytest.approx(expected)


def test_attribute_score_and_what_is_shared():
    source = facts()
    candidate = facts(
        brand="Nord",
        tags=["red", "stoneware"],
        attributes={"colour": "red"},
        category_path="Home > Kitchen > Plates",
    )
    score, shared_tags, shared_attributes = fusion.attribute_score(source, candidate)
    # features: {tag:red, tag:ceramic, colour=red} vs {tag:red, tag:stoneware, colour=red}
    # Jaccard 2/4; brand 0; category 2/3 → mean (0.5 + 0 + 2/3) / 3
    assert score == pytest.approx((0.5 + 0 + 2 / 3) / 3)
    assert (shared_tags, shared_attributes) == (["red"], {"colour": "red"})


def test_fused_score_is_the_weighted_mean_and_contributions_add_up():
    breakdown = fusion.fuse(
        source=facts(),
        candidate=facts(price=20.0),
        weights=Weights(),
        image=0.6,
        text=0.5,
        text_learned=None,
    )
    # image (1+0.6)/2 = 0.8; text 0.5; attributes 1.0 (identical); price 0.5; learned missing
    expected = (0.55 * 0.8 + 0.2 * 0.5 + 0.1 * 1.0 + 0.05 * 0.5) / (0.55 + 0.2 + 0.1 + 0.05)
    assert breakdown.fused == pytest.approx(expected)
    assert sum(breakdown.contributions.values()) == pytest.approx(breakdown.fused)
    assert set(breakdown.contributions) == {"image", "text", "attributes", "price"}
    assert breakdown.scores["text_learned"] is None
    assert breakdown.strongest_reason == "Looks alike"


def test_weights_change_the_order():
    source = facts()
    look_alike = dict(candidate=facts(brand="Nord", tags=[], attributes={}), image=0.95, text=0.1)
    same_words = dict(candidate=facts(), image=0.2, text=0.9)
    image_heavy, text_heavy = (
        Weights(image=1, text=0, text_learned=0, attributes=0, price=0),
        Weights(image=0.1, text=1, text_learned=0, attributes=0.5, price=0),
    )

    def order(weights):
        scores = {
            name: fusion.fuse(source=source, weights=weights, **args).fused
            for name, args in (("look_alike", look_alike), ("same_words", same_words))
        }
        return sorted(scores, key=scores.get, reverse=True)

    assert order(image_heavy) == ["look_alike", "same_words"]
    assert order(text_heavy) == ["same_words", "look_alike"]


@pytest.mark.parametrize("cosine", [math.nan, math.inf, -math.inf])
def test_a_non_finite_cosine_is_no_signal_rather_than_a_perfect_match(cosine):
    # max(-1, min(1, nan)) is 1.0: a clamp alone reads NaN as a perfect match.
    assert cosine_to_unit(cosine) is None
    breakdown = fusion.fuse(
        source=facts(), candidate=facts(), weights=Weights(), image=cosine, text=cosine
    )
    assert breakdown.scores["image"] is None
    assert breakdown.scores["text"] is None
    assert set(breakdown.contributions) == {"attributes", "price"}


def test_a_same_name_match_with_unrelated_photos_is_called_a_name_match():
    """Unrelated photos (cosine 0) still score 0.5: ranked on raw contributions they (0.55 × 0.5)
    outweighed a perfect name match (0.2 × 1), and nearly every item "looked alike"."""
    same = facts(tags=[], attributes={})

    breakdown = fusion.fuse(source=same, candidate=same, weights=Weights(), image=0.0, text=1.0)

    assert breakdown.strongest_reason == "Similar name"


def test_an_empty_attribute_of_the_source_is_shared_with_no_candidate():
    """A feed leaving a column empty ({"colour": ""}) explained every candidate without a
    colour as sharing colour "" with it."""
    _, _, shared = fusion.attribute_score(facts(attributes={"colour": ""}), facts(attributes={}))

    assert shared == {}


@pytest.mark.parametrize("empty", [None, "", " "])
def test_an_attribute_without_a_value_is_no_feature(empty):
    assert fusion._features(facts(attributes={"colour": empty})) == {"tag:red", "tag:ceramic"}


def test_shared_attributes_agree_with_the_jaccard_on_key_case():
    """The Jaccard counted Size=M and size=M as one feature, the breakdown showed none shared."""
    bare = dict(tags=[], brand="", category_path="")
    score, _, shared = fusion.attribute_score(
        facts(attributes={"Size": "M"}, **bare), facts(attributes={"size": "m"}, **bare)
    )

    assert score == pytest.approx(1 / 3)  # the Jaccard counted the match: (1 + 0 + 0) / 3
    assert shared == {"Size": "M"}
