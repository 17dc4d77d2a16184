"""The bought-together method study: score variants measured side by side on one time split.

Plain NumPy (title neighbours: `titles`, scikit-learn). Each variant turns the learning period's
lines into scored pairs; `hit_rate` ranks them into top-k lists filled by popularity, as the
refresh and the selector do, and measures them on the test lines (`evaluation.hit_rate_at_k`).
The variants are the candidates the issue names: recency (half-lives), a prior from the same
customer's other orders, a prior from title neighbours (a shop sells variants of one line
together), and a partner's recent availability. `ceilings` bounds every item-to-item list:
the test period's own counts are the best any single list per product can do on HR@k.
"""

from dataclasses import dataclass

import numpy as np

from . import popularity, scorers
from .cooccurrence import SECONDS_PER_DAY, fit, sessions
from .evaluation import HitRate, hit_rate_at_k
from .titles import title_pairs

__all__ = ["Lines", "Variant", "blend", "ceilings", "hit_rate", "title_pairs", "variant_pairs"]

CUSTOMER_GAP_DAYS = 7.0  # a customer's orders this close form one "visit" of related buying
AVAILABILITY_WINDOW_DAYS = 30.0
AVAILABILITY_PRIOR = 3.0  # pseudo-baskets: a partner sold twice lately is not judged on 2 alone


@dataclass(frozen=True)
class Lines:
    """(L,) parallel arrays of order lines: basket key, item index, Unix seconds, customer key."""

    baskets: np.ndarray
    items: np.ndarray
    times: np.ndarray
    customers: np.ndarray

    def part(self, mask: np.ndarray) -> "Lines":
        return Lines(self.baskets[mask], self.items[mask], self.times[mask], self.customers[mask])


@dataclass(frozen=True)
class Variant:
    """One scoring recipe: decayed co-purchase counts plus optional side signals.

    half_life: days (None: no decay); customers, titles: pseudo-baskets m of a prior blended in
    as C_ij + m * P(j | i) (P from the same customer's orders within CUSTOMER_GAP_DAYS, or from
    title similarity); availability: power g of ((recent + a) / (expected + a)) ** g per partner.
    titles_sold_only: title neighbours only among items sold in the learning period (tells
    whether the title prior helps by new lines sold together or by known products).
    popularity_only: no pairs at all, the fill alone (the protocol's popularity baseline).
    """

    half_life: float | None = None
    customers: float = 0.0
    titles: float = 0.0
    titles_sold_only: bool = False
    availability: float = 0.0
    popularity_only: bool = False


def conditional(rows, cols, values, n_items: int) -> np.ndarray:
    """values (nnz,) divided by their row's sum: P(col | row) of a side signal."""
    sums = np.bincount(rows, weights=values, minlength=n_items)
    return values / np.where(sums[rows] > 0, sums[rows], 1.0)


def blend(base: tuple, side: tuple, weight: float, n_items: int) -> tuple:
    """(rows, cols, scores) over the union of pairs: base_ij + weight * P_side(j | i).

    base, side: (rows, cols, values) of non-negative pair signals (base: the decayed counts
    C_ij). A pseudo-count prior: a product with many co-purchases keeps its own ranking, a
    rarely bought one leans on the side signal."""
    n = np.int64(n_items)
    keys = np.concatenate([base[0] * n + base[1], side[0] * n + side[1]])
    scores = np.concatenate([base[2], weight * conditional(*side, n_items)])
    unique, inverse = np.unique(keys, return_inverse=True)
    summed = np.bincount(inverse, weights=scores, minlength=len(unique))
    return unique // n, unique % n, summed


def availability(lines: Lines, n_items: int, now: float, half_life, power: float) -> np.ndarray:
    """(n_items,) factor ((recent + a) / (expected + a)) ** power: how a partner sold in the
    last AVAILABILITY_WINDOW_DAYS against its decayed long-run share (a discontinued or
    out-of-season product drops, a product in season rises)."""
    recent_lines = lines.part(lines.times >= now - AVAILABILITY_WINDOW_DAYS * SECONDS_PER_DAY)
    recent = popularity.popularity(
        recent_lines.baskets, recent_lines.items, recent_lines.times, n_items, now
    )
    long_run = popularity.popularity(
        lines.baskets, lines.items, lines.times, n_items, now, half_life
    )
    expected = long_run / max(long_run.sum(), 1e-12) * recent.sum()
    return ((recent + AVAILABILITY_PRIOR) / (expected + AVAILABILITY_PRIOR)) ** power


def variant_pairs(variant: Variant, lines: Lines, n_items: int, now: float, titles=None) -> tuple:
    """(rows, cols, scores) of the variant learned from `lines` up to `now`."""
    if variant.popularity_only:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    co = fit(lines.baskets, lines.items, lines.times, n_items, now, variant.half_life)
    pairs = co.rows, co.cols, co.counts
    if variant.customers:
        keys = sessions(lines.customers, lines.times, CUSTOMER_GAP_DAYS * SECONDS_PER_DAY)
        visits = fit(keys, lines.items, lines.times, n_items, now, variant.half_life)
        side = visits.rows, visits.cols, visits.counts
        pairs = blend(pairs, side, variant.customers, n_items)
    if variant.titles and titles is not None:
        if variant.titles_sold_only:
            sold = np.bincount(lines.items, minlength=n_items) > 0
            titles = tuple(column[sold[titles[1]]] for column in titles)
        pairs = blend(pairs, titles, variant.titles, n_items)
    rows, cols, scores = pairs
    if variant.availability:
        factor = availability(lines, n_items, now, variant.half_life, variant.availability)
        scores = scores * factor[cols]
    return rows, cols, scores


def hit_rate(pairs: tuple, learn: Lines, test: Lines, n_items: int, now: float, k: int, cold):
    """HR@k of the pairs' top-k lists, filled by undecayed popularity, on the test baskets."""
    counts = popularity.popularity(learn.baskets, learn.items, learn.times, n_items, now)
    ranked = popularity.ranking(counts)[: int((counts > 0).sum())]
    rows, cols, scores = pairs
    top, _ = scorers.top_k(rows, cols, scores, n_items, k, tie_break=counts)
    return hit_rate_at_k(test.baskets, test.items, popularity.fill(top, ranked), k, cold=cold)


def ceilings(learn: Lines, test: Lines, n_items: int, k: int) -> dict[str, HitRate]:
    """HR@k of the test period's own counts: over every pair, and over the pairs co-purchased
    in the learning period (the most any ranking of what was seen can reach)."""
    end = float(test.times.max()) if len(test.times) else 0.0
    own = fit(test.baskets, test.items, test.times, n_items, end)
    seen = fit(learn.baskets, learn.items, learn.times, n_items, end)
    seen_keys = seen.rows * np.int64(n_items) + seen.cols
    among = np.isin(own.rows * np.int64(n_items) + own.cols, seen_keys)
    found = {}
    for name, mask in (("all", np.ones(len(own.rows), dtype=bool)), ("seen", among)):
        top, _ = scorers.top_k(own.rows[mask], own.cols[mask], own.counts[mask], n_items, k)
        found[name] = hit_rate_at_k(test.baskets, test.items, top, k)
    return found
