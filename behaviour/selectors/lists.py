"""Bought together, also viewed and trending, with the similar-items contract: the same filters,
merchandising rules and guaranteed k, each item saying which tier produced it and why.

Tiers, best first: the product's own associations from events; for a product without them (new,
rarely bought) its content neighbours: bought together lists the neighbours themselves by
closeness ("similar to this product": new product lines are bought together with their siblings,
measured in bench/behaviour_quality.py), also viewed the neighbours' own associations
("complements of similar products"); then trending products within the filters; then the newest
products of its category.
"""

from dataclasses import dataclass, field

from catalog import selectors as catalog_selectors
from catalog.models import Product
from catalog.selectors import ProductFilter
from similarity.selectors import SimilarQuery, merchandising
from similarity.selectors.serving import serving_state
from similarity.selectors.similar import product_filter_for

from ..models import ItemAssociation
from .neighbours import ContentNeighbours
from .tiers import TIER_ORDER, Candidate, associated, complements, newest, trending_candidates


@dataclass(frozen=True)
class BehaviourItem:
    product: Product
    score: float
    tier: str
    why: str = ""
    evidence: dict = field(default_factory=dict)


@dataclass
class BehaviourResult:
    items: list[BehaviourItem] = field(default_factory=list)
    k_requested: int = 0
    model_version: int | None = None  # the sequence model that ranked personal items, if any

    @property
    def k_returned(self) -> int:
        return len(self.items)


def bought_together(
    *, product: Product, query: SimilarQuery, neighbours: ContentNeighbours | None = None
) -> BehaviourResult:
    """`neighbours`: pass one ContentNeighbours of `product` to several lists to share it."""
    kind = ItemAssociation.Kind.BOUGHT_TOGETHER
    return _for_product(product, query, kind, neighbours or ContentNeighbours(product))


def also_viewed(
    *, product: Product, query: SimilarQuery, neighbours: ContentNeighbours | None = None
) -> BehaviourResult:
    kind = ItemAssociation.Kind.ALSO_VIEWED
    return _for_product(product, query, kind, neighbours or ContentNeighbours(product))


def trending(*, query: SimilarQuery) -> BehaviourResult:
    """The most popular products lately (time-decayed), within the filters; newest fill. The
    shop-wide merchandising rules (those scoped to no product or category) apply, as on
    recommendations: a blocked product is never trending, a pin always shows."""
    rules, product_filter = shop_wide_filter(query)
    found = trending_candidates(product_filter, query.k, taken=set())
    if len(found) < query.k:
        found += newest(product_filter, query.k - len(found), {c.product_id for c in found})
    return BehaviourResult(_items(found, rules, query, product_filter), k_requested=query.k)


def shop_wide_filter(query: SimilarQuery) -> tuple[list, ProductFilter]:
    """The shop-wide merchandising rules (scoped to no product or category) and the filter of a
    list without a source product under them: the query's filters, blocked products left out."""
    rules = merchandising.rules_in_force(state=serving_state(), product_id=0, category_path="")
    return rules, product_filter_for(None, query, merchandising.blocked_ids(rules))


def _for_product(
    product: Product, query: SimilarQuery, kind: str, neighbours: ContentNeighbours
) -> BehaviourResult:
    result = BehaviourResult(k_requested=query.k)
    if not product.is_active:
        return result
    source = catalog_selectors.product_facts_of(product)
    rules = merchandising.rules_in_force(
        state=serving_state(), product_id=product.pk, category_path=source.category_path
    )
    exclude = [product.pk, *merchandising.blocked_ids(rules)]
    variants = "" if query.include_variants else source.group_id
    product_filter = product_filter_for(source, query, exclude, variants)
    found = associated(kind, {product.pk: 1.0}, product_filter, query.k, taken=set())
    if len(found) < query.k:
        found += _complements(neighbours, kind, product_filter, query.k, found)
    for fill in (trending_candidates, newest):
        if len(found) < query.k:
            found += fill(product_filter, query.k - len(found), {c.product_id for c in found})
    result.items = _items(found, rules, query, product_filter)
    return result


def _complements(
    neighbours: ContentNeighbours, kind, product_filter: ProductFilter, k, found
) -> list[Candidate]:
    """What goes with the product's nearest content neighbours, weighted by their closeness."""
    taken = {neighbours.product.pk, *(c.product_id for c in found)}
    return complements(kind, neighbours.closeness, product_filter, k - len(found), taken=taken)


def _items(
    found: list[Candidate], rules, query: SimilarQuery, product_filter: ProductFilter
) -> list[BehaviourItem]:
    """Ranked within their tiers (boosts and buries), then the pins put in their places."""
    products = catalog_selectors.products_by_ids(
        ids=[c.product_id for c in found], with_images=query.with_images
    )
    return merchandising.apply_pins(
        ranked_items(found, products, rules, k=query.k),
        rules,
        allowed=lambda: catalog_selectors.products_matching(product_filter=product_filter),
        k=query.k,
        make_item=pinned_item,
    )


def ranked_items(
    found: list[Candidate], products: dict, rules, *, k: int, tier_order: list[str] = TIER_ORDER
) -> list[BehaviourItem]:
    """Candidates as items with their products; boosts and buries reorder within a tier, and an
    item they moved says by how much (`merchandising` in its evidence: explain shows it)."""
    items = []
    for c in found:
        if (product := products.get(c.product_id)) is None:
            continue
        factor = merchandising.score_factor(rules, brand=product.brand, tags=product.tags)
        evidence = c.evidence if factor == 1 else {**c.evidence, "merchandising": factor}
        rank = (tier_order.index(c.tier), -c.score * factor, product.pk)
        items.append((rank, BehaviourItem(product, c.score, c.tier, c.why, evidence)))
    return [item for _, item in sorted(items, key=lambda pair: pair[0])[:k]]


def pinned_item(product_id: int) -> BehaviourItem | None:
    """With its image, like the listed items: a storefront card shows it."""
    found = catalog_selectors.products_by_ids(ids=[product_id], with_images=True).get(product_id)
    return found and BehaviourItem(found, 0.0, merchandising.TIER_PINNED, merchandising.PINNED_WHY)
