"""The demo basket: add, remove, checkout without payment, and the events each step records."""

import re
import time
from decimal import Decimal

import pytest
from django.test import Client

from behaviour.models import Event
from behaviour.visitors import visitor_hash
from catalog.models import Product
from storefront import basket_state, placed_orders
from storefront.basket import ADDED, REMOVED
from storefront.shopper import VISITOR_KEY
from tests.catalog.factories import add_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    add_product("MUG-1", "Red mug", price="9.90")
    add_product("LMP-1", "Desk lamp", category="Home > Decor > Lamps", price="45.00")


def add(client, sku: str, quantity: str | None = "1"):
    """Post the product page's form and follow its redirect to the basket page."""
    data = {} if quantity is None else {"quantity": quantity}
    return client.post(f"/basket/add/{sku}/", data, follow=True)


def messages_of(response) -> list[str]:
    """The messages that the page a POST redirected to showed (and so consumed)."""
    assert response.redirect_chain == [("/basket/", 302)]
    return [str(message) for message in response.context["messages"]]


def lines(response) -> list[tuple[str, int, Decimal]]:
    return [
        (line.product.sku, line.quantity, line.total) for line in response.context["basket"].lines
    ]


def events(**filters) -> list[tuple]:
    return list(
        Event.objects.filter(**filters)
        .order_by("occurred_at", "product__sku")
        .values_list("kind", "product__sku", "quantity", "unit_price", "order_id", "source")
    )


def test_added_products_show_as_lines_with_totals_and_the_nav_count(client, shop):
    response = add(client, "MUG-1", "2")
    assert messages_of(response) == [ADDED.format(quantity=2, title="Red mug")]
    add(client, "LMP-1", None)  # no quantity field: one
    add(client, "MUG-1", "1")

    response = client.get("/basket/")

    assert lines(response) == [("MUG-1", 3, Decimal("29.70")), ("LMP-1", 1, Decimal("45.00"))]
    assert response.context["basket"].totals == [("EUR", Decimal("74.70"))]
    html = response.content.decode()
    assert "Basket (4)</a>" in html
    assert '<td class="line-total">29.70 EUR</td>' in html
    assert "<td>74.70 EUR</td>" in html
    assert client.session[basket_state.SESSION_KEY] == {"MUG-1": 3, "LMP-1": 1}


def test_each_add_records_an_add_to_cart_event(client, shop):
    add(client, "MUG-1", "2")

    assert events() == [("add_to_cart", "MUG-1", 2, Decimal("9.90"), "", "storefront")]


def test_remove_drops_the_line(client, shop):
    add(client, "MUG-1")
    add(client, "LMP-1")

    response = client.post("/basket/remove/MUG-1/", follow=True)

    assert messages_of(response) == [REMOVED.format(sku="MUG-1")]
    assert lines(client.get("/basket/")) == [("LMP-1", 1, Decimal("45.00"))]


def test_removing_what_is_not_in_the_basket_says_so(client, shop):
    add(client, "MUG-1")

    response = client.post("/basket/remove/LMP-1/", follow=True)

    assert messages_of(response) == [basket_state.ERROR_NOT_IN_BASKET.format(sku="LMP-1")]
    assert client.session[basket_state.SESSION_KEY] == {"MUG-1": 1}


def test_checkout_records_one_purchase_per_line_under_one_order_and_empties_the_basket(
    client, shop
):
    add(client, "MUG-1", "2")
    add(client, "LMP-1")
    Event.objects.all().delete()

    placed = client.post("/checkout/")
    response = client.get(placed["Location"])

    assert (placed.status_code, response.status_code) == (302, 200)
    order_id = response.context["order"]["order_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", order_id)
    assert events() == [
        ("purchase", "LMP-1", 1, Decimal("45.00"), order_id, "storefront"),
        ("purchase", "MUG-1", 2, Decimal("9.90"), order_id, "storefront"),
    ]
    visitor = client.session[VISITOR_KEY]
    assert set(Event.objects.values_list("visitor", flat=True)) == {visitor_hash(visitor)}
    assert visitor != client.session.session_key
    html = response.content.decode()
    assert f'<strong id="order-id">{order_id}</strong>' in html
    assert "No payment was taken" in html
    assert basket_state.SESSION_KEY not in client.session
    assert client.get("/basket/").context["basket"].lines == []


def test_the_visitor_id_stays_the_same_for_the_session(client, shop):
    client.get("/products/MUG-1/")
    add(client, "MUG-1")
    client.post("/checkout/")

    assert set(Event.objects.values_list("visitor", flat=True)) == {
        visitor_hash(client.session[VISITOR_KEY])
    }
    assert Event.objects.count() == 3


def test_a_second_checkout_of_the_same_basket_shows_the_order_again(client, shop):
    """It said "your basket is empty": the shopper never saw their order number."""
    add(client, "MUG-1")
    order_id = client.post("/checkout/", follow=True).context["order"]["order_id"]

    response = client.post("/checkout/", follow=True)

    assert response.redirect_chain == [("/checkout/placed/", 302)]
    assert response.context["order"]["order_id"] == order_id
    assert not list(response.context["messages"])
    assert Event.objects.filter(kind="purchase").count() == 1


def test_an_empty_basket_checked_out_long_after_an_order_is_refused(client, shop, monkeypatch):
    add(client, "MUG-1")
    client.post("/checkout/")
    later = time.time() + placed_orders.REPEAT_CLICK_S + 1
    monkeypatch.setattr(placed_orders.time, "time", lambda: later)

    response = client.post("/checkout/", follow=True)

    assert messages_of(response) == [basket_state.ERROR_EMPTY]


def test_the_order_page_is_a_get_that_signing_in_comes_back_to(client, shop, django_user_model):
    """The order page was the checkout POST's answer: the header's sign-in link brought the
    shopper back to /checkout/ by GET, a 405, and a reload placed the order again."""
    django_user_model.objects.create_user("ann", password="a long pass phrase")
    add(client, "MUG-1")
    page = client.post("/checkout/", follow=True)
    order_id = page.context["order"]["order_id"]
    assert 'href="/account/sign-in/?next=/checkout/placed/"' in page.content.decode()

    signed_in = client.post(
        "/account/sign-in/?next=/checkout/placed/",
        {"username": "ann", "password": "a long pass phrase"},
        follow=True,
    )

    assert signed_in.status_code == 200
    assert signed_in.context["order"]["order_id"] == order_id
    assert client.get("/checkout/placed/").context["order"]["order_id"] == order_id
    assert Event.objects.filter(kind="purchase").count() == 1


def test_the_order_page_without_an_order_is_the_basket(client, shop):
    assert client.get("/checkout/placed/")["Location"] == "/basket/"


@pytest.mark.parametrize(
    ("sku", "quantity", "message"),
    [
        ("NOPE", "1", basket_state.ERROR_NOT_FOR_SALE.format(sku="NOPE")),
        ("OLD-1", "1", basket_state.ERROR_NOT_FOR_SALE.format(sku="OLD-1")),
        ("GONE-1", "1", basket_state.ERROR_OUT_OF_STOCK.format(title="Sold-out mug")),
        ("MUG-1", "0", basket_state.ERROR_QUANTITY),
        ("MUG-1", "100", basket_state.ERROR_QUANTITY),
        ("MUG-1", "-1", basket_state.ERROR_QUANTITY),
        ("MUG-1", "1.5", basket_state.ERROR_QUANTITY),
        ("MUG-1", "two", basket_state.ERROR_QUANTITY),
        ("MUG-1", "\u0661", basket_state.ERROR_QUANTITY),  # an Arabic-Indic one
        ("MUG-1", "98", basket_state.ERROR_LINE_FULL),  # 2 already in the basket
    ],
)
def test_bad_adds_say_why_and_change_nothing(client, shop, sku, quantity, message):
    add_product("OLD-1", "Retired mug", is_active=False)
    add_product("GONE-1", "Sold-out mug", in_stock=False)
    add(client, "MUG-1", "2")
    Event.objects.all().delete()

    response = add(client, sku, quantity)

    assert messages_of(response) == [message]
    assert lines(response) == [("MUG-1", 2, Decimal("19.80"))]
    assert client.session[basket_state.SESSION_KEY] == {"MUG-1": 2}
    assert Event.objects.count() == 0
    assert f'<li class="error">{message}</li>' in response.content.decode()


def test_a_basket_holds_a_bounded_number_of_products(client, shop):
    session = client.session
    session[basket_state.SESSION_KEY] = {f"X{n}": 1 for n in range(basket_state.MAX_LINES)}
    session.save()
    for n in range(basket_state.MAX_LINES):
        add_product(f"X{n}", f"Thing {n}")

    response = add(client, "MUG-1")

    assert messages_of(response) == [basket_state.ERROR_TOO_MANY_LINES]
    assert "MUG-1" not in client.session[basket_state.SESSION_KEY]


def test_a_product_withdrawn_after_adding_is_left_out_of_the_order(client, shop):
    add(client, "MUG-1")
    add(client, "LMP-1")
    Product.objects.filter(sku="LMP-1").update(is_active=False)

    page = client.get("/basket/")
    assert lines(page) == [("MUG-1", 1, Decimal("9.90"))]
    assert "1 product in your basket is no longer for sale" in page.content.decode()

    order_id = client.post("/checkout/", follow=True).context["order"]["order_id"]
    assert events(kind="purchase") == [
        ("purchase", "MUG-1", 1, Decimal("9.90"), order_id, "storefront")
    ]


def test_a_product_that_sold_out_in_the_basket_is_shown_so_and_holds_the_order_back(client, shop):
    add(client, "MUG-1")
    add(client, "LMP-1")
    Product.objects.filter(sku="LMP-1").update(in_stock=False)
    Event.objects.all().delete()

    page = client.get("/basket/")
    refused = client.post("/checkout/", follow=True)
    client.post("/basket/remove/LMP-1/")
    placed = client.post("/checkout/", follow=True)

    assert '<span class="stock out">Out of stock</span>' in page.content.decode()
    message = basket_state.ERROR_SOLD_OUT_IN_BASKET.format(it="it", titles="Desk lamp")
    assert messages_of(refused) == [message]
    assert lines(refused) == [("MUG-1", 1, Decimal("9.90")), ("LMP-1", 1, Decimal("45.00"))]
    assert events(kind="purchase") == [
        ("purchase", "MUG-1", 1, Decimal("9.90"), placed.context["order"]["order_id"], "storefront")
    ]


def test_an_out_of_stock_products_page_offers_no_basket(client, shop):
    Product.objects.filter(sku="LMP-1").update(in_stock=False)

    out = client.get("/products/LMP-1/").content.decode()
    available = client.get("/products/MUG-1/").content.decode()

    assert 'class="add-to-basket"' not in out and "Out of stock" in out
    assert 'class="add-to-basket"' in available


def test_changes_are_posts_only(client, shop):
    assert client.get("/basket/add/MUG-1/").status_code == 405
    assert client.get("/basket/remove/MUG-1/").status_code == 405
    assert client.get("/checkout/").status_code == 405
    assert client.post("/basket/").status_code == 405


def test_the_product_page_form_carries_its_csrf_token(shop):
    client = Client(enforce_csrf_checks=True)
    html = client.get("/products/MUG-1/").content.decode()
    assert 'action="/basket/add/MUG-1/"' in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    assert client.post("/basket/add/MUG-1/", {"quantity": "1"}).status_code == 403
    response = client.post("/basket/add/MUG-1/", {"quantity": "1", "csrfmiddlewaretoken": token})

    assert (response.status_code, response["Location"]) == (302, "/basket/")
    assert client.session[basket_state.SESSION_KEY] == {"MUG-1": 1}


def test_a_product_page_view_records_a_view_event(client, shop):
    client.get("/products/LMP-1/")

    assert events() == [("view", "LMP-1", None, None, "", "storefront")]
    assert Event.objects.get().visitor == visitor_hash(client.session[VISITOR_KEY])
