"""similarity.ml.evaluation: retrieval metrics and the colour-histogram baseline."""

import math

import numpy as np
import pytest

from similarity.ml.evaluation import (
    ERR_BATCH_SIZE,
    ERR_DIM_MISMATCH,
    ERR_EMPTY,
    ERR_EXCLUDE_SELF,
    ERR_LABELS_LENGTH,
    ERR_METRIC,
    ERR_NO_RELEVANT,
    ERR_NOT_2D,
    ERR_NOT_FINITE,
    ERR_NOT_FLOAT,
    RetrievalMetrics,
    colour_histogram,
    colour_histograms,
    l2_normalise,
    nearest_neighbours,
    retrieval_metrics,
)

#                  index:  0    1    2    3    4    5    6    7    8    9    10   11
GALLERY_LABELS = ["a", "a", "a", "b", "b", "b", "b", "c", "z", "z", "z", "z"]


def vectors_ranking(*rankings: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """One-hot queries and a gallery whose inner products rank the gallery as each list says.

    Query q is e_q, so its score for gallery item j is gallery[j, q]: giving the item at
    position p of ranking q the score (n - p) makes that ranking the "ip" order.
    """
    gallery = np.zeros((len(rankings[0]), len(rankings)))
    for query, ranking in enumerate(rankings):
        gallery[ranking, query] = len(ranking) - np.arange(len(ranking))
    return np.eye(len(rankings)), gallery


def test_metrics_match_a_hand_computation():
    # given three queries with known rankings of the 12-item gallery
    queries, gallery = vectors_ranking(
        # "a" (R = 3): relevant at ranks 2, 5 and 11
        [3, 0, 4, 5, 1, 6, 7, 8, 9, 10, 2, 11],
        # "b" (R = 4): relevant at ranks 1, 3, 6 and 10
        [3, 0, 4, 8, 9, 5, 10, 11, 1, 6, 2, 7],
        # "c" (R = 1): relevant at rank 7
        [8, 9, 10, 11, 0, 1, 7, 2, 3, 4, 5, 6],
    )

    # when
    metrics = retrieval_metrics(queries, ["a", "b", "c"], gallery, GALLERY_LABELS, metric="ip")

    # then
    # hits in the top 1: a no, b yes, c no; top 5: a yes, b yes, c no; top 10: all three.
    # P@10: a 2/10, b 4/10, c 1/10.
    # AP@10 = sum of P@k at the relevant ranks k <= 10, over min(10, R):
    #   a (P@2 = 1/2, P@5 = 2/5) / 3
    #   b (P@1 = 1, P@3 = 2/3, P@6 = 3/6, P@10 = 4/10) / 4
    #   c (P@7 = 1/7) / 1
    # NDCG@10 = sum 1/log2(rank + 1) at the relevant ranks, over the same for ranks 1..min(10, R):
    #   a (1/log2 3 + 1/log2 6) / (1 + 1/log2 3 + 1/log2 4)
    #   b (1 + 1/log2 4 + 1/log2 7 + 1/log2 11) / (1 + 1/log2 3 + 1/log2 4 + 1/log2 5)
    #   c (1/log2 8) / 1
    ndcg_a = (1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    ndcg_b = (1 + 1 / math.log2(4) + 1 / math.log2(7) + 1 / math.log2(11)) / (
        1 + 1 / math.log2(3) + 1 / math.log2(4) + 1 / math.log2(5)
    )
    ndcg_c = 1 / math.log2(8)
    assert metrics.recall_at_1 == pytest.approx(1 / 3)
    assert metrics.recall_at_5 == pytest.approx(2 / 3)
    assert metrics.recall_at_10 == 1.0
    assert metrics.precision_at_10 == pytest.approx((0.2 + 0.4 + 0.1) / 3)
    assert metrics.map_at_10 == pytest.approx(
        ((1 / 2 + 2 / 5) / 3 + (1 + 2 / 3 + 3 / 6 + 4 / 10) / 4 + 1 / 7) / 3
    )
    assert metrics.ndcg_at_10 == pytest.approx((ndcg_a + ndcg_b + ndcg_c) / 3)
    assert metrics.ndcg_at_10 == pytest.approx(0.5494, abs=1e-4)  # the same, as a number
    assert metrics.queries == 3


def test_perfect_ranking_scores_one_everywhere():
    # given two tight clusters, each query sitting in its own cluster
    gallery = np.array([[1.0, 0.0], [0.99, 0.1], [0.98, 0.2], [0.0, 1.0], [0.1, 0.99]])
    queries = np.array([[1.0, 0.05], [0.05, 1.0]])

    # when
    metrics = retrieval_metrics(queries, ["x", "y"], gallery, ["x", "x", "x", "y", "y"])

    # then
    assert metrics == RetrievalMetrics(
        recall_at_1=1.0,
        recall_at_5=1.0,
        recall_at_10=1.0,
        precision_at_10=pytest.approx((3 / 10 + 2 / 10) / 2),  # only 3 and 2 items exist
        map_at_10=1.0,
        ndcg_at_10=pytest.approx(1.0),
        queries=2,
    )


def test_relevant_items_ranked_last_of_twelve_score_zero():
    # given a gallery the inner product ranks 11, 10, ..., 0, with the relevant items 0 and 1
    gallery = np.arange(1.0, 13.0)[:, None]
    labels = ["a", "a"] + ["z"] * 10

    # when
    metrics = retrieval_metrics(np.array([[1.0]]), ["a"], gallery, labels, metric="ip")

    # then
    assert metrics.as_dict() == {
        "recall_at_1": 0.0,
        "recall_at_5": 0.0,
        "recall_at_10": 0.0,
        "precision_at_10": 0.0,
        "map_at_10": 0.0,
        "ndcg_at_10": 0.0,
        "queries": 1,
    }


def test_reversed_ranking_of_a_small_gallery():
    # given four items ranked 3, 2, 1, 0 and relevant items 0 and 1, i.e. at ranks 4 and 3
    gallery = np.array([[1.0], [2.0], [3.0], [4.0]])

    # when
    metrics = retrieval_metrics(
        np.array([[1.0]]), ["a"], gallery, ["a", "a", "b", "b"], metric="ip"
    )

    # then
    assert metrics.recall_at_1 == 0.0
    assert metrics.recall_at_5 == 1.0
    assert metrics.precision_at_10 == pytest.approx(2 / 10)  # still out of 10
    assert metrics.map_at_10 == pytest.approx((1 / 3 + 2 / 4) / 2)
    assert metrics.ndcg_at_10 == pytest.approx(
        (1 / math.log2(4) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    )


def unit(degrees: float) -> list[float]:
    return [math.cos(math.radians(degrees)), math.sin(math.radians(degrees))]


# a1 at 0 degrees, a2 at 15, b1 at 25, b2 at 90
LEAVE_ONE_OUT = np.array([unit(0), unit(15), unit(25), unit(90)])
LEAVE_ONE_OUT_LABELS = ["a", "a", "b", "b"]


def test_exclude_self_ranks_each_query_among_the_others():
    # when
    metrics = retrieval_metrics(
        LEAVE_ONE_OUT,
        LEAVE_ONE_OUT_LABELS,
        LEAVE_ONE_OUT,
        LEAVE_ONE_OUT_LABELS,
        exclude_self=True,
    )

    # then each query has R = 1 (its partner):
    #   a1: a2 (15) first                         -> hit@1, AP 1,   NDCG 1
    #   a2: b1 (10), a1 (15)                      -> rank 2, AP 1/2, NDCG 1/log2 3
    #   b1: a2 (10), a1 (25), b2 (65)             -> rank 3, AP 1/3, NDCG 1/log2 4
    #   b2: b1 (65) first                         -> hit@1, AP 1,   NDCG 1
    assert metrics.recall_at_1 == 0.5
    assert metrics.recall_at_5 == 1.0
    assert metrics.precision_at_10 == pytest.approx(0.1)
    assert metrics.map_at_10 == pytest.approx((1 + 1 / 2 + 1 / 3 + 1) / 4)
    assert metrics.ndcg_at_10 == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(4) + 1) / 4)
    assert metrics.queries == 4
    assert nearest_neighbours(LEAVE_ONE_OUT, LEAVE_ONE_OUT, exclude_self=True).tolist() == [
        [1, 2, 3],
        [2, 0, 3],
        [1, 0, 3],
        [2, 1, 0],
    ]


def test_without_exclude_self_every_query_finds_itself_first():
    metrics = retrieval_metrics(
        LEAVE_ONE_OUT, LEAVE_ONE_OUT_LABELS, LEAVE_ONE_OUT, LEAVE_ONE_OUT_LABELS
    )

    assert metrics.recall_at_1 == 1.0
    assert nearest_neighbours(LEAVE_ONE_OUT, LEAVE_ONE_OUT)[:, 0].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("metric", "ranking"),
    [
        ("cosine", [0, 1, 2]),  # angles 0, 16.7 and 45 degrees
        ("l2", [1, 0, 2]),  # distances 0.3, 0.5 and 5
        ("ip", [2, 1, 0]),  # products 4, 1 and 0.5
    ],
)
def test_each_metric_ranks_unnormalised_vectors_its_own_way(metric, ranking):
    gallery = np.array([[0.5, 0.0], [1.0, 0.3], [4.0, 4.0]])
    query = np.array([[1.0, 0.0]])

    assert nearest_neighbours(query, gallery, metric=metric).tolist() == [ranking]
    hits_at_1 = [
        retrieval_metrics(query, [label], gallery, ["a", "b", "c"], metric=metric).recall_at_1
        for label in "abc"
    ]
    assert hits_at_1 == [1.0 if index == ranking[0] else 0.0 for index in range(3)]


def test_ties_rank_by_gallery_index():
    # given twelve identical items: all scores tie, including across the top-10 cut
    gallery = np.ones((12, 2))

    # then the ranking is by index, so items 10 and 11 never reach the top 10
    assert nearest_neighbours(np.ones((1, 2)), gallery).tolist() == [list(range(10))]
    late = retrieval_metrics(np.ones((1, 2)), ["a"], gallery, ["z"] * 10 + ["a", "a"])
    first = retrieval_metrics(np.ones((1, 2)), ["a"], gallery, ["a"] + ["z"] * 11)
    assert (late.recall_at_10, first.recall_at_1) == (0.0, 1.0)


def test_ties_at_the_cut_and_inside_the_top_k_rank_by_index():
    # given scores 1, 2, 2, 2, 0, 2 for one query (inner product with [1])
    gallery = np.array([[1.0], [2.0], [2.0], [2.0], [0.0], [2.0]])

    assert nearest_neighbours(np.array([[1.0]]), gallery, k=2, metric="ip").tolist() == [[1, 2]]
    assert nearest_neighbours(np.array([[1.0]]), gallery, k=5, metric="ip").tolist() == [
        [1, 2, 3, 5, 0]
    ]


def test_top_k_equals_a_full_stable_sort_on_tie_heavy_data():
    # given integer vectors, so many inner products tie exactly
    rng = np.random.default_rng(7)
    queries = rng.integers(-2, 3, size=(40, 3)).astype(float)
    gallery = rng.integers(-2, 3, size=(60, 3)).astype(float)

    found = nearest_neighbours(queries, gallery, k=10, metric="ip", batch_size=7)

    expected = np.argsort(-(queries @ gallery.T), axis=1, kind="stable")[:, :10]
    assert found.tolist() == expected.tolist()


def test_queries_without_relevant_items_are_left_out():
    # given the hand-built example plus a fourth query whose label no gallery item has
    queries, gallery = vectors_ranking(
        [3, 0, 4, 5, 1, 6, 7, 8, 9, 10, 2, 11],
        [3, 0, 4, 8, 9, 5, 10, 11, 1, 6, 2, 7],
        [8, 9, 10, 11, 0, 1, 7, 2, 3, 4, 5, 6],
        list(range(12)),
    )

    with_orphan = retrieval_metrics(
        queries, ["a", "b", "c", "q"], gallery, GALLERY_LABELS, metric="ip"
    )
    without = retrieval_metrics(
        queries[:3, :3], ["a", "b", "c"], gallery[:, :3], GALLERY_LABELS, metric="ip"
    )

    # then it changes nothing: the means and the count are those of the first three queries
    assert with_orphan == without
    assert with_orphan.queries == 3
    assert with_orphan.recall_at_1 == pytest.approx(1 / 3)


def test_a_query_whose_only_match_is_itself_is_left_out_with_exclude_self():
    vectors = np.array([unit(0), unit(15), unit(60)])

    metrics = retrieval_metrics(
        vectors, ["a", "a", "b"], vectors, ["a", "a", "b"], exclude_self=True
    )

    assert (metrics.queries, metrics.recall_at_1) == (2, 1.0)


def test_no_query_with_a_relevant_item_is_an_error():
    with pytest.raises(ValueError, match=ERR_NO_RELEVANT):
        retrieval_metrics(np.ones((1, 2)), ["a"], np.ones((3, 2)), ["b", "b", "b"])


@pytest.mark.parametrize("metric", ["cosine", "l2", "ip"])
@pytest.mark.parametrize("exclude_self", [False, True])
def test_batch_size_does_not_change_the_result(metric, exclude_self):
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(30, 4))
    labels = rng.integers(0, 3, size=30).tolist()

    def evaluate(**options):
        return retrieval_metrics(
            vectors, labels, vectors, labels, metric=metric, exclude_self=exclude_self, **options
        )

    assert evaluate(batch_size=1) == evaluate() == evaluate(batch_size=7)


def test_metrics_as_dict_is_plain_json_values():
    metrics = RetrievalMetrics(0.5, 0.75, 1.0, 0.2, 0.6, 0.7, 12)

    assert metrics.as_dict() == {
        "recall_at_1": 0.5,
        "recall_at_5": 0.75,
        "recall_at_10": 1.0,
        "precision_at_10": 0.2,
        "map_at_10": 0.6,
        "ndcg_at_10": 0.7,
        "queries": 12,
    }


GOOD = np.ones((2, 3))


@pytest.mark.parametrize(
    ("arguments", "options", "message"),
    [
        (
            (np.ones(3), ["a"], GOOD, ["a", "b"]),
            {},
            ERR_NOT_2D.format(name="query_vectors", shape=(3,)),
        ),
        (
            (GOOD, ["a", "b"], np.ones((2, 3), dtype=np.int64), ["a", "b"]),
            {},
            ERR_NOT_FLOAT.format(name="gallery_vectors", dtype="int64"),
        ),
        (
            (np.ones((0, 3)), [], GOOD, ["a", "b"]),
            {},
            ERR_EMPTY.format(name="query_vectors"),
        ),
        (
            (GOOD, ["a", "b"], np.array([[1.0, 1, 1], [1, np.nan, 1]]), ["a", "b"]),
            {},
            ERR_NOT_FINITE.format(name="gallery_vectors", row=1),
        ),
        (
            (np.array([[np.inf, 1, 1]]), ["a"], GOOD, ["a", "b"]),
            {},
            ERR_NOT_FINITE.format(name="query_vectors", row=0),
        ),
        (
            (np.ones((2, 4)), ["a", "b"], GOOD, ["a", "b"]),
            {},
            ERR_DIM_MISMATCH.format(query=4, gallery=3),
        ),
        (
            (GOOD, ["a"], GOOD, ["a", "b"]),
            {},
            ERR_LABELS_LENGTH.format(name="query_labels", labels=1, vectors=2),
        ),
        (
            (GOOD, ["a", "b"], GOOD, ["a", "b", "c"]),
            {},
            ERR_LABELS_LENGTH.format(name="gallery_labels", labels=3, vectors=2),
        ),
        ((GOOD, ["a", "b"], GOOD, ["a", "b"]), {"metric": "dot"}, ERR_METRIC.format(metric="dot")),
        (
            (GOOD, ["a", "b"], GOOD, ["a", "b"]),
            {"batch_size": 0},
            ERR_BATCH_SIZE.format(batch_size=0),
        ),
        (
            (np.ones((3, 3)), ["a", "b", "c"], GOOD, ["a", "b"]),
            {"exclude_self": True},
            ERR_EXCLUDE_SELF.format(query=3, gallery=2),
        ),
    ],
)
def test_invalid_input_is_rejected_with_a_clear_message(arguments, options, message):
    with pytest.raises(ValueError) as raised:
        retrieval_metrics(*arguments, **options)

    assert str(raised.value) == message


def solid(rgb: tuple[int, int, int], size: int = 4) -> np.ndarray:
    return np.full((size, size, 3), rgb, dtype=np.uint8)


def test_colour_histogram_of_a_solid_red_image_is_one_bin():
    histogram = colour_histogram(solid((255, 0, 0)))

    expected = np.zeros(512, dtype=np.float32)
    expected[(7 * 8 + 0) * 8 + 0] = 1.0  # red in the top of 8 bins, green and blue in the bottom
    assert histogram.dtype == np.float32
    assert histogram.tolist() == expected.tolist()


def test_colour_histograms_of_different_solid_colours_are_orthogonal():
    histograms = colour_histograms(np.stack([solid((255, 0, 0)), solid((0, 0, 255))]), bins=4)

    assert histograms.shape == (2, 64)
    assert float(histograms[0] @ histograms[1]) == 0.0
    assert np.nonzero(histograms)[1].tolist() == [3 * 16, 3]


def test_colour_histogram_of_a_half_red_half_blue_image_splits_its_norm():
    image = np.concatenate([solid((200, 10, 10)), solid((10, 10, 200))])  # 8 x 4, half each

    histogram = colour_histogram(image, bins=2)

    # 200 falls in the upper of 2 bins, 10 in the lower: red is cell (1,0,0), index 4, and blue
    # is cell (0,0,1), index 1; equal pixel counts, so each gets 1/sqrt(2) after L2 normalising
    assert histogram.tolist() == pytest.approx([0, 2**-0.5, 0, 0, 2**-0.5, 0, 0, 0])
    assert colour_histograms(image[None], bins=2)[0].tolist() == histogram.tolist()


@pytest.mark.parametrize(
    "image", [np.zeros((4, 4, 3), dtype=np.float32), np.zeros((4, 4), dtype=np.uint8)]
)
def test_colour_histogram_rejects_non_rgb_uint8(image):
    with pytest.raises(ValueError, match="images must be uint8 of shape"):
        colour_histogram(image)


def test_l2_normalise_leaves_zero_vectors_at_zero():
    normalised = l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))

    assert normalised.dtype == np.float32
    assert normalised.tolist() == [[pytest.approx(0.6), pytest.approx(0.8)], [0.0, 0.0]]
