"""The behaviour endpoints of API v1: events in, lists out, a shopper's export and erasure."""

import unicodedata

import pytest

from behaviour.models import Event
from behaviour.services.refresh import behaviour_refresh
from behaviour.services.validation import ERROR_UNKNOWN_SKU
from partners.models import PartnerApiKey
from similarity.models import MerchandisingRule
from tests.catalog.factories import product

from .factories import event, order

pytestmark = pytest.mark.django_db


def post_events(client, events):
    return client.post("/api/v1/events/", {"events": events}, content_type="application/json")


def test_a_batch_is_answered_event_by_event(partner_client):
    product(sku="A")
    good, unknown = event("A", "alice"), event("NOPE", "alice")

    response = post_events(partner_client, [good, unknown])
    again = post_events(partner_client, [good])

    assert response.status_code == 200
    assert response.json() == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": 1,
        "events": [
            {"index": 0, "event_id": good["event_id"], "status": "accepted", "reason": ""},
            {
                "index": 1,
                "event_id": unknown["event_id"],
                "status": "rejected",
                "reason": ERROR_UNKNOWN_SKU.format(sku="NOPE"),
            },
        ],
    }
    assert again.json()["duplicates"] == 1


@pytest.mark.parametrize(
    "body, message",
    [
        ({"events": []}, "the batch holds no events"),
        ({"events": {}}, 'the body must be {"events": [...]}'),
        ([], 'the body must be {"events": [...]}'),
    ],
)
def test_a_body_that_is_no_batch_is_a_400_with_the_reason(partner_client, body, message):
    response = partner_client.post("/api/v1/events/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"events": [message]}


def test_a_batch_over_1000_events_is_refused_whole(partner_client):
    product(sku="A")
    response = post_events(partner_client, [event("A") for _ in range(1001)])

    assert response.status_code == 400
    assert response.json()["errors"] == {"events": ["a batch holds at most 1000 events"]}


def test_malformed_json_is_a_400(partner_client):
    response = partner_client.post(
        "/api/v1/events/", '{"events": [', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_read_keys_may_not_send_events_nor_export_a_shopper(client):
    _, key = PartnerApiKey.objects.create_key(name="reader", scope="read")
    client.defaults["HTTP_AUTHORIZATION"] = f"Api-Key {key}"

    assert post_events(client, [event("A")]).status_code == 403
    assert client.get("/api/v1/visitors/alice/export/").status_code == 403
    assert client.delete("/api/v1/visitors/alice/").status_code == 403


def test_bought_together_serves_the_refreshed_pairs_first_then_fills_k(partner_client):
    for sku in "ABCDE":
        product(sku=sku, title=f"Product {sku}")
    for number in range(3):
        post_events(partner_client, order(["A", "B"], f"v{number}", f"o{number}"))
    post_events(partner_client, order(["C", "D"], "v9", "o9"))
    behaviour_refresh()

    response = partner_client.get("/api/v1/products/A/bought-together/?k=3&explain=true")

    body = response.json()
    assert response.status_code == 200
    assert (body["k_requested"], body["k_returned"]) == (3, 3)
    first = body["results"][0]
    assert (first["sku"], first["tier"]) == ("B", "bought_together")
    assert first["explain"]["why"] == "Bought together in 3 orders in the last 90 days"
    assert [item["tier"] for item in body["results"][1:]] == ["trending", "trending"]
    assert "A" not in [item["sku"] for item in body["results"]]


def test_a_refresh_invalidates_cached_lists(partner_client, django_capture_on_commit_callbacks):
    for sku in "ABC":
        product(sku=sku)
    url = "/api/v1/trending/?k=1"
    post_events(partner_client, order(["B"], "v1", "o1"))
    behaviour_refresh()
    first = partner_client.get(url)
    cached = partner_client.get(url)
    post_events(partner_client, order(["C"], "v2", "o2") + order(["C"], "v3", "o3"))
    with django_capture_on_commit_callbacks(execute=True):  # the cache is bumped after commit
        behaviour_refresh()

    fresh = partner_client.get(url)

    assert (first["X-Cache"], cached["X-Cache"], fresh["X-Cache"]) == ("miss", "hit", "miss")
    assert first.json()["results"][0]["sku"] == "B"
    assert fresh.json()["results"][0]["sku"] == "C"


def test_trending_ranks_recent_purchases(partner_client):
    for sku in "ABC":
        product(sku=sku)
    post_events(partner_client, order(["B"], "v1", "o1") + order(["B"], "v2", "o2"))
    post_events(partner_client, order(["C"], "v3", "o3"))
    behaviour_refresh()

    body = partner_client.get("/api/v1/trending/?k=3").json()

    assert [(item["sku"], item["tier"]) for item in body["results"]] == [
        ("B", "trending"),
        ("C", "trending"),
        ("A", "category_newest"),
    ]


def test_a_boost_reorders_trending_and_explain_says_by_how_much(partner_client):
    product(sku="B")
    product(sku="C", brand="Acme")
    post_events(partner_client, order(["B"], "v1", "o1") + order(["B"], "v2", "o2"))
    post_events(partner_client, order(["C"], "v3", "o3"))
    behaviour_refresh()
    MerchandisingRule.objects.create(kind="boost", brand="acme", factor=4)

    body = partner_client.get("/api/v1/trending/?k=2&explain=true").json()

    assert [item["sku"] for item in body["results"]] == ["C", "B"]
    assert body["results"][0]["explain"]["merchandising"] == 4
    assert "merchandising" not in body["results"][1]["explain"]  # nothing matched it


def test_a_shopper_is_exported_then_erased(partner_client):
    product(sku="A")
    sent = event("A", "alice", "purchase", order_id="o1")
    post_events(partner_client, [sent])

    exported = partner_client.get("/api/v1/visitors/alice/export/").json()["events"]
    erased = partner_client.delete("/api/v1/visitors/alice/").json()

    assert [(e["event_id"], e["sku"], e["kind"], e["order_id"]) for e in exported] == [
        (sent["event_id"], "A", "purchase", "o1")
    ]
    assert erased == {"events_deleted": 1}
    assert partner_client.get("/api/v1/visitors/alice/export/").json() == {
        "events": [],
        "impressions": [],
        "clicks": [],
    }


def test_an_overlong_order_id_costs_only_its_event(partner_client):
    product(sku="A")
    good, bad = event("A", "alice"), event("A", "alice", "purchase", order_id="x" * 201)

    body = post_events(partner_client, [good, bad]).json()

    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert "order_id is longer than 200 characters" in str(body)


def test_a_visitor_id_with_a_slash_is_refused_with_the_reason(partner_client):
    product(sku="A")

    body = post_events(partner_client, [event("A", "shop/42")]).json()

    assert body["rejected"] == 1 and 'visitor_id contains "/"' in str(body)


def test_bought_together_leaves_out_a_blocked_partner_and_still_fills_k(partner_client):
    items = {sku: product(sku=sku, title=f"Product {sku}") for sku in "ABCDE"}
    for number in range(3):
        post_events(partner_client, order(["A", "B"], f"v{number}", f"o{number}"))
    behaviour_refresh()
    MerchandisingRule.objects.create(kind="block", target_product=items["B"])

    body = partner_client.get("/api/v1/products/A/bought-together/?k=3").json()

    assert "B" not in [item["sku"] for item in body["results"]]
    assert body["k_returned"] == 3


@pytest.mark.parametrize("path", ["bought-together", "also-viewed"])
def test_a_list_of_partners_leaves_out_the_sources_own_variants(partner_client, path):
    for sku in "AB":  # one mug in two colours, often bought and viewed together
        product(sku=sku, title=f"Mug {sku}", group_id="mug")
    for sku in "CD":
        product(sku=sku, title=f"Product {sku}")
    for number in range(3):
        views = [event(sku, f"v{number}") for sku in "AB"]
        post_events(partner_client, order(["A", "B"], f"v{number}", f"o{number}") + views)
    behaviour_refresh()

    body = partner_client.get(f"/api/v1/products/A/{path}/?k=2").json()

    assert "B" not in [item["sku"] for item in body["results"]]
    assert body["k_returned"] == 2


def test_one_shopper_sent_in_either_unicode_form_is_one_visitor(partner_client):
    # A web front end sends "zoé" composed (NFC); a file saved on macOS has it decomposed.
    product(sku="A")
    nfc = "zo\u00e9"
    post_events(partner_client, [event("A", nfc), event("A", unicodedata.normalize("NFD", nfc))])

    assert Event.objects.values("visitor").distinct().count() == 1
    exported = partner_client.get(f"/api/v1/visitors/{nfc}/export/").json()["events"]
    assert len(exported) == 2


def test_spaces_around_a_visitor_id_name_the_same_shopper_in_every_path(partner_client):
    product(sku="A")
    post_events(partner_client, [event("A", " alice "), event("A", "alice")])

    erased = partner_client.delete("/api/v1/visitors/%20alice/").json()

    assert erased == {"events_deleted": 2}


def test_the_export_keeps_events_of_a_product_deleted_since(partner_client):
    from catalog.services.products import product_delete

    product(sku="A"), product(sku="B")
    post_events(partner_client, [event("A", "alice", days_ago=2), event("B", "alice")])
    product_delete(sku="B")

    exported = partner_client.get("/api/v1/visitors/alice/export/").json()["events"]

    assert [row["sku"] for row in exported] == ["A", "B"]  # the SKU it had


def test_spaces_around_a_sku_are_stripped_as_an_event_file_strips_its_cells(partner_client):
    stored = product(sku="A")
    sent = [event(" A ", "alice"), event("A\xa0", "bob"), event("   ", "carol")]

    body = post_events(partner_client, sent).json()

    outcomes = [(item["status"], item["reason"]) for item in body["events"]]
    assert outcomes == [("accepted", ""), ("accepted", ""), ("rejected", "sku is required")]
    assert list(Event.objects.values_list("product_id", flat=True)) == [stored.pk] * 2


def test_spaces_around_an_order_id_are_stripped_as_an_event_file_strips_its_cells(
    partner_client,
):
    """ " 536365" from the API and 536365 from a file were two orders: two baskets where the shop
    had one, and bought together counted apart."""
    product(sku="A"), product(sku="B")
    sent = [
        event("A", "alice", "purchase", order_id=" 536365 "),
        event("B", "alice", "purchase", order_id="536365"),
    ]

    assert post_events(partner_client, sent).json()["accepted"] == 2

    assert set(Event.objects.values_list("order_id", flat=True)) == {"536365"}


def test_an_event_names_a_product_by_its_sku_in_either_unicode_form(partner_client):
    # macOS tools write accents decomposed (NFD), web front ends send them composed (NFC).
    nfc = "CAF\u00c9-1"
    stored = product(sku=nfc)
    sent = [event(unicodedata.normalize("NFD", nfc), "alice"), event(nfc, "bob")]

    body = post_events(partner_client, sent).json()

    assert (body["accepted"], body["rejected"]) == (2, 0)
    assert list(Event.objects.values_list("product_id", flat=True)) == [stored.pk] * 2


def test_an_integer_too_long_to_convert_costs_only_its_event(partner_client):
    """Python refuses to convert integers of more than 4,300 digits; such a quantity is out of
    range for its event, as 1e400 is, and the valid event beside it is stored."""
    import json

    from behaviour.services.validation import ERROR_QUANTITY

    product(sku="A")
    huge, fine = order(["A"], "me", "o1"), order(["A"], "me", "o2")
    text = json.dumps({"events": [*huge, *fine]}).replace('"quantity": 1', '"quantity": Q', 1)
    body = text.replace("Q", "9" * 5000)

    response = partner_client.post("/api/v1/events/", body, content_type="application/json")

    assert response.status_code == 200, response.content[:300]
    assert [(o["status"], o["reason"]) for o in response.json()["events"]] == [
        ("rejected", ERROR_QUANTITY),
        ("accepted", ""),
    ]
