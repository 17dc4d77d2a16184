"""A strip link's signed token names its impression and the product it showed: a click counts
against the impression, the shopper lands on that product's page even once the impression is
gone (erasure, retention), a tampered token is refused, and a browser's prefetch counts nothing."""

import datetime as dt
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from behaviour.services import erasure_guard
from experiments.models import Click, Impression
from experiments.services import impressions_retention_enforce
from experiments.sessions import SHOPPER_KEY
from experiments.tokens import SIGNING_SALT, click_token
from experiments.views import BAD_LINK, PREFETCH_REFUSED
from storefront.shopper import VISITOR_KEY

pytestmark = pytest.mark.django_db

FIRST_SIMILAR = "BAR-0-0"  # SQUARE-0-0's first similar item on the active version


def first_link(client) -> tuple[str, Impression]:
    """The click URL of SQUARE-0-0's first similar item, and its logged impression."""
    url = client.get("/products/SQUARE-0-0/").context["similar"][0].click_url
    return url, Impression.objects.get(widget="similar", position=1)


def visitor_erase_by_hash(visitor: str) -> None:
    """A tombstone for the visitor, as their erasure leaves (by hash: the test has no raw id)."""
    erasure_guard.tombstone_record(visitor)


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


def test_a_click_counts_against_its_impression_and_leads_to_its_product(client, shop):
    url, impression = first_link(client)

    response = client.get(url)

    assert (response.status_code, response["Location"]) == (302, f"/products/{FIRST_SIMILAR}/")
    assert list(Click.objects.values_list("impression", flat=True)) == [impression.pk]


def test_after_the_shoppers_erasure_a_link_leads_to_its_product_uncounted(client, shop):
    url, impression = first_link(client)
    # What an erasure does to the A/B log: the session's impressions go with their clicks.
    assert Impression.objects.filter(session_hash=impression.session_hash).delete()[0] > 0

    response = client.get(url)

    assert (response.status_code, response["Location"]) == (302, f"/products/{FIRST_SIMILAR}/")
    assert (Impression.objects.count(), Click.objects.count()) == (0, 0)


def test_after_retention_a_link_still_valid_leads_to_its_product_uncounted(client, shop, settings):
    url, _ = first_link(client)
    settings.PRODSIM_EVENT_RETENTION_DAYS = 1  # shorter than a link's life (7 days)
    assert impressions_retention_enforce(now=timezone.now() + dt.timedelta(days=2)) > 0

    response = client.get(url)

    assert (response.status_code, response["Location"]) == (302, f"/products/{FIRST_SIMILAR}/")
    assert Click.objects.count() == 0


def test_a_token_naming_another_product_is_refused(client, shop):
    url, impression = first_link(client)
    other = shop.products["FRAME-0-1"].pk
    _, timestamp, signature = token_of(url).split(":")
    payload = signing.dumps([impression.pk, other], salt=SIGNING_SALT).split(":")[0]
    tampered = [
        f"{payload}:{timestamp}:{signature}",  # the product swapped under the old signature
        signing.dumps([impression.pk, other], salt=SIGNING_SALT, key="not-the-secret"),
        signing.dumps([impression.pk, "https://evil.example/"], salt=SIGNING_SALT),
        signing.dumps([impression.pk, True], salt=SIGNING_SALT),
        signing.dumps([impression.pk, other, other], salt=SIGNING_SALT),
    ]
    impression.delete()  # the token alone would decide where to go

    for token in tampered:
        response = client.get("/r/", {"t": token})
        assert (token, response.status_code, response.content.decode()) == (token, 400, BAD_LINK)
    assert Click.objects.count() == 0


def test_the_target_is_the_product_the_server_put_in_the_token(client, shop):
    """Only the server mints tokens: the product it names is where the link goes, no URL."""
    product = shop.products["FRAME-0-1"]
    token = click_token(impression_id=10**9, product_id=product.pk)  # no such impression

    response = client.get("/r/", {"t": token})

    assert (response.status_code, response["Location"]) == (302, "/products/FRAME-0-1/")


def test_a_link_minted_before_tokens_named_their_product_still_counts(client, shop):
    _, impression = first_link(client)
    legacy = signing.dumps(impression.pk, salt=SIGNING_SALT)

    assert client.get("/r/", {"t": legacy})["Location"] == f"/products/{FIRST_SIMILAR}/"
    assert list(Click.objects.values_list("impression", flat=True)) == [impression.pk]
    impression.delete()
    assert client.get("/r/", {"t": legacy}).status_code == 400


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_PURPOSE": "prefetch"},
        {"HTTP_SEC_PURPOSE": "prefetch;prerender"},
        {"HTTP_SEC_PURPOSE": "prefetch;anonymous-client-ip"},
        {"HTTP_PURPOSE": "prefetch"},
    ],
)
def test_a_browser_prefetch_is_refused_so_that_only_the_click_counts(client, shop, headers):
    url, impression = first_link(client)

    prefetch = client.get(url, **headers)

    assert (prefetch.status_code, prefetch.content.decode()) == (503, PREFETCH_REFUSED)
    assert "no-store" in prefetch["Cache-Control"]
    assert Click.objects.count() == 0
    assert client.get(url).status_code == 302  # the shopper's actual click comes through
    assert list(Click.objects.values_list("impression", flat=True)) == [impression.pk]


LINK_PREVIEWER = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"


def test_a_link_previewer_fetching_a_shared_strip_link_counts_no_click(client, shop):
    url, _ = first_link(client)

    response = Client().get(url, HTTP_USER_AGENT=LINK_PREVIEWER)  # pasted into a chat

    assert response.url == f"/products/{FIRST_SIMILAR}/"
    assert Click.objects.count() == 0


def test_a_click_from_a_session_whose_visitor_was_erased_counts_under_no_one(client, shop):
    url, impression = first_link(client)
    stale = client.session[SHOPPER_KEY]["hash"]  # a tab left open, its session not yet forgotten
    visitor_erase_by_hash(stale)
    Impression.objects.filter(pk=impression.pk).update(session_hash="someone else")

    client.get(url)

    assert Click.objects.get().session_hash == ""


@pytest.mark.django_db(transaction=True)
def test_a_click_while_its_shoppers_erasure_runs_waits_for_it_and_is_not_a_500(shop):
    from django.db import connections, transaction

    from behaviour.services.visitors import visitor_erase

    shopper = Client()
    url, _ = first_link(shopper)
    visitor = shopper.session[VISITOR_KEY]
    answered = {}

    def click():
        try:
            answered["status"] = Client(raise_request_exception=True).get(url).status_code
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            answered["error"] = repr(exc)
        finally:
            connections.close_all()

    with transaction.atomic():  # the erasure, not yet committed when the click arrives
        visitor_erase(visitor_id=visitor)
        clicker = threading.Thread(target=click)
        clicker.start()
        clicker.join(1.5)
    clicker.join(20)

    assert answered == {"status": 302}
    assert not Impression.objects.exists() and not Click.objects.exists()
