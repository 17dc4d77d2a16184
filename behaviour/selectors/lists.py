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
from functools import cached_property

from catalog import selectors as catalog_selectors
from catalog.models import Product
from catalog.selectors import ProductFilter
from similarity.selectors import SimilarQuery, merchandising, similar_products_for
from similarity.selectors.serving import serving_state
from similarity.selectors.similar import product_filter_for

from ..models import ItemAssociation
from .tiers import TIER_ORDER, Candidate, associated, complements, newest, trending_candidates

NEIGHBOURS = 10  # content neighbours whose associations stand in for a product without its own


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

    @property
    def k_returned(self) -> int:
        return len(self.items)


class ContentNeighbours:
    """A product's nearest content neighbours and their closeness, looked up at most once however
    many lists ask: a product page's bought-together and also-viewed strips both fill from the
    neighbours' lists, and should not search the vector index twice for them."""

    def __init__(self, product: Product):
        self.product = product

    @cached_property
    def closeness(self) -> dict[int, float]:
        query = SimilarQuery(k=NEIGHBOURS, with_images=False)
        neighbours = similar_products_for(product=self.product, query=query).items
        return {item.product.pk: item.score for item in neighbours if item.score > 0}


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
    """The most popular products lately (time-decayed), within the filters; newest fill."""
    product_filter = product_filter_for(None, query)
    found = trending_candidates(product_filter, query.k, taken=set())
    if len(found) < query.k:
        found += newest(product_filter, query.k - len(found), {c.product_id for c in found})
    return BehaviourResult(_items(found, [], query), k_requested=query.k)


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
    result.items = merchandising.apply_pins(
        _items(found, rules, query),
        rules,
        allowed=lambda: catalog_selectors.products_matching(product_filter=product_filter),
        k=query.k,
        make_item=pinned_item,
    )
    return result


def _complements(
    neighbours: ContentNeighbours, kind, product_filter: ProductFilter, k, found
) -> list[Candidate]:
    """What goes with the product's nearest content neighbours, weighted by their closeness."""
    taken = {neighbours.product.pk, *(c.product_id for c in found)}
    return complements(kind, neighbours.closeness, product_filter, k - len(found), taken=taken)


def _items(found: list[Candidate], rules, query: SimilarQuery) -> list[BehaviourItem]:
    products = catalog_selectors.products_by_ids(
        ids=[c.product_id for c in found], with_images=query.with_images
    )
    return ranked_items(found, products, rules, k=query.k)


def ranked_items(
    found: list[Candidate], products: dict, rules, *, k: int, tier_order: list[str] = TIER_ORDER
) -> list[BehaviourItem]:
    """Candidates as items with their products; boosts and buries reorder within a tier."""
    items = [
        BehaviourItem(products[c.product_id], c.score, c.tier, c.why, c.evidence)
        for c in found
        if c.product_id in products
    ]

    def order(item: BehaviourItem) -> tuple:
        factor = merchandising.score_factor(rules, brand=item.product.brand, tags=item.product.tags)
        return (tier_order.index(item.tier), -item.score * factor, item.product.pk)

    return sorted(items, key=order)[:k]


def pinned_item(product_id: int) -> BehaviourItem | None:
    """With its image, like the listed items: a storefront card shows it."""
    found = catalog_selectors.products_by_ids(ids=[product_id], with_images=True).get(product_id)
    return found and BehaviourItem(found, 0.0, merchandising.TIER_PINNED, merchandising.PINNED_WHY)
