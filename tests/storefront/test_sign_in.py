"""Where signing in lands: the `next` page when it is one of the shop's, else the product list;
never off-site, never a 404, never a loop back to the sign-in page."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.catalog.factories import add_product

from .factories import waits_for_its_turn

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough password"


@pytest.fixture
def customer() -> User:
    return User.objects.create_user(username="ada", password=PASSWORD)


def sign_in(client: Client, **extra):
    return client.post("/account/sign-in/", {"username": "ada", "password": PASSWORD, **extra})


def test_signing_in_without_a_next_page_lands_on_the_product_list(customer):
    response = sign_in(Client())

    assert (response.status_code, response["Location"]) == (302, "/")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/"])
def test_an_off_site_next_page_is_refused_for_the_product_list(customer, target):
    response = sign_in(Client(), next=target)

    assert (response.status_code, response["Location"]) == (302, "/")


def test_a_signed_in_customer_sent_to_the_sign_in_page_itself_lands_on_the_product_list(customer):
    # The header's "Sign in" link on the sign-in page points back at it.
    client = Client()
    sign_in(client)

    response = client.get("/account/sign-in/?next=/account/sign-in/")

    assert (response.status_code, response["Location"]) == (302, "/")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/account/sign-in/", "/account/sign-out/"])
def test_signing_in_or_out_waits_for_the_sessions_page_in_progress(customer, path):
    """A product page of the session still being rendered logs its view after it; signing in
    meanwhile moved the anonymous visitor's events to the customer and forgot the visitor, so
    that view stayed under an id nobody holds, out of reach of the export and the erasure."""
    add_product("MUG-1", "Red mug")
    shopper = Client()
    shopper.get("/products/MUG-1/")  # the visit's session
    if path.endswith("sign-out/"):
        sign_in(shopper)
    credentials = {"username": "ada", "password": PASSWORD}

    def sign_in_or_out(tab) -> bool:
        return tab.post(path, credentials).status_code == 302

    # A page of this session in progress.
    key = shopper.cookies["sessionid"].value
    assert waits_for_its_turn(key, sign_in_or_out) == (True, True)
