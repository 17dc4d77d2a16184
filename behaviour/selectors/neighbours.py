"""A product's nearest content neighbours, shared by the lists that fill from them."""

from functools import cached_property

from catalog.models import Product
from similarity.selectors import SimilarQuery, similar_products_for

NEIGHBOURS = 10  # content neighbours whose associations stand in for a product without its own


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
