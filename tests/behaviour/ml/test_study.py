"""behaviour.ml.study: the bought-together variants, their blends and the test-period ceilings."""

import numpy as np
import pytest

from behaviour.ml import scorers, study
from behaviour.ml.cooccurrence import SECONDS_PER_DAY as DAY
from behaviour.ml.study import Lines, Variant


def lines_of(baskets: list[list[int]], days: list[float], customers: list[int] | None = None):
    """Lines of hand-written baskets: basket b on day days[b], bought by customers[b]."""
    keys = [b for b, items in enumerate(baskets) for _ in items]
    who = customers or list(range(len(baskets)))
    return Lines(
        baskets=np.array(keys),
        items=np.array([i for basket in baskets for i in basket]),
        times=np.array([days[b] * DAY for b in keys]),
        customers=np.array([who[b] for b in keys]),
    )


def as_dict(pairs: tuple) -> dict:
    rows, cols, scores = pairs
    return {
        (int(r), int(c)): round(float(s), 6) for r, c, s in zip(rows, cols, scores, strict=True)
    }


def test_blend_adds_the_side_signal_as_a_conditional_with_pseudo_counts():
    base = (np.array([0, 1]), np.array([1, 0]), np.array([2.0, 2.0]))
    side = (np.array([0, 0]), np.array([1, 2]), np.array([1.0, 3.0]))

    blended = study.blend(base, side, 4.0, n_items=3)

    # P(1 | 0) = 1/4 and P(2 | 0) = 3/4, times 4 pseudo-baskets; row 1 has no side signal.
    assert as_dict(blended) == {(0, 1): 3.0, (0, 2): 3.0, (1, 0): 2.0}


def test_title_neighbours_link_variants_of_one_product_line_and_nothing_else():
    titles = ["JUMBO BAG RED RETROSPOT", "JUMBO BAG PINK POLKADOT", "WHITE HANGING HEART"]

    rows, cols, sims = study.title_pairs(titles, k=2)

    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 1), (1, 0)]
    assert sims[0] == pytest.approx(sims[1]) and 0 < sims[0] < 1


def test_title_neighbours_of_titles_without_words_are_empty():
    rows, cols, sims = study.title_pairs(["--", "__"])

    assert len(rows) == len(cols) == len(sims) == 0


def test_a_product_never_bought_with_anything_gets_its_title_neighbours_first():
    history = lines_of([[0, 1], [0, 1], [1, 2]], days=[1, 2, 3])
    titles = study.title_pairs(["RED LUNCH BAG", "TEA SET", "GREEN CANDLE", "RED LUNCH BOX"], k=1)

    pairs = study.variant_pairs(Variant(titles=1.0), history, 4, now=4 * DAY, titles=titles)
    top, _ = scorers.top_k(*pairs, n_items=4, k=2)

    assert top[3].tolist() == [0, -1]  # product 3 was never sold: its title twin stands in
    assert top[0].tolist() == [1, 3]  # two co-purchases outrank one pseudo-basket of the twin


def test_the_customer_prior_counts_a_customers_orders_within_the_gap_as_one_visit():
    # Customer 7 buys 0 and, two days later, 2; customer 8 buys 0 and 2 a month apart.
    history = lines_of([[0, 1], [2], [0], [2]], days=[0, 2, 10, 40], customers=[7, 7, 8, 8])

    pairs = study.variant_pairs(Variant(customers=1.0), history, 3, now=41 * DAY)

    # Row 0: C(0,1) = 1 plus P(1|0) = P(2|0) = 1/2 from customer 7's visit; 8's are apart.
    assert as_dict(pairs) == {
        (0, 1): 1.5,
        (0, 2): 0.5,
        (1, 0): 1.5,
        (1, 2): 0.5,
        (2, 0): 0.5,
        (2, 1): 0.5,
    }


def test_availability_weighs_partners_by_recent_sales_against_their_long_run_share():
    # Item 0: ten sales long ago; item 1: two sales in the last 30 days.
    history = lines_of([[0]] * 10 + [[1], [1]], days=[*range(10), 95, 96])

    factor = study.availability(history, 2, now=100 * DAY, half_life=None, power=1.0)

    # expected in the window: 10/12 and 2/12 of the 2 recent sales; a = 3 pseudo-baskets.
    assert factor.tolist() == pytest.approx([3 / (20 / 12 + 3), 5 / (4 / 12 + 3)])


def test_hit_rate_of_counts_and_of_popularity_on_held_out_baskets():
    learn = lines_of([[0, 1], [0, 1], [2, 3], [2], [2]], days=[1, 2, 3, 4, 5])
    test = lines_of([[0, 1], [3, 2]], days=[10, 11])
    cold = np.zeros(4, dtype=bool)

    counts = study.variant_pairs(Variant(), learn, 4, now=6 * DAY)
    by_counts = study.hit_rate(counts, learn, test, 4, 6 * DAY, k=1, cold=cold)
    nothing = study.variant_pairs(Variant(popularity_only=True), learn, 4, now=6 * DAY)
    by_popularity = study.hit_rate(nothing, learn, test, 4, 6 * DAY, k=1, cold=cold)

    assert (by_counts.hits, by_counts.pairs) == (4, 4)
    # Popularity: 2 (3 baskets) first, then 0; 0 -> 2 and 1 -> 2 miss, 2 -> 0 misses, 3 -> 2 hits.
    assert (by_popularity.hits, by_popularity.pairs) == (1, 4)


def test_ceilings_are_the_test_periods_own_counts_overall_and_among_seen_pairs():
    learn = lines_of([[0, 1]], days=[1])
    test = lines_of([[0, 1], [2, 3]], days=[10, 11])

    found = study.ceilings(learn, test, 4, k=1)

    assert (found["all"].hits, found["all"].pairs) == (4, 4)
    assert (found["seen"].hits, found["seen"].pairs) == (2, 4)  # 2-3 was never seen before


def test_sold_only_title_neighbours_leave_out_products_not_sold_before():
    history = lines_of([[0, 1]], days=[1])
    titles = study.title_pairs(["RED LUNCH BAG", "TEA SET", "RED LUNCH BOX"], k=1)

    everything = study.variant_pairs(Variant(titles=1.0), history, 3, 2 * DAY, titles)
    sold_only = Variant(titles=1.0, titles_sold_only=True)
    known = study.variant_pairs(sold_only, history, 3, 2 * DAY, titles)

    assert as_dict(everything) == {(0, 1): 1.0, (0, 2): 1.0, (1, 0): 1.0, (2, 0): 1.0}
    assert as_dict(known) == {(0, 1): 1.0, (1, 0): 1.0, (2, 0): 1.0}  # 2 was never sold
