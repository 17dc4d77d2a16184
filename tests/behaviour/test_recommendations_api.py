"""GET /api/v1/visitors/{id}/recommendations/: the visitor's own events, read at request time."""

import pytest
from django.core.cache import cache

from behaviour import cache as behaviour_cache
from behaviour.ml.sequence.signals import SERVED_HISTORY_EVENTS as HISTORY_EVENTS
from behaviour.models import ProductPopularity
from behaviour.selectors.recommendations import recommended_for, visitor_history
from behaviour.selectors.recommendations.fusion import DEFAULT_WEIGHTS
from behaviour.selectors.recommendations.history import bought_ever
from behaviour.services.visitors import visitor_erase
from behaviour.visitors import ERROR_VISITOR_TOO_LONG, visitor_hash
from catalog.models import Product
from partners.models import PartnerApiKey
from similarity.api.serializers import ERROR_NO_DIVERSITY
from similarity.models import MerchandisingRule
from similarity.selectors import SimilarQuery
from tests.catalog.factories import product

from .factories import event, order, recommendations, shop

pytestmark = pytest.mark.django_db


def post_events(client, events):
    response = client.post("/api/v1/events/", {"events": events}, content_type="application/json")
    assert response.json()["rejected"] == 0
    return response


def results(response) -> list[tuple[str, str]]:
    return [(item["sku"], item["tier"]) for item in response.json()["results"]]


def test_a_buyer_gets_the_partners_of_what_they_bought_explained(partner_client):
    shop()
    post_events(partner_client, order(["A"], "me", "mine", days_ago=0.5))

    response = recommendations(partner_client, "me")

    body = response.json()
    assert response.status_code == 200
    assert (body["k_requested"], body["k_returned"]) == (3, 3)
    assert sorted(results(response)[:2]) == [("A", "personal"), ("B", "personal")]
    assert results(response)[2][1] == "trending"
    explained = {item["sku"]: item["explain"] for item in body["results"][:2]}
    share = DEFAULT_WEIGHTS["cooccurrence"] / (
        DEFAULT_WEIGHTS["cooccurrence"] + DEFAULT_WEIGHTS["repeat"]
    )
    assert explained["B"]["why"] == "Because you bought Product A"
    assert explained["B"]["because"] == {"cooccurrence": "A"}
    assert explained["B"]["contributions"] == {"cooccurrence": round(share, 6)}
    assert explained["A"]["why"] == "You bought this before"
    assert explained["A"]["signals"] == {"repeat": 1.0}
    assert [item["score"] for item in body["results"][:2]] == sorted(
        [round(share, 6), round(1 - share, 6)], reverse=True
    )


def test_without_repeats_what_the_visitor_bought_is_never_recommended(partner_client, settings):
    settings.PRODSIM_RECOMMEND_REPEATS = False
    shop()
    post_events(partner_client, order(["A"], "me", "mine", days_ago=0.5))

    skus = [sku for sku, _ in results(recommendations(partner_client, "me", "k=4"))]

    assert skus[0] == "B"
    assert "A" not in skus and len(skus) == 4


@pytest.mark.parametrize("kind", ["purchase", "add_to_cart"])
def test_without_repeats_what_was_bought_before_the_newest_events_read_stays_out(
    partner_client, settings, kind
):
    # The README's "already bought" is the repeat signal's: bought or put in the basket.
    settings.PRODSIM_RECOMMEND_REPEATS = False
    shop()
    for number in range(HISTORY_EVENTS + 5):
        product(sku=f"V{number:02}", title=f"Viewed {number}")
    # B, the best seller trending would fill with, bought or basketed before a long browse.
    browse = [
        event(f"V{number:02}", "me", days_ago=5 - number / 100)
        for number in range(HISTORY_EVENTS + 5)
    ]
    post_events(partner_client, [event("B", "me", kind, days_ago=10), *browse])

    response = recommendations(partner_client, "me", "k=3")
    # The A/B test's "without repeats" arm, with repeats on in the settings.
    settings.PRODSIM_RECOMMEND_REPEATS = True
    arm = recommended_for(visitor=visitor_hash("me"), query=SimilarQuery(k=3), repeats=False)

    assert visitor_history(visitor=visitor_hash("me")).bought == {}  # B is past the events read
    assert results(response) == [("A", "trending"), ("D", "trending"), ("C", "trending")]
    assert [item.product.sku for item in arm.items] == ["A", "D", "C"]


def test_a_history_read_whole_costs_no_second_query_for_what_was_bought(
    partner_client, django_assert_num_queries
):
    shop()
    post_events(partner_client, order(["A"], "me", "mine") + [event("C", "me")])
    history = visitor_history(visitor=visitor_hash("me"))

    with django_assert_num_queries(0):
        bought = bought_ever(history)

    assert bought == {Product.objects.get(sku="A").pk}


def test_turning_repeats_off_is_never_answered_from_lists_cached_with_them(
    partner_client, settings
):
    # A restart applies the setting; Valkey, and the lists cached under the old value, outlive it.
    shop()
    post_events(partner_client, order(["A"], "me", "mine", days_ago=0.5))
    settings.PRODSIM_RECOMMEND_REPEATS = True
    assert "A" in [sku for sku, _ in results(recommendations(partner_client, "me", "k=3"))]

    settings.PRODSIM_RECOMMEND_REPEATS = False
    response = recommendations(partner_client, "me", "k=3")

    assert response["X-Cache"] == "miss"
    assert "A" not in [sku for sku, _ in results(response)]


def test_a_visitor_without_events_gets_trending_that_says_so(partner_client):
    shop()

    response = recommendations(partner_client, "newcomer", "k=5&explain=true")

    tiers = [tier for _, tier in results(response)]
    assert tiers == ["trending_no_history"] * 4 + ["category_newest"]
    assert response.json()["results"][0]["explain"]["why"] == "Trending: no history of yours yet"


def test_a_new_event_of_the_visitor_changes_the_next_answer(partner_client):
    shop()
    post_events(partner_client, order(["A"], "me", "mine", days_ago=0.5))
    url_query = "k=5"
    first = recommendations(partner_client, "me", url_query)
    cached = recommendations(partner_client, "me", url_query)

    post_events(partner_client, [event("C", "me", "view", days_ago=0.1)])
    fresh = recommendations(partner_client, "me", url_query)

    assert (first["X-Cache"], cached["X-Cache"], fresh["X-Cache"]) == ("miss", "hit", "miss")
    assert "C" in [sku for sku, _ in results(first)]
    # A viewed product is not recommended back (the recently viewed strip shows it); its partner D
    # is, ahead of trending.
    assert "C" not in [sku for sku, _ in results(fresh)]
    assert ("D", "personal") in results(fresh)


def test_filters_apply_to_personal_items(partner_client):
    shop()
    post_events(partner_client, order(["A"], "me", "mine", days_ago=0.5))

    skus = [sku for sku, _ in results(recommendations(partner_client, "me", "k=3&exclude=B"))]

    assert "B" not in skus and skus[0] == "A"


def test_global_merchandising_rules_apply_to_personal_items_and_keep_k(partner_client):
    shop()
    post_events(partner_client, order(["A"], "me", "mine", days_ago=0.5))
    B, E = Product.objects.get(sku="B"), Product.objects.get(sku="E")
    MerchandisingRule.objects.create(kind="block", target_product=B)
    MerchandisingRule.objects.create(kind="pin", target_product=E, position=1)

    found = results(recommendations(partner_client, "me"))

    assert found[0] == ("E", "pinned") and ("A", "personal") in found
    assert "B" not in [sku for sku, _ in found] and len(found) == 3


def test_only_write_keys_may_ask_for_a_shoppers_recommendations(client):
    _, read_key = PartnerApiKey.objects.create_key(name="reader", scope="read")
    _, write_key = PartnerApiKey.objects.create_key(name="writer", scope="write")

    anonymous = recommendations(client, "me")
    client.defaults["HTTP_AUTHORIZATION"] = f"Api-Key {read_key}"
    reader = recommendations(client, "me")
    client.defaults["HTTP_AUTHORIZATION"] = f"Api-Key {write_key}"
    writer = recommendations(client, "me")

    assert anonymous.status_code in (401, 403)
    assert reader.status_code == 403  # they show what the shopper bought, as the export does
    assert writer.status_code == 200


def test_an_invalid_visitor_id_is_a_400_with_the_reason(partner_client):
    response = recommendations(partner_client, "x" * 201)

    assert response.status_code == 400
    assert response.json()["errors"] == {"visitor_id": [ERROR_VISITOR_TOO_LONG]}


def test_an_older_event_sent_late_also_changes_the_next_answer(partner_client):
    shop()
    post_events(partner_client, order(["A"], "me", "mine", days_ago=0.5))
    first = recommendations(partner_client, "me", "k=5")

    post_events(partner_client, [event("C", "me", "view", days_ago=30)])  # before the newest
    fresh = recommendations(partner_client, "me", "k=5")

    assert (first["X-Cache"], fresh["X-Cache"]) == ("miss", "miss")
    assert "C" not in [sku for sku, _ in results(fresh)]


def test_the_history_counts_every_event_but_reads_the_newest(partner_client):
    from behaviour.selectors.recommendations import visitor_history
    from behaviour.visitors import visitor_hash

    shop()
    post_events(partner_client, [event("A", "me", days_ago=d) for d in (3, 2, 1)])

    history = visitor_history(visitor=visitor_hash("me"), limit=2)

    assert history.total == 3 and len(history.events) == 2
    assert history.events[0].occurred_at < history.events[1].occurred_at  # oldest first
    oldest, newest = (event.occurred_at.timestamp() for event in history.events)
    assert history.marker == f"3:{oldest}:{newest}"


def test_a_late_event_as_an_old_one_leaves_retention_changes_the_next_answer(
    partner_client, settings
):
    """The count and the newest time stay the same: the oldest time read tells them apart."""
    shop()
    settings.PRODSIM_EVENT_RETENTION_DAYS = 400
    post_events(partner_client, [event("A", "me", days_ago=10), event("E", "me", days_ago=1)])
    first = recommendations(partner_client, "me", "k=5")

    settings.PRODSIM_EVENT_RETENTION_DAYS = 5  # time passes: the day-10 view leaves retention
    post_events(partner_client, [event("C", "me", "view", days_ago=2)])
    fresh = recommendations(partner_client, "me", "k=5")

    assert (first["X-Cache"], fresh["X-Cache"]) == ("miss", "miss")
    assert "C" not in [sku for sku, _ in results(fresh)]


def test_what_the_shop_still_sells_comes_back_before_what_it_no_longer_does(partner_client):
    shop()
    ProductPopularity.objects.filter(product__sku="D").update(score=8.0)  # E: not sold lately
    post_events(partner_client, order(["E"], "me", "first", days_ago=3))
    post_events(partner_client, order(["E", "D"], "me", "second", days_ago=2))

    body = recommendations(partner_client, "me", "k=5&explain=true").json()

    repeat = {
        item["sku"]: item["explain"]["signals"]["repeat"]
        for item in body["results"]
        if "repeat" in item["explain"].get("signals", {})
    }
    # E bought twice and no longer trending (x sqrt(1)), D once and trending (x sqrt(1 + 8))
    assert repeat == {"D": 1.0, "E": pytest.approx(2 / 3, abs=1e-6)}


def test_an_erasure_deletes_the_visitors_cached_answers_and_no_one_elses(
    partner_client, django_capture_on_commit_callbacks
):
    shop()
    for visitor in ("me", "you"):
        post_events(partner_client, order(["A"], visitor, f"{visitor}-order", days_ago=0.5))
        assert recommendations(partner_client, visitor)["X-Cache"] == "miss"
    mine = cache.make_key(f"*{behaviour_cache.VISITOR_MARK}{visitor_hash('me')}")
    client = cache._cache.get_client()
    assert list(client.scan_iter(match=mine))

    with django_capture_on_commit_callbacks(execute=True):
        assert visitor_erase(visitor_id="me") == 1

    assert not list(client.scan_iter(match=mine))
    assert recommendations(partner_client, "you")["X-Cache"] == "hit"


def test_an_erasure_stands_when_the_cache_is_down(
    partner_client, django_capture_on_commit_callbacks, monkeypatch
):
    shop()
    post_events(partner_client, order(["A"], "me", "mine", days_ago=0.5))

    def cache_down(pattern):
        raise ConnectionError("Valkey is down")

    monkeypatch.setattr(cache, "delete_matching", cache_down, raising=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = partner_client.delete("/api/v1/visitors/me/")

    assert response.status_code == 200 and response.json() == {"events_deleted": 1}
    assert results(recommendations(partner_client, "me", "k=1"))[0][1] == "trending_no_history"


@pytest.mark.parametrize(
    ("url", "without"),
    [
        ("/api/v1/trending/", 200),
        ("/api/v1/visitors/v1/recommendations/", 200),
        ("/api/v1/products/P-1/bought-together/", 404),  # no such product: checked after
        ("/api/v1/products/P-1/also-viewed/", 404),
    ],
)
def test_diversity_is_refused_by_the_lists_that_are_not_re_ranked_by_it(
    partner_client, url, without
):
    # Answered as if it were not there, a partner would take the same list for a varied one.
    response = partner_client.get(f"{url}?k=3&diversity=0.3")
    assert response.status_code == 400
    assert response.json()["errors"] == {"diversity": [ERROR_NO_DIVERSITY]}
    assert partner_client.get(f"{url}?k=3").status_code == without


@pytest.mark.parametrize("url", ["/api/v1/trending/", "/api/v1/visitors/v1/recommendations/"])
@pytest.mark.parametrize(
    ("param", "field"), [("category=same", "category"), ("price_band=0.1", "price_band")]
)
def test_filters_relative_to_a_source_product_are_refused_where_there_is_none(
    partner_client, url, param, field
):
    response = partner_client.get(f"{url}?k=3&{param}")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/trending/",
        "/api/v1/visitors/v1/recommendations/",
        "/api/v1/products/A/bought-together/",
        "/api/v1/products/A/also-viewed/",
    ],
)
def test_an_unknown_category_is_a_400_and_a_slug_names_one_as_its_path_does(partner_client, url):
    from catalog.models import Category

    lamps = Category.objects.create(name="Lamps", path="Home > Lamps", slug="home-lamps")
    product(sku="A", title="Product A")
    product(sku="L", title="Lamp", category=lamps)
    for value in ("Home > Lampz", "home-lampz"):
        response = partner_client.get(url, {"k": 3, "category": value})
        assert response.status_code == 400, response.content
        assert list(response.json()["errors"]) == ["category"]
        assert (
            f'no category has the path or slug "{value}"'
            in response.json()["errors"]["category"][0]
        )
    by_path = partner_client.get(url, {"k": 3, "category": "Home > Lamps"})
    by_slug = partner_client.get(url, {"k": 3, "category": "home-lamps"})
    assert (by_path.status_code, by_slug.status_code) == (200, 200)
    assert by_path.json()["results"] == by_slug.json()["results"]
    assert [item["sku"] for item in by_slug.json()["results"]] == ["L"]
