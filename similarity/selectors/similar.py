"""similar_products: the one query behind product pages, recommendations and the API.

1. Candidates: the image HNSW index and the lexical index, each restricted to the products the
   filters allow. pgvector applies filters after the index scan, so iterative index scans keep
   reading until enough rows pass; when the allowed set is small (≤ EXACT_SCAN_MAX products) an
   exact scan over it is cheaper and is used instead; and whenever the index path returns fewer
   rows than exist, the exact scan runs. At least k products matching ⇒ exactly k come back.
2. Re-ranking by the fused score (fusion.py), optional MMR diversity, near-duplicate collapse.
3. Fallback tiers fill what the vectors cannot: text-only candidates, then the newest products
   of the source's category. Every item says which tier produced it.
"""

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from catalog import selectors as catalog_selectors
from catalog.models import Product
from catalog.selectors import ProductFacts, ProductFilter, RankingFacts

from .. import fusion, vector_store
from ..models import ModelVersion
from ..scores import cosine_to_unit
from . import merchandising
from .diversity import diversified, diversity_vectors
from .serving import serving_state

# Below this many allowed products the exact scan is faster than the HNSW walk plus filtering:
# a walk reads about k / selectivity rows, the exact scan one distance per allowed product.
# Measured side by side on 100k uniform 256-d vectors, k = 50, with the semi-join filter and the
# fenced exact form (vector_store): exact wins at 3 % allowed, the walk from 6 % on (a loaded
# 2-core machine; bench/similar_latency.py writes the crossover to BENCHMARKS.md).
EXACT_SCAN_MAX = 5_000
TIER_IMAGE, TIER_TEXT, TIER_CATEGORY = "image", "text", "category_newest"
# The items no similarity chose say so: their breakdown is empty, and "0% match" is no reason.
TIER_WHY = {
    merchandising.TIER_PINNED: merchandising.PINNED_WHY,
    TIER_CATEGORY: "More in this category",
}


@dataclass(frozen=True)
class SimilarQuery:
    """What the caller asks for; the filters mirror the API's query parameters."""

    k: int = 8
    category: str = "any"  # "any", "same" (the source's category subtree) or a path
    categories: tuple[str, ...] = ()  # several category paths (with subtrees)
    brands: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    price_band: float | None = None  # relative: 0.5 → between price/1.5 and price×1.5
    in_stock_only: bool = False
    include_variants: bool = False  # default: never show the same product in another colour
    exclude_ids: tuple[int, ...] = ()
    diversity: float | None = None  # MMR λ in [0, 1]; 1 = pure relevance
    weights: fusion.Weights | None = None  # override (evaluation, tuning)
    with_images: bool = True  # prefetch each item's primary image (cards); the API needs none


@dataclass(frozen=True)
class SimilarItem:
    product: Product
    score: float  # fused, in [0, 1]
    breakdown: fusion.Breakdown
    tier: str = TIER_IMAGE

    @property
    def image_similarity(self) -> float | None:
        return self.breakdown.scores["image"]

    @property
    def why(self) -> str:
        """The hint of an item no similarity chose; "" where its breakdown says why."""
        return TIER_WHY.get(self.tier, "")


@dataclass
class SimilarResult:
    items: list[SimilarItem] = field(default_factory=list)
    k_requested: int = 0
    model_version: int | None = None

    @property
    def k_returned(self) -> int:
        return len(self.items)


def _facts(item: ProductFacts | RankingFacts) -> fusion.Facts:
    return fusion.Facts(item.brand, item.category_path, item.tags, item.attributes, item.price)


def product_filter_for(
    source: ProductFacts | None,
    query: SimilarQuery,
    exclude: Sequence[int] = (),
    exclude_group_id: str = "",
) -> ProductFilter:
    """The query's filters; without a source product (a photo) "same" category and the relative
    price band have nothing to refer to and are left out. A source without a category keeps
    "same" to products without one, and one priced 0 keeps its band to 0: dropped, the list
    held every category and any price."""
    paths = list(query.categories)
    if query.category == "same" and source is not None and source.category_path:
        paths.append(source.category_path)
    elif query.category not in ("any", "same"):
        paths.append(query.category)
    uncategorised = query.category == "same" and source is not None and not source.category_path
    low, high = query.price_min, query.price_max
    if query.price_band is not None and source is not None:
        band_low, band_high = (
            source.price / (1 + query.price_band),
            source.price * (1 + query.price_band),
        )
        low = band_low if low is None else max(low, band_low)
        high = band_high if high is None else min(high, band_high)
    return ProductFilter(
        tuple(paths),
        query.brands,
        low,
        high,
        query.in_stock_only or settings.PRODSIM_EXCLUDE_OUT_OF_STOCK,
        tuple(exclude) + tuple(query.exclude_ids),
        exclude_group_id,
        uncategorised,
    )


def similar_products_for(
    *, product: Product, query: SimilarQuery, version: ModelVersion | None = None
) -> SimilarResult:
    """The answer for one source product (see the module docstring).

    `version` serves another ready version than the active one (an A/B arm, an admin preview).
    """
    state = serving_state()
    version, index = version or state.version, state.lexical_index
    result = SimilarResult(k_requested=query.k, model_version=version.pk if version else None)
    if not product.is_active:
        return result
    source = catalog_selectors.product_facts_of(product)
    rules = merchandising.rules_in_force(
        state=state, product_id=product.pk, category_path=source.category_path
    )
    exclude = [product.pk, *merchandising.blocked_ids(rules)]
    variants = "" if query.include_variants else source.group_id
    product_filter = product_filter_for(source, query, exclude, variants)
    allowed = _allowed(product_filter)
    available = _available(allowed, product_filter)
    candidates = _candidates(
        version,
        index,
        vector_store.StoredVectors(product.pk),
        allowed,
        available,
        query.k,
        product_filter,
    )
    weights = query.weights or state.weights_for(source.category_path)
    ranked = _rank(source, candidates, version, weights, rules, query)
    if len(ranked) < query.k:
        ranked += _category_fill(source, product_filter, ranked, query.k - len(ranked))
    result.items = merchandising.apply_pins(
        ranked[: query.k], rules, allowed=allowed, k=query.k, make_item=_pinned_item
    )
    if query.with_images:
        catalog_selectors.primary_images_attach([item.product for item in result.items])
    return result


def _pinned_item(product_id: int) -> SimilarItem | None:
    products = catalog_selectors.products_by_ids(ids=[product_id], with_images=False)
    if product_id not in products:
        return None
    empty = fusion.Breakdown(fused=0.0, scores={name: None for name in fusion.SIGNALS}, weights={})
    return SimilarItem(products[product_id], 0.0, empty, merchandising.TIER_PINNED)


def _allowed(product_filter: ProductFilter) -> Callable[[], QuerySet]:
    """The products the filters allow, built on first use: without a narrowing filter or pins
    nothing needs the queryset, whose building alone cost ~0.2 ms of a ~10 ms request."""
    return functools.cache(
        functools.partial(catalog_selectors.products_matching, product_filter=product_filter)
    )


def _available(allowed, product_filter: ProductFilter) -> int | None:
    """How many products a narrowing filter allows, counted only up to EXACT_SCAN_MAX + 1: past
    that the answer changes nothing, and a broad filter's full count cost ~20 ms at 100k."""
    if not product_filter.is_narrowing:
        return None
    return allowed().order_by()[: EXACT_SCAN_MAX + 1].count()


def similar_products(
    *,
    product: Product,
    k: int = 8,
    exclude_variant_group: bool = True,
    weights: fusion.Weights | None = None,
    version: ModelVersion | None = None,
) -> list[SimilarItem]:
    """Shorthand for pages: the k most similar products with default filters."""
    query = SimilarQuery(k=k, include_variants=not exclude_variant_group, weights=weights)
    return similar_products_for(product=product, query=query, version=version).items


def _candidates(version, index, source, allowed, available, k, product_filter: ProductFilter):
    """Image and text candidates of `source` (vector_store.StoredVectors or QueryVectors) with
    their signals and facts; at least k image candidates when at least k products are allowed.

    Without a narrowing filter the indexes are queried with just the excluded ids: shipping the
    id list of a whole catalogue to every query cost ~200 ms at 100k products (measured in
    bench/similar_latency.py). Inactive products they return are dropped when ranking; when
    that would leave fewer than k image candidates, the walk is rerun among active ones.
    """
    per_source = max(settings.PRODSIM_FUSION_CANDIDATES, k)
    exact = available is not None and available <= EXACT_SCAN_MAX
    narrowing = allowed() if available is not None else None

    def search(*, image_exact: bool, allowed_ids) -> list[vector_store.RankingCandidate]:
        return vector_store.ranking_candidates(
            version=version,
            index=index,
            source=source,
            k=per_source,
            allowed=allowed_ids,
            # Without the allowed subquery the exclusions are spelled out.
            exclude_product_ids=product_filter.exclude_ids if allowed_ids is None else (),
            exclude_group_id=product_filter.exclude_group_id if allowed_ids is None else "",
            image_exact=image_exact,
            text_exact=exact,
        )

    found = search(image_exact=exact, allowed_ids=narrowing)
    if version is None or not found.source_has_image or exact:
        return found.items
    wanted = per_source if available is None else min(per_source, available)
    walked, served = _image_counts(found.items)
    if walked >= wanted and served < min(k, wanted):
        # Withdrawn products keep their vectors. A walk among active ones (~5.5 against ~3.8 ms
        # at 100k) beats the exact scan (~50 ms); only below k, or most requests would pay it.
        found = search(image_exact=False, allowed_ids=allowed())
        walked, served = _image_counts(found.items)
    if walked < wanted or served < min(k, wanted):
        found = search(image_exact=True, allowed_ids=allowed())  # the index walk gave up early
    return found.items


def _image_counts(candidates) -> tuple[int, int]:
    """The image candidates a walk returned, and how many of them can be served (active)."""
    image = [candidate for candidate in candidates if candidate.tier == TIER_IMAGE]
    return len(image), sum(candidate.facts is not None for candidate in image)


def _rank(source: ProductFacts, candidates, version, weights, rules, query) -> list[SimilarItem]:
    facts = {c.product_id: c.facts for c in candidates if c.facts is not None}
    source_facts = _facts(source)
    scored = sorted(
        (
            (
                c.product_id,
                replace(
                    fusion.fuse(
                        source=source_facts,
                        candidate=_facts(c.facts),
                        weights=weights,
                        image=c.signals.image,
                        text=c.signals.text,
                        text_learned=c.signals.text_learned,
                    ),
                    merchandising=merchandising.score_factor(
                        rules, brand=c.facts.brand, tags=c.facts.tags
                    ),
                ),
            )
            for c in candidates
            if c.facts is not None
        ),
        key=lambda pair: (-pair[1].ranked, pair[0]),
    )
    vectors = diversity_vectors(version, list(facts), facts, diversity=query.diversity)
    chosen = diversified(scored, vectors, facts, k=query.k, diversity=query.diversity)
    products = catalog_selectors.products_by_ids(ids=[pid for pid, _ in chosen], with_images=False)
    tiers = {c.product_id: c.tier for c in candidates}
    return [
        SimilarItem(products[pid], breakdown.fused, breakdown, tiers[pid])
        for pid, breakdown in chosen
        if pid in products
    ]


def _category_fill(source, product_filter: ProductFilter, ranked, count) -> list[SimilarItem]:
    """Last tier: the newest products of the source's category (within the filters)."""
    taken = tuple(item.product.pk for item in ranked)
    narrowed = replace(
        product_filter,
        category_paths=product_filter.category_paths
        or ((source.category_path,) if source.category_path else ()),
        exclude_ids=product_filter.exclude_ids + taken,
    )
    ids = catalog_selectors.products_newest(product_filter=narrowed, limit=count)
    products = catalog_selectors.products_by_ids(ids=ids, with_images=False)
    empty = fusion.Breakdown(fused=0.0, scores={name: None for name in fusion.SIGNALS}, weights={})
    return [SimilarItem(products[pid], 0.0, empty, TIER_CATEGORY) for pid in ids if pid in products]


def similar_to_vector(
    *, vector: np.ndarray, query: SimilarQuery, version: ModelVersion | None
) -> SimilarResult:
    """Products nearest to an image vector of `version` (visual search; the serving_version
    the caller embedded with, read once: a second read may see an activation between): the
    image signal alone ranks. A photo has no product or category to scope rules by: the
    shop-wide blocks apply."""
    state = serving_state()
    result = SimilarResult(k_requested=query.k, model_version=version.pk if version else None)
    if version is None:
        return result
    blocked = merchandising.shop_wide_blocked_ids(state=state)
    product_filter = product_filter_for(None, query, blocked)
    allowed = _allowed(product_filter)
    available = _available(allowed, product_filter)
    source = vector_store.QueryVectors(image=vector)
    candidates = _candidates(version, None, source, allowed, available, query.k, product_filter)
    ranked = sorted(
        (
            (c.product_id, cosine_to_unit(c.signals.image or -1.0) or 0.0)  # None: NaN
            for c in candidates
            if c.facts is not None  # active
        ),
        key=lambda pair: (-pair[1], pair[0]),
    )[: query.k]
    products = catalog_selectors.products_by_ids(
        ids=[pid for pid, _ in ranked], with_images=query.with_images
    )
    result.items = [
        SimilarItem(
            products[pid],
            score,
            fusion.Breakdown(
                fused=score,
                scores={**{name: None for name in fusion.SIGNALS}, "image": score},
                weights={"image": 1.0},
                contributions={"image": score},
            ),
            TIER_IMAGE,
        )
        for pid, score in ranked
        if pid in products
    ]
    return result
