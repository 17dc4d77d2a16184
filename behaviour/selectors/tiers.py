"""The candidate tiers of behaviour lists, each a list of Candidate in its own best-first order."""

from dataclasses import dataclass, field

from django.conf import settings

from catalog import selectors as catalog_selectors
from catalog.selectors import ProductFilter

from ..models import ItemAssociation
from ..services.association_writes import PARTNERS_PER_PRODUCT
from .allowed import RankedRow, candidates_allowed, ranked_allowed

TIER_BOUGHT_TOGETHER = "bought_together"
TIER_ALSO_VIEWED = "also_viewed"
TIER_COMPLEMENTS = "complements_of_similar"
TIER_TRENDING = "trending"
TIER_CATEGORY = "category_newest"
TIER_PINNED = "pinned"
TIER_ORDER = [
    TIER_PINNED,
    TIER_BOUGHT_TOGETHER,
    TIER_ALSO_VIEWED,
    TIER_COMPLEMENTS,
    TIER_TRENDING,
    TIER_CATEGORY,
]
# Trending rows read per wanted item before the filters: checked by primary key on this short
# list, not by joining the trending table to the catalogue. Measured on a synthetic 100,000
# products (82,000 trending, 2 shared cores): the short list costs ~10 ms, filtered or not;
# ranking within a filter 1-3 ms for a brand or a leaf category (their indexes) but 36-76 ms for
# a broad one (a price range, in stock: a hash join of both tables), so it runs only when the
# short list falls short.
CANDIDATES_PER_SLOT = 4

WHY = {
    ItemAssociation.Kind.BOUGHT_TOGETHER: (
        "Bought together in {count} orders in the last {days} days"
    ),
    ItemAssociation.Kind.ALSO_VIEWED: "Viewed together in {count} visits in the last {days} days",
}
# Pairs with no order (or visit) in the "why" window: no count to back an "often", and the
# pair may rest on a single order months ago.
WHY_OLDER = {
    ItemAssociation.Kind.BOUGHT_TOGETHER: "Bought together before",
    ItemAssociation.Kind.ALSO_VIEWED: "Viewed together before",
}
# Fewer orders or visits than this are not counted aloud on a public page: "in 1 order" told
# every visitor what one shopper's basket held.
MIN_COUNT_SHOWN = 3
WHY_FEW = {
    ItemAssociation.Kind.BOUGHT_TOGETHER: "Bought together in the last {days} days",
    ItemAssociation.Kind.ALSO_VIEWED: "Viewed together in the last {days} days",
}
WHY_COMPLEMENTS = "Goes with products like this one"
WHY_NEIGHBOURS = "Similar to this product"  # bought together of a new product: its neighbours
WHY_TRENDING = "Trending: {count} bought lately"
WHY_TRENDING_VIEWS = "Trending"
WHY_NEWEST = "New in this category"
WHY_NEWEST_ANYWHERE = "New in the shop"  # no category asked for (trending, "any")


@dataclass(frozen=True)
class Candidate:
    product_id: int
    score: float
    tier: str
    why: str
    evidence: dict = field(default_factory=dict)


# A product's partners (or its neighbours' partners) best first, as allowed.candidates_allowed
# reads them: all of them (at most PARTNERS_PER_PRODUCT a product, the LIMIT), so a partner the
# filters allow is never cut off by better ones they refuse. Not `other_id <> ALL` alone:
# NULL-safe for an empty `taken`.
PARTNERS_SQL = (
    "SELECT other_id AS id, product_id AS source, score, recent AS count "
    "FROM behaviour_itemassociation WHERE kind = %s AND product_id = ANY(%s) "
    "AND NOT (other_id = ANY(%s)) ORDER BY score DESC, other_id LIMIT {limit}"
)
POPULAR_SQL = (
    "SELECT product_id AS id, product_id AS source, score, purchases AS count "
    "FROM behaviour_productpopularity WHERE NOT (product_id = ANY(%s)) "
    "ORDER BY score DESC, product_id LIMIT {limit}"
)
# The same ranking within the filters (allowed.ranked_allowed): a filter's popular products may
# all rank below the shop's top rows.
POPULAR_WITHIN_SQL = (
    "SELECT product_id AS id, product_id AS source, score, purchases AS count "
    "FROM behaviour_productpopularity WHERE NOT (product_id = ANY(%s)) "
    "AND product_id IN ({{allowed}}) ORDER BY score DESC, product_id LIMIT {limit}"
)


def associated(
    kind: str,
    sources: dict[int, float],
    product_filter: ProductFilter,
    k: int,
    *,
    taken: set[int],
) -> list[Candidate]:
    """The product's best partners (`sources`: its id → 1.0) within the filters."""
    if k <= 0:
        return []
    rows, allowed = _partners(kind, sources, [*sources, *taken], product_filter, k)
    scores: dict[int, float] = {}
    recent: dict[int, int] = {}
    for row in rows:
        scores[row.id] = scores.get(row.id, 0.0) + sources[row.source] * row.score
        recent[row.id] = max(recent.get(row.id, 0), row.count)
    ranked = sorted(allowed & scores.keys(), key=lambda pid: (-scores[pid], pid))[:k]
    tier = (
        TIER_BOUGHT_TOGETHER if kind == ItemAssociation.Kind.BOUGHT_TOGETHER else TIER_ALSO_VIEWED
    )
    return [
        Candidate(pid, scores[pid], tier, _why(kind, recent[pid]), {"recent": recent[pid]})
        for pid in ranked
    ]


def complements(
    kind: str,
    neighbours: dict[int, float],
    product_filter: ProductFilter,
    k: int,
    *,
    taken: set[int],
) -> list[Candidate]:
    """For a product without partners of its own: its nearest content neighbours (`neighbours`:
    id → similarity in [0, 1]) and their partners. Each neighbour's list is scaled to its best
    partner, so one much-bought neighbour cannot drown the others, and weighted by closeness.

    Bought together lists the neighbours alone, by closeness (their score), and leaves
    the rest of k to trending: a product without co-purchases is mostly new, and a shop launches
    a line's pieces together, so they sell with each other rather than with what older
    look-alikes sold with. Measured on a real shop's new products (bench/behaviour_quality.py
    with --served-validation): neighbours then trending beat neighbours then their partners on
    the validation split and tied on the test months. Also viewed (no dev set) keeps one summed
    ranking, a neighbour scoring its own closeness too."""
    if k <= 0 or not neighbours:
        return []
    own = {pid: sim for pid, sim in neighbours.items() if pid not in taken}
    partners_wanted = 0 if kind == ItemAssociation.Kind.BOUGHT_TOGETHER else k
    rows, allowed = _partners(
        kind, neighbours, list(taken), product_filter, partners_wanted, also_check=list(own)
    )
    best: dict[int, float] = {}
    for row in rows:
        best[row.source] = max(best.get(row.source, 0.0), row.score)
    summed = dict(own)
    for row in rows:
        share = neighbours[row.source] * row.score / best[row.source]
        summed[row.id] = summed.get(row.id, 0.0) + share
    scores, why = summed, WHY_COMPLEMENTS
    if kind == ItemAssociation.Kind.BOUGHT_TOGETHER:  # no partners were read: the neighbours
        scores, why = own, WHY_NEIGHBOURS
    ranked = sorted(allowed & scores.keys(), key=lambda pid: (-scores[pid], pid))[:k]
    evidence = {"kind": kind}
    return [Candidate(pid, scores[pid], TIER_COMPLEMENTS, why, evidence) for pid in ranked]


def trending_candidates(product_filter: ProductFilter, k: int, taken: set[int]) -> list[Candidate]:
    """The most popular products (time-decayed) that the filters allow."""
    if k <= 0:
        return []
    return [
        Candidate(
            row.id,
            row.score,
            TIER_TRENDING,
            WHY_TRENDING.format(count=row.count) if row.count else WHY_TRENDING_VIEWS,
            {"purchases": row.count},
        )
        for row in _popular(product_filter, k, skipped=[*taken, *product_filter.exclude_ids])
    ]


def _popular(product_filter: ProductFilter, k: int, *, skipped: list[int]) -> list[RankedRow]:
    """The k most popular allowed products, best first; excluded ids are skipped before the
    LIMIT. The shop's top rows, checked by primary key, hold them for most requests (no filter,
    or a broad one); when they hold fewer than k, the ranking is taken within the filter."""
    limit = int(k * CANDIDATES_PER_SLOT)
    rows, allowed = candidates_allowed(POPULAR_SQL.format(limit=limit), [skipped], product_filter)
    kept = [row for row in rows if row.id in allowed]
    if len(kept) >= k or len(rows) < limit:  # enough, or every popular product was read
        return kept[:k]
    return ranked_allowed(POPULAR_WITHIN_SQL.format(limit=int(k)), [skipped], product_filter)


def _partners(kind, sources, excluded, product_filter, k, *, also_check=()):
    """Every stored partner row of `sources` (none when k is 0) other than `excluded`, and which
    of their products (and of `also_check`) the filters allow."""
    limit = PARTNERS_PER_PRODUCT * len(sources) if k > 0 else 0
    return candidates_allowed(
        PARTNERS_SQL.format(limit=limit),
        [kind, list(sources), list(excluded)],
        product_filter,
        also_check=also_check,
    )


def newest(product_filter: ProductFilter, k: int, taken: set[int]) -> list[Candidate]:
    """Last tier: the newest products the filters allow (the category's, when "same")."""
    if k <= 0:
        return []
    ids = catalog_selectors.products_newest(product_filter=product_filter, limit=k + len(taken))
    why = WHY_NEWEST if product_filter.category_paths else WHY_NEWEST_ANYWHERE
    return [Candidate(pid, 0.0, TIER_CATEGORY, why) for pid in ids if pid not in taken][:k]


def _why(kind: str, count: int) -> str:
    if count <= 0:
        return WHY_OLDER[kind]
    days = settings.PRODSIM_BEHAVIOUR_WHY_DAYS
    if count < MIN_COUNT_SHOWN:
        return WHY_FEW[kind].format(days=days)
    return WHY[kind].format(count=count, days=days)
