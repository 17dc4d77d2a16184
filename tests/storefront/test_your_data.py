"""Your data: a storefront shopper sees, downloads and erases what was recorded about their
visits, anonymous or signed in, and nobody else's."""

import json

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from behaviour.models import Event
from behaviour.services.storefront import storefront_events_record
from behaviour.visitors import visitor_hash
from catalog.models import Product
from catalog.services.products import product_delete
from storefront import basket_state, history
from storefront.privacy import ERROR_THROTTLED, RECORDED, ErasureThrottle
from storefront.shopper import VISITOR_KEY, customer_visitor_id
from tests.catalog.factories import add_product

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough password"


@pytest.fixture
def shop():
    add_product("MUG-1", "Red mug", price="9.90")
    add_product("LMP-1", "Desk lamp", price="45.00")


def shop_around(client: Client) -> str:
    """View both products, buy the mug; the hashed visitor the events went to."""
    client.get("/products/MUG-1/")
    client.get("/products/LMP-1/")
    client.post("/basket/add/MUG-1/", {"quantity": "2"})
    client.post("/checkout/")
    return visitor_hash(client.session[VISITOR_KEY])


def kinds_of(visitor: str) -> list[str]:
    return sorted(Event.objects.filter(visitor=visitor).values_list("kind", flat=True))


def test_the_page_counts_what_was_recorded_per_kind(shop):
    client = Client()
    shop_around(client)

    response = client.get("/your-data/")

    assert response.status_code == 200
    # The strips' A/B log is counted in its own test.
    rows = {label: n for label, n in response.context["rows"] if label != RECORDED["impressions"]}
    assert rows == {RECORDED["view"]: 2, RECORDED["add_to_cart"]: 1, RECORDED["purchase"]: 1}
    assert b'id="your-events"' in response.content
    assert "no-cache" in response["Cache-Control"]


def test_the_page_counts_what_the_download_holds_in_words(shop):
    client = Client()
    shop_around(client)

    page = client.get("/your-data/")
    download = json.loads(client.get("/your-data/export/").content)

    rows = dict(page.context["rows"])
    assert rows["Products viewed"] == 2 and rows["Products ordered"] == 1
    shown = rows["Recommendations shown to you while the shop tests them"]
    assert shown == len(download["impressions"]) > 0  # the strips the visit saw
    assert page.context["total"] == len(download["events"]) + shown
    assert b"add_to_cart" not in page.content


def test_the_download_holds_the_shoppers_own_events(shop):
    client, other = Client(), Client()
    shop_around(client)
    other.get("/products/LMP-1/")

    response = client.get("/your-data/export/")

    assert response["Content-Disposition"] == 'attachment; filename="your-data.json"'
    events = json.loads(response.content)["events"]
    assert [(event["kind"], event["sku"]) for event in events] == [
        ("view", "MUG-1"),
        ("view", "LMP-1"),
        ("add_to_cart", "MUG-1"),
        ("purchase", "MUG-1"),
    ]
    assert events[-1]["quantity"] == 2 and events[-1]["unit_price"] == "9.90"
    assert events[-1]["order_id"]


def test_erasing_deletes_the_events_and_starts_the_visit_afresh(shop):
    client, other = Client(), Client()
    visitor = shop_around(client)
    other.get("/products/LMP-1/")
    other_visitor = visitor_hash(other.session[VISITOR_KEY])
    client.post("/basket/add/LMP-1/", {"quantity": "1"}, follow=True)  # shows its message
    session_key = client.session.session_key

    response = client.post("/your-data/erase/", follow=True)

    assert response.redirect_chain == [("/your-data/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "Erased 5 recorded events. Lists computed from every shopper's events (bought together, "
        "trending) lose your share at their next full rebuild, normally within a minute."
    ]
    assert kinds_of(visitor) == []
    assert kinds_of(other_visitor) == ["view"]
    assert b'id="no-events"' in response.content
    session = client.session
    assert session.session_key != session_key
    assert VISITOR_KEY not in session and history.recently_viewed_ids(session) == []
    assert [line.product.sku for line in basket_state.basket_read(session).lines] == ["LMP-1"]

    client.get("/products/MUG-1/")  # browsing on is a new visitor
    assert visitor_hash(client.session[VISITOR_KEY]) != visitor


def test_a_signed_in_customer_erases_their_account_history_from_any_device(shop):
    user = User.objects.create_user(username="ada", password=PASSWORD)
    customer = customer_visitor_id(user.pk)
    storefront_events_record(visitor_id=customer, kind="view", lines=[("LMP-1", None, None)])
    phone = Client()
    phone.post("/account/sign-in/", {"username": "ada", "password": PASSWORD, "next": "/"})
    phone.get("/products/MUG-1/")

    assert dict(phone.get("/your-data/").context["rows"])[RECORDED["view"]] == 2
    phone.post("/your-data/erase/")

    assert kinds_of(visitor_hash(customer)) == []
    assert phone.get("/your-data/").context["total"] == 0
    assert b'id="sign-out"' in phone.get("/your-data/").content  # still signed in


def test_looking_at_the_page_records_nothing_and_makes_no_visitor(shop):
    client = Client()

    page = client.get("/your-data/")
    download = client.get("/your-data/export/")

    assert page.context["total"] == 0 and b'id="no-events"' in page.content
    assert json.loads(download.content) == {
        "events": [],
        "recently_viewed": [],
        "basket": [],
        "last_order": None,
        "impressions": [],
        "clicks": [],
    }
    assert VISITOR_KEY not in client.session
    assert not Event.objects.exists()


def test_erasing_takes_a_post_with_a_csrf_token(shop):
    client = Client(enforce_csrf_checks=True)
    client.get("/products/MUG-1/")
    client.get("/products/LMP-1/")

    assert client.get("/your-data/erase/").status_code == 405
    assert client.post("/your-data/erase/").status_code == 403
    assert kinds_of(visitor_hash(client.session[VISITOR_KEY])) == ["view", "view"]


def test_erasures_from_one_network_are_throttled(shop):
    # Its own address: the throttle counts per client IP in the shared cache.
    client = Client(REMOTE_ADDR="192.0.2.7")
    for _ in range(ErasureThrottle().num_requests):
        client.get("/products/MUG-1/")
        assert client.post("/your-data/erase/").status_code == 302
    client.get("/products/MUG-1/")

    refused = client.post("/your-data/erase/")

    assert refused.status_code == 429
    assert [str(m) for m in refused.context["messages"]] == [ERROR_THROTTLED]
    assert kinds_of(visitor_hash(client.session[VISITOR_KEY])) == ["view"]
    assert Client(REMOTE_ADDR="192.0.2.8").post("/your-data/erase/").status_code == 302


def test_the_erasure_count_keeps_no_client_ip_in_the_cache(shop, rf):
    ip = "192.0.2.77"
    client = Client(REMOTE_ADDR=ip)
    client.get("/products/MUG-1/")
    assert client.post("/your-data/erase/").status_code == 302

    key = ErasureThrottle().get_cache_key(rf.post("/your-data/erase/", REMOTE_ADDR=ip), None)

    assert len(cache.get(key)) == 1  # the erasure counted, under a hash of the address
    assert ip not in key


def test_the_download_also_holds_what_the_session_remembers(shop):
    client = Client()
    shop_around(client)  # the basket empties at checkout
    client.post("/basket/add/LMP-1/", {"quantity": "3"})

    exported = json.loads(client.get("/your-data/export/").content)

    assert exported["recently_viewed"] == ["LMP-1", "MUG-1"]  # newest first
    assert exported["basket"] == [{"sku": "LMP-1", "quantity": 3}]


def test_the_download_names_viewed_products_withdrawn_or_deleted_since(shop):
    # The session still holds them (the strip leaves them out): the download says what it holds.
    client = Client()
    shop_around(client)
    Product.objects.filter(sku="LMP-1").update(is_active=False)
    product_delete(sku="MUG-1")

    exported = json.loads(client.get("/your-data/export/").content)

    assert exported["recently_viewed"] == ["LMP-1", "MUG-1"]
