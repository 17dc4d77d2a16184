"""Recommended for one visitor: the hybrid of their sequence, partners, content, repeats and peers,
with the similar-items contract (filters, merchandising rules, guaranteed k, a tier per item).

Tiers, best first: pinned; personal (the fused signals, explained); trending within the filters;
the newest products. A visitor without events gets trending in its own tier, which says so.
"""

from django.conf import settings

from catalog import selectors as catalog_selectors
from core.parallel_reads import reads_started
from similarity.selectors import SimilarQuery, merchandising
from similarity.selectors.serving import serving_state
from similarity.selectors.similar import product_filter_for

from ...models import SequenceModelVersion
from ...visitors import visitor_hash
from ..lists import BehaviourResult, pinned_item, ranked_items
from ..tiers import TIER_CATEGORY, TIER_TRENDING, Candidate, newest, trending_candidates
from . import signals as signal_sources
from .content import content_signal
from .fusion import DEFAULT_WEIGHTS, TIER_PERSONAL, fuse
from .history import VisitorHistory, bought_ever, visitor_history
from .peers import peers_signal
from .sequence import sequence_signal, serving_model
from .why import explained

TIER_NO_HISTORY = "trending_no_history"
WHY_NO_HISTORY = "Trending: no history of yours yet"
TIER_ORDER = [
    merchandising.TIER_PINNED,
    TIER_PERSONAL,
    TIER_TRENDING,
    TIER_NO_HISTORY,
    TIER_CATEGORY,
]
CANDIDATES_PER_SLOT = 4  # candidates each signal brings per wanted item, before fusion


def recommended_for_visitor(*, visitor_id: str, query: SimilarQuery, **variant) -> BehaviourResult:
    """For a raw visitor id (hashed here; InvalidVisitorId when it is not a valid one)."""
    return recommended_for(visitor=visitor_hash(visitor_id), query=query, **variant)


def recommended_for(*, visitor: str, query: SimilarQuery, **variant) -> BehaviourResult:
    """For a visitor hash: their newest events, read now."""
    history = visitor_history(visitor=visitor)
    return recommended_for_history(history=history, query=query, **variant)


def recommended_for_history(
    *,
    history: VisitorHistory,
    query: SimilarQuery,
    sequence_version: SequenceModelVersion | None = None,
    repeats: bool | None = None,
) -> BehaviourResult:
    """`sequence_version`: serve with this version instead of the active one; `repeats`: allow
    or forbid what the visitor bought (default PRODSIM_RECOMMEND_REPEATS). An A/B test's
    candidate arm sets them."""
    state = serving_state()
    rules = merchandising.rules_in_force(product_id=0, category_path="", state=state)
    repeat = settings.PRODSIM_RECOMMEND_REPEATS if repeats is None else repeats
    seen = {pid for pid in history.weights if not (repeat and pid in history.bought)}
    if not repeat:  # also what they bought before the newest events (trending would bring it)
        seen |= bought_ever(history)
    product_filter = product_filter_for(None, query, [*seen, *merchandising.blocked_ids(rules)])
    model = None
    if history.is_empty:
        found = [
            Candidate(c.product_id, c.score, TIER_NO_HISTORY, WHY_NO_HISTORY, c.evidence)
            for c in trending_candidates(product_filter, query.k, taken=set())
        ]
    else:
        model = serving_model(version=sequence_version)
        found = _personal(history, model, state.version, product_filter, query.k, seen, repeat)
        if len(found) < query.k:
            found += trending_candidates(product_filter, query.k - len(found), _taken(found))
    if len(found) < query.k:
        found += newest(product_filter, query.k - len(found), _taken(found))
    # One query for the listed products and the history products their reasons name.
    named = {pid for c in found for pid in c.evidence.get("because", {}).values()}
    products = catalog_selectors.products_by_ids(
        ids=sorted(_taken(found) | named), with_images=query.with_images
    )
    items = merchandising.apply_pins(
        ranked_items(
            explained(found, history, products), products, rules, k=query.k, tier_order=TIER_ORDER
        ),
        rules,
        allowed=lambda: catalog_selectors.products_matching(product_filter=product_filter),
        k=query.k,
        make_item=pinned_item,
    )
    personal = model is not None and any(item.tier == TIER_PERSONAL for item in items)
    return BehaviourResult(
        items, k_requested=query.k, model_version=model.version_id if personal else None
    )


def _personal(
    history, model, version, product_filter, k, seen: set[int], repeat: bool
) -> list[Candidate]:
    """`version`: the image model version of the serving state this answer read (the pool
    threads do not read it again)."""
    n = k * CANDIDATES_PER_SLOT
    # Three searches that wait on PostgreSQL, asked at once; peers (NumPy) meanwhile.
    searches = reads_started(
        {
            "sequence": lambda: sequence_signal(history, model, exclude=seen, n=n),
            "cooccurrence": lambda: signal_sources.cooccurrence(history, exclude=seen).best(n),
            "content": lambda: content_signal(
                history, version=version, product_filter=product_filter, n=n
            ),
        }
    )
    # Peers rank the visitor's own products too, so they see the bought ones when repeats count.
    peers = peers_signal(history, model, exclude=seen, n=n)
    # Meanwhile too: the repeats' one small read (what still sells), on this thread's connection.
    repeats = signal_sources.repeats(history) if repeat else None
    found = {name: search.result() for name, search in searches.items()}
    if repeats is not None:
        found["repeat"] = repeats
    found["peers"] = peers
    ids = {pid for signal in found.values() for pid in signal.scores}
    allowed = catalog_selectors.product_ids_allowed(ids=ids, product_filter=product_filter)
    weights = (model.weights if model is not None else None) or DEFAULT_WEIGHTS
    return fuse(found, weights, allowed, k)


def _taken(found: list[Candidate]) -> set[int]:
    return {c.product_id for c in found}
