"""Signed-in customers: their recommendations follow their own events in every session and on
every device; the anonymous session's events merge into theirs on sign-in; no partner can send
or read events under their visitor id; sign-in failures are throttled."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from behaviour.models import Event
from behaviour.visitors import ERROR_VISITOR_RESERVED, visitor_hash
from storefront.account import ERROR_THROTTLED
from storefront.privacy import RECORDED
from storefront.shopper import VISITOR_KEY, customer_visitor_id
from tests.behaviour.factories import bought_together, event
from tests.catalog.factories import add_product

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough password"
PRODUCTS = {"LANTERN": "Garden lantern", "TEALIGHT": "Tea lights", "MUG": "Mug", "SAUCER": "Saucer"}


@pytest.fixture
def shop():
    for sku, title in PRODUCTS.items():
        add_product(sku, title)
    for one, other in (("LANTERN", "TEALIGHT"), ("MUG", "SAUCER")):
        bought_together(one, other, both_ways=True)


@pytest.fixture
def customer() -> User:
    return User.objects.create_user(username="ada", password=PASSWORD)


def sign_in(client: Client, username: str = "ada", password: str = PASSWORD):
    return client.post(
        "/account/sign-in/", {"username": username, "password": password, "next": "/"}
    )


def customer_hash(user: User) -> str:
    return visitor_hash(customer_visitor_id(user.pk))


def events_of(visitor: str) -> list[tuple[str, str]]:
    rows = Event.objects.filter(visitor=visitor).order_by("occurred_at", "event_id")
    return list(rows.values_list("kind", "product__sku"))


def recommended(response) -> list[tuple[str, str]]:
    return [(entry.product.sku, entry.why) for entry in response.context["recommended"]]


def test_a_customer_is_recommended_from_their_own_history_on_another_device(shop, customer):
    laptop, phone = Client(), Client()
    assert sign_in(laptop).status_code == 302
    laptop.post("/basket/add/MUG/", {"quantity": "1"})
    laptop.post("/checkout/")

    sign_in(phone)
    response = phone.get("/")  # a fresh session: nothing viewed in it

    # Repeats are allowed by default (measured: this shop's data repeats purchases).
    shown = recommended(response)
    assert [sku for sku, _ in shown[:2]] == ["MUG", "SAUCER"]
    assert shown[1][1].startswith("Because you") and shown[1][1].endswith(" Mug")
    assert events_of(customer_hash(customer)) == [("add_to_cart", "MUG"), ("purchase", "MUG")]
    assert b'id="sign-out"' in response.content and b"ada" in response.content


def test_signing_in_merges_the_sessions_anonymous_events_into_the_customers(shop, customer):
    client = Client()
    client.get("/products/LANTERN/")
    anonymous = visitor_hash(client.session[VISITOR_KEY])
    client.get("/products/MUG/")

    sign_in(client)
    response = client.get("/")

    assert events_of(anonymous) == []
    assert events_of(customer_hash(customer)) == [("view", "LANTERN"), ("view", "MUG")]
    assert VISITOR_KEY not in client.session
    assert {sku for sku, _ in recommended(response)} == {"SAUCER", "TEALIGHT"}


def test_the_events_before_signing_in_are_the_customers_even_if_no_page_asks_for_them(
    shop, customer
):
    client = Client()
    client.get("/products/MUG/")
    client.post("/basket/add/MUG/", {"quantity": "1"})

    signed_in = client.post(
        "/account/sign-in/", {"username": "ada", "password": PASSWORD, "next": "/basket/"}
    )
    client.get(signed_in["Location"])  # the basket never asks for the visitor id
    client.post("/account/sign-out/")

    # Theirs, so they can export and erase them: no session knows the anonymous id any more.
    assert events_of(customer_hash(customer)) == [("view", "MUG"), ("add_to_cart", "MUG")]


def test_signing_in_at_the_admins_door_makes_the_events_before_the_customers(shop, customer):
    customer.is_staff = True
    customer.save()
    client = Client()
    client.get("/products/MUG/")

    client.post("/admin/login/", {"username": "ada", "password": PASSWORD, "next": "/admin/"})
    client.post("/admin/logout/")  # no storefront page in between

    assert events_of(customer_hash(customer)) == [("view", "MUG")]


def test_signing_out_starts_a_new_anonymous_visitor(shop, customer):
    client = Client()
    sign_in(client)
    client.get("/products/LANTERN/")

    assert client.post("/account/sign-out/")["Location"] == "/"
    client.get("/products/MUG/")

    anonymous = visitor_hash(client.session[VISITOR_KEY])
    assert events_of(customer_hash(customer)) == [("view", "LANTERN")]
    assert events_of(anonymous) == [("view", "MUG")]


def test_no_raw_visitor_id_is_stored(shop, customer):
    client = Client()
    sign_in(client)
    client.get("/products/LANTERN/")

    stored = Event.objects.get().visitor
    assert stored == customer_hash(customer)
    assert len(stored) == 64 and "storefront-customer" not in stored


def test_a_partner_can_neither_write_nor_read_a_customers_history(shop, customer, partner_client):
    theirs = f"storefront-customer:{customer.pk}"  # the customer's own raw visitor id
    client = Client()
    sign_in(client)
    client.get("/products/MUG/")

    answer = partner_client.post(
        "/api/v1/events/",
        {"events": [event("MUG", visitor=theirs, days_ago=0.01)]},
        content_type="application/json",
    ).json()

    assert answer["events"][0]["reason"] == ERROR_VISITOR_RESERVED
    assert dict(client.get("/your-data/").context["rows"])[RECORDED["view"]] == 1
    assert RECORDED["purchase"] not in dict(client.get("/your-data/").context["rows"])
    for url in (
        f"/api/v1/visitors/{theirs}/export/",
        f"/api/v1/visitors/{theirs}/recommendations/",
    ):
        assert partner_client.get(url).status_code == 400
    assert partner_client.delete(f"/api/v1/visitors/{theirs}/").status_code == 400


def test_repeated_failed_sign_ins_are_refused_even_with_the_right_password(customer, settings):
    settings.PRODSIM_ADMIN_LOGIN_MAX_FAILURES = 2
    client = Client()

    failures = [sign_in(client, password="wrong").status_code for _ in range(2)]
    refused = sign_in(client)

    assert failures == [200, 200]
    assert refused.status_code == 429
    assert ERROR_THROTTLED.format(minutes=15) in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert sign_in(Client(), username="someone-else", password="wrong").status_code == 200
