"""The basket across odd spellings, withdrawn products and a double-clicked order."""

import re
import threading
import unicodedata
from html import unescape
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client

from behaviour.models import Event
from catalog.models import Product
from storefront import basket_state
from tests.catalog.factories import add_product

from .factories import waits_for_its_turn

pytestmark = pytest.mark.django_db

COMPOSED = unicodedata.normalize("NFC", "CAFÉ-1")
DECOMPOSED = unicodedata.normalize("NFD", "CAFÉ-1")  # as links made on macOS may spell it


@pytest.fixture
def cafe():
    add_product(COMPOSED, "Café mug", price="9.90")


def basket_lines(client) -> list[tuple[str, int]]:
    return [
        (line.product.sku, line.quantity) for line in client.get("/basket/").context["basket"].lines
    ]


def test_both_spellings_of_a_sku_add_to_one_line_under_its_cap(client, cafe):
    client.post(f"/basket/add/{quote(COMPOSED)}/", {"quantity": "1"})
    client.post(f"/basket/add/{quote(DECOMPOSED)}/", {"quantity": "2"})
    assert basket_lines(client) == [(COMPOSED, 3)]

    client.post(f"/basket/add/{quote(DECOMPOSED)}/", {"quantity": "97"})  # 100 > the cap

    assert basket_lines(client) == [(COMPOSED, 3)]
    client.post("/checkout/")
    assert list(Event.objects.filter(kind="purchase").values_list("product__sku", "quantity")) == [
        (COMPOSED, 3)
    ]


def test_a_basket_keyed_by_both_spellings_reads_as_one_line_and_removes_by_either(client, cafe):
    session = client.session  # as a basket filled before keys were the stored SKU holds it
    session[basket_state.SESSION_KEY] = {COMPOSED: 2, DECOMPOSED: 1}
    session.save()
    assert basket_lines(client) == [(COMPOSED, 3)]
    assert client.session[basket_state.SESSION_KEY] == {COMPOSED: 3}

    html = client.get("/basket/").content.decode()
    action = unescape(re.search(r'action="(/basket/remove/[^"]+)"', html).group(1))
    client.post(action.replace(quote(COMPOSED), quote(DECOMPOSED)))

    assert basket_lines(client) == []


def test_withdrawn_products_leave_the_basket_the_count_and_the_line_limit(client):
    for n in range(basket_state.MAX_LINES):
        add_product(f"X{n}", f"Thing {n}")
        client.post(f"/basket/add/X{n}/", {"quantity": "2"})
    add_product("MUG-1", "Red mug")
    Product.objects.filter(sku__startswith="X").update(is_active=False)

    page = client.get("/products/MUG-1/").content.decode()
    assert "Basket (0)" in page  # the nav counts what can still be ordered
    response = client.post("/basket/add/MUG-1/", {"quantity": "1"}, follow=True)

    notices = [str(message) for message in response.context["messages"]]
    assert (
        notices[0]
        == f"{basket_state.MAX_LINES} products in your basket are no longer for sale: removed."
    )
    assert basket_lines(client) == [("MUG-1", 1)]
    assert client.session[basket_state.SESSION_KEY] == {"MUG-1": 1}


def test_a_basket_of_withdrawn_products_only_is_emptied_by_reading_it(client):
    add_product("LMP-1", "Desk lamp")
    client.post("/basket/add/LMP-1/", {"quantity": "3"})
    Product.objects.filter(sku="LMP-1").update(is_active=False)

    page = client.get("/basket/").content.decode()

    assert "1 product in your basket is no longer for sale: removed." in page
    assert "Basket (0)" in page
    assert client.session[basket_state.SESSION_KEY] == {}
    assert "no longer for sale" not in client.get("/basket/").content.decode()  # told once


def notices(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_refused_change_still_tells_of_the_withdrawn_products_it_dropped(client):
    add_product("MUG-1", "Red mug")
    add_product("OLD-1", "Old mug")
    client.post("/basket/add/MUG-1/", {"quantity": "99"}, follow=True)  # its notice shown
    client.post("/basket/add/OLD-1/", {"quantity": "1"}, follow=True)
    Product.objects.filter(sku="OLD-1").update(is_active=False)

    refused = client.post("/basket/add/MUG-1/", {"quantity": "1"}, follow=True)

    dropped = "1 product in your basket is no longer for sale: removed."
    assert notices(refused) == [dropped, basket_state.ERROR_LINE_FULL]
    Product.objects.filter(sku="MUG-1").update(is_active=False)
    empty = client.post("/checkout/", follow=True)
    assert notices(empty) == [dropped, basket_state.ERROR_EMPTY]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/", "/products/MUG-1/", "/basket/"])
def test_a_page_that_saves_the_session_waits_for_its_turn(path):
    """A page saving the session (recently viewed, dropped lines) while a basket change runs
    would save the basket as it read it, losing the change: it waits for the change's turn."""
    add_product("MUG-1", "Red mug")
    shopper = Client()
    shopper.post("/basket/add/MUG-1/", {"quantity": "1"})
    key = shopper.cookies["sessionid"].value

    # A basket change of this session in progress.
    assert waits_for_its_turn(key, lambda tab: tab.get(path).status_code == 200) == (True, True)


def _at_once(cookie: str, post) -> list[tuple[int, str | None]]:
    """Run `post(client)` from two clients of one session at the same moment: each answer's
    status and Location."""
    barrier, statuses = threading.Barrier(2), []

    def submit():
        try:
            client = Client(raise_request_exception=False)
            client.cookies["sessionid"] = cookie
            barrier.wait(timeout=30)
            response = post(client)
            statuses.append((response.status_code, response.get("Location")))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_a_double_clicked_order_is_placed_once():
    add_product("MUG-1", "Red mug", price="9.90")
    shopper = Client()
    shopper.post("/basket/add/MUG-1/", {"quantity": "2"})

    answers = _at_once(shopper.cookies["sessionid"].value, lambda c: c.post("/checkout/"))

    assert answers == [(302, "/checkout/placed/")] * 2  # both clicks show the one order
    purchases = Event.objects.filter(kind="purchase")
    assert list(purchases.values_list("product__sku", "quantity")) == [("MUG-1", 2)]


@pytest.mark.django_db(transaction=True)
def test_two_adds_at_once_both_land_in_the_basket():
    add_product("MUG-1", "Red mug", price="9.90")
    shopper = Client()
    shopper.post("/basket/add/MUG-1/", {"quantity": "1"})

    _at_once(
        shopper.cookies["sessionid"].value,
        lambda c: c.post("/basket/add/MUG-1/", {"quantity": "1"}),
    )

    assert basket_lines(shopper) == [("MUG-1", 3)]
    assert Event.objects.filter(kind="add_to_cart").count() == 3
