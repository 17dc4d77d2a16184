"""Server-side impressions and clicks of the product and home page widgets."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext

from behaviour.visitors import visitor_hash
from catalog.models import Product
from experiments.models import Click, Impression
from experiments.tokens import LINK_MAX_AGE_S, SIGNING_SALT, click_token
from experiments.views import BAD_LINK

pytestmark = pytest.mark.django_db

SQUARE_SIMILAR = ["BAR-0-0", "BAR-0-1", "CROSS-0-0", "CROSS-0-1", "FRAME-0-0", "FRAME-0-1"]


def shown(response, widget: str) -> list[str]:
    return [item.product.sku for item in response.context[widget]]


def rows(**filters) -> list[tuple]:
    return list(
        Impression.objects.filter(**filters)
        .order_by("widget", "position")
        .values_list("widget", "position", "shown_product__sku", "model_version", "arm")
    )


def test_a_product_page_logs_its_similar_strip_in_one_insert(client, shop):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/products/SQUARE-0-0/")

    assert shown(response, "similar") == SQUARE_SIMILAR
    assert rows(widget="similar") == [
        ("similar", position, sku, shop.active.pk, "")
        for position, sku in enumerate(SQUARE_SIMILAR, start=1)
    ]
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "experiments_')]
    assert len(inserts) == 1
    source = shop.products["SQUARE-0-0"].pk
    assert set(Impression.objects.values_list("source_product", flat=True)) == {source}


def test_rows_carry_the_hashed_visitor_id_never_the_key(client, shop):
    client.get("/products/SQUARE-0-0/")
    key = client.cookies["sessionid"].value  # the page created the visitor's session
    shopper = client.session["visitor_id"]  # the random id the events and arms know them by

    hashes = set(Impression.objects.values_list("session_hash", flat=True))
    assert hashes == {visitor_hash(shopper)}
    assert not Impression.objects.filter(session_hash__contains=key).exists()
    assert not Impression.objects.filter(session_hash__contains=shopper).exists()


def test_history_widgets_are_logged_on_product_and_home_pages(client, shop):
    client.get("/products/CROSS-0-0/")
    Impression.objects.all().delete()

    client.get("/products/BAR-0-0/")
    recommended = rows(widget="recommended")
    assert [r[1] for r in recommended] == list(range(1, len(recommended) + 1))
    assert {r[3] for r in recommended} == {shop.active.pk}
    assert rows(widget="recently_viewed") == [("recently_viewed", 1, "CROSS-0-0", None, "")]

    Impression.objects.all().delete()
    response = client.get("/")
    assert rows(widget="recently_viewed") == [
        ("recently_viewed", 1, "BAR-0-0", None, ""),
        ("recently_viewed", 2, "CROSS-0-0", None, ""),
    ]
    assert [r[2] for r in rows(widget="recommended")] == shown(response, "recommended")
    assert set(Impression.objects.values_list("source_product", flat=True)) == {None}


def test_a_new_visitor_on_the_home_page_logs_nothing_and_gets_no_session(client, shop):
    client.get("/")
    assert Impression.objects.count() == 0
    assert "sessionid" not in client.cookies


def test_links_go_through_the_click_endpoint_and_each_click_is_a_row(client, shop):
    response = client.get("/products/SQUARE-0-0/")
    third = response.context["similar"][2]
    assert third.click_url.startswith("/r/?t=")
    assert f'href="{third.click_url}" rel="nofollow"' in response.content.decode()

    for _ in range(3):
        click = client.get(third.click_url)
        assert click.status_code == 302
        assert click["Location"] == "/products/CROSS-0-0/"
        assert "no-store" in click["Cache-Control"]

    impression = Impression.objects.get(widget="similar", position=3)
    assert Click.objects.filter(impression=impression).count() == 3
    assert Click.objects.count() == 3
    assert set(Click.objects.values_list("session_hash", flat=True)) == {
        visitor_hash(client.session["visitor_id"])
    }


def test_a_click_without_a_session_is_still_counted(client, shop):
    url = client.get("/products/SQUARE-0-0/").context["similar"][0].click_url
    client.cookies.clear()
    assert client.get(url).status_code == 302
    assert list(Click.objects.values_list("session_hash", flat=True)) == [""]


def forged_links(impression_id: int) -> list[str]:
    valid = click_token(impression_id=impression_id, product_id=1)
    value, timestamp, signature = valid.split(":")
    return [
        "/r/",
        "/r/?t=",
        "/r/?t=garbage",
        f"/r/?t={valid[:-2]}",  # truncated signature
        f"/r/?t={signing.dumps(impression_id, salt='another purpose')}",
        f"/r/?t={signing.dumps(impression_id, salt=SIGNING_SALT, key='not-the-secret')}",
        f"/r/?t={signing.dumps('https://evil.example/', salt=SIGNING_SALT)}",
        f"/r/?t={signing.dumps({'i': impression_id}, salt=SIGNING_SALT)}",
        # Minted before tokens named their product, its impression gone: it leads nowhere.
        f"/r/?t={signing.dumps(impression_id + 10_000, salt=SIGNING_SALT)}",
    ]


def test_forged_or_unknown_links_are_400_and_log_nothing(client, shop):
    response = client.get("/products/SQUARE-0-0/")
    impression_id = Impression.objects.get(widget="similar", position=1).pk
    for url in forged_links(impression_id):
        bad = client.get(url)
        assert (url, bad.status_code, bad.content.decode()) == (url, 400, BAD_LINK)
    assert Click.objects.count() == 0
    assert client.get(response.context["similar"][0].click_url).status_code == 302


def test_expired_links_lead_to_their_product_and_count_nothing(client, shop, monkeypatch):
    """They answered a plain-text 400: a tab left open a week, or a copied link, was a dead end."""
    client.get("/products/SQUARE-0-0/")
    impression = Impression.objects.get(widget="similar", position=1)
    issued = time.time() - LINK_MAX_AGE_S - 60
    monkeypatch.setattr(signing.time, "time", lambda: issued)
    old = click_token(impression_id=impression.pk, product_id=impression.shown_product_id)
    legacy = signing.dumps(impression.pk, salt=SIGNING_SALT)  # names no product
    monkeypatch.undo()

    response = client.get("/r/", {"t": old})
    by_impression = client.get("/r/", {"t": legacy})

    assert response.status_code == by_impression.status_code == 302
    assert response["Location"] == impression.shown_product.get_absolute_url()
    assert by_impression["Location"] == response["Location"]
    assert Click.objects.count() == 0
    impression.delete()  # a legacy link whose impression is gone leads nowhere
    assert client.get("/r/", {"t": legacy}).status_code == 400


def test_a_click_on_a_product_whose_sku_names_no_page_leads_to_its_search(client, shop):
    """A SKU stored before "/" was refused (catalog.checks) made the redirect a 500."""
    client.get("/products/SQUARE-0-0/")
    impression = Impression.objects.get(widget="similar", position=1)
    Product.objects.filter(pk=impression.shown_product_id).update(sku="SLASH/001")
    token = click_token(impression_id=impression.pk, product_id=impression.shown_product_id)

    response = client.get("/r/", {"t": token})

    assert (response.status_code, response["Location"]) == (302, "/?q=SLASH%2F001")
    assert Click.objects.count() == 1


def test_the_click_endpoint_accepts_only_get(client, shop):
    url = client.get("/products/SQUARE-0-0/").context["similar"][0].click_url
    token = parse_qs(urlsplit(url).query)["t"][0]
    assert client.post("/r/", {"t": token}).status_code == 405
    assert Click.objects.count() == 0
