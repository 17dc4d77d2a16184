"""POST /api/v1/recommendations/batch/: many visitors' recommendations in one request, each
as its own GET answers it."""

import pytest

from behaviour.services.ingest import events_record
from behaviour.visitors import ERROR_VISITOR_SLASH
from partners.models import PartnerApiKey
from similarity import cache as similar_cache

from .factories import event, order, recommendations, shop

pytestmark = pytest.mark.django_db

URL = "/api/v1/recommendations/batch/"


def batch(client, visitor_ids, query: str = "k=3"):
    return client.post(f"{URL}?{query}", {"visitor_ids": visitor_ids}, "application/json")


def test_each_visitor_is_answered_as_their_own_request_in_the_order_given(partner_client):
    shop()
    events_record(items=order(["A"], "anna", "o1", days_ago=0.5))
    events_record(items=[event("C", "carl", days_ago=0.2)])
    # No list cached yet. Not the cache's clear(): that is FLUSHDB of the broker database that
    # concurrent test runs share, their queued tasks included, not only this run's keys.
    similar_cache.reset()

    response = batch(partner_client, ["carl", "nobody", "anna"], "k=3&explain=true")

    assert response.status_code == 200 and response["X-Cache"] == "miss"
    visitors = response.json()["visitors"]
    assert [answer["visitor_id"] for answer in visitors] == ["carl", "nobody", "anna"]
    for answer in visitors:
        alone = recommendations(partner_client, answer["visitor_id"], "k=3&explain=true")
        assert alone["X-Cache"] == "hit"  # the batch cached each answer under its own key
        assert {k: v for k, v in answer.items() if k != "visitor_id"} == alone.json()
    assert batch(partner_client, ["carl", "anna"], "k=3&explain=true")["X-Cache"] == "hit"


def test_a_bad_id_gets_its_reason_and_the_others_their_answer(partner_client):
    shop()

    visitors = batch(partner_client, ["anna", "secret/id", ""]).json()["visitors"]

    assert visitors[0]["k_returned"] == 3 and "error" not in visitors[0]
    assert visitors[1] == {"visitor_id": "secret/id", "error": ERROR_VISITOR_SLASH}
    assert "error" in visitors[2] and "results" not in visitors[2]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "visitor_ids"),
        ({"visitor_ids": []}, "visitor_ids"),
        ({"visitor_ids": "anna"}, "visitor_ids"),
    ],
)
def test_a_body_that_is_no_list_of_ids_is_a_400_naming_the_field(partner_client, body, field):
    response = partner_client.post(URL, body, "application/json")

    assert response.status_code == 400 and field in response.json()["errors"]


def test_a_filter_sent_in_the_body_is_a_400_saying_where_it_goes(partner_client):
    """The body's k, in_stock and exclude were dropped without a word (8 products, sold-out and
    excluded ones included); the similar-items batch takes them in its body, this one in its
    query string."""
    shop()

    response = partner_client.post(
        URL, {"visitor_ids": ["anna"], "k": 3, "exclude": ["A"]}, "application/json"
    )

    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {
        "exclude": [
            "the body holds visitor_ids only: send exclude in the query string (?exclude=…)"
        ],
        "k": ["the body holds visitor_ids only: send k in the query string (?k=…)"],
    }


def test_over_100_visitors_or_a_bad_filter_is_refused_before_any_work(partner_client):
    shop()

    too_many = batch(partner_client, [f"v{n}" for n in range(101)])
    unknown = batch(partner_client, ["anna"], "k=3&category=Nowhere")
    relative = batch(partner_client, ["anna"], "k=3&category=same")

    assert too_many.json()["errors"] == {
        "visitor_ids": ["Ensure this field has no more than 100 elements."]
    }
    assert unknown.status_code == 400 and "category" in unknown.json()["errors"]
    assert relative.status_code == 400 and "category" in relative.json()["errors"]


def test_a_read_key_may_not_ask_for_shoppers_recommendations(client):
    _, raw = PartnerApiKey.objects.create_key(name="page", scope="read")

    response = client.post(
        URL, {"visitor_ids": ["anna"]}, "application/json", HTTP_AUTHORIZATION=f"Api-Key {raw}"
    )

    assert response.status_code == 403
