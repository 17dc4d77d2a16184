"""A product without co-purchases: its content neighbours come before what they were bought
with (bought together), measured on a real shop's new products; also viewed keeps one ranking."""

import pytest

from behaviour import selectors
from behaviour.selectors.lists import ContentNeighbours
from behaviour.services.ingest import events_record
from behaviour.services.refresh import behaviour_refresh
from catalog.models import Product
from similarity.selectors import SimilarQuery
from similarity.services.lexical import lexical_index_rebuild
from tests.catalog.factories import add_product

from .factories import event, order

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    for sku, title in (("A", "Striped mug"), ("B", "Spotted mug"), ("C", "Plain mug")):
        add_product(sku, title, category="Home > Kitchen > Mugs")
    add_product("X", "Garden hose reel", category="Garden > Watering > Hoses")
    lexical_index_rebuild()  # the content neighbours of a product come from its text here
    # The hose reel goes with both mugs A resembles: as a complement it scores both closenesses.
    for number in range(3):
        events_record(items=order(["B", "X"], f"b{number}", f"ob{number}"))
        events_record(items=order(["C", "X"], f"c{number}", f"oc{number}"))
    events_record(items=[event(s, "w1") for s in "BX"] + [event(s, "w2") for s in "CX"])
    behaviour_refresh()
    return Product.objects.get(sku="A")


def listed(result) -> list[tuple[str, str]]:
    return [(item.product.sku, item.tier) for item in result.items]


def test_bought_together_of_a_new_product_lists_its_neighbours_first_by_closeness(shop):
    closeness = ContentNeighbours(shop).closeness
    by_sku = dict(Product.objects.values_list("pk", "sku"))
    nearest = sorted(closeness, key=lambda pid: -closeness[pid])[:3]
    assert by_sku[nearest[-1]] == "X"  # the least like a mug, the most bought with them

    result = selectors.bought_together(product=shop, query=SimilarQuery(k=3, with_images=False))

    assert listed(result) == [(by_sku[pid], "complements_of_similar") for pid in nearest]
    assert [item.score for item in result.items] == [closeness[pid] for pid in nearest]
    assert {item.why for item in result.items} == {"Similar to this product"}


def test_also_viewed_still_ranks_the_neighbours_partner_by_its_summed_score(shop):
    result = selectors.also_viewed(product=shop, query=SimilarQuery(k=3, with_images=False))

    assert listed(result)[0] == ("X", "complements_of_similar")  # the partner of both mugs


MUGS = [
    "Spotted",
    "Plain",
    "Dotted",
    "Checked",
    "Floral",
    "Glazed",
    "Enamel",
    "Handmade",
    "Tall",
    "Travel",
    "Espresso",
]


def test_beyond_its_neighbours_a_new_product_is_filled_by_trending_not_by_their_partners():
    add_product("A", "Striped mug", category="Home > Kitchen > Mugs")
    for number, style in enumerate(MUGS):
        add_product(f"M{number}", f"{style} mug", category="Home > Kitchen > Mugs")
    add_product("X", "Garden hose reel", category="Garden > Watering > Hoses")
    add_product("Z", "Garden spade", category="Garden > Tools > Spades")
    lexical_index_rebuild()
    for number in range(6):  # the hose reel goes with two mugs; the spade sells on its own
        events_record(items=order([f"M{number % 2}", "X"], f"m{number}", f"om{number}"))
    for number in range(10):
        events_record(items=order(["Z"], f"z{number}", f"oz{number}"))
    behaviour_refresh()
    product = Product.objects.get(sku="A")
    by_sku = dict(Product.objects.values_list("pk", "sku"))
    neighbours = {by_sku[pid] for pid in ContentNeighbours(product).closeness}
    assert len(neighbours) == 10 and not neighbours & {"X", "Z"}

    result = selectors.bought_together(product=product, query=SimilarQuery(k=11, with_images=False))

    assert {sku for sku, _ in listed(result)[:10]} == neighbours
    assert listed(result)[10] == ("Z", "trending")  # not X, the neighbours' partner
