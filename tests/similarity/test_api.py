import pytest

from catalog.models import Product
from similarity import cache as similar_cache
from similarity.services.lexical import lexical_index_rebuild
from tests.catalog.factories import product, shape_catalogue

from .vector_store.factories import store, unit, version

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(partner_client):
    return partner_client


def ranked_catalogue():
    """SQUARE-0-0/1 and BAR-0-0/1 under an active version that puts BAR-0-0, then BAR-0-1
    nearest SQUARE-0-0 (SQUARE-0-1 is its variant): (the version, the products)."""
    products = shape_catalogue(colours=2)[:4]
    active = version(2, status="active")
    store(active, products, [unit(1, 0), unit(0.95, 0.05), unit(0.9, 0.1), unit(0, 1)])
    return active, products


def test_similar_with_explain(partner):
    active, products = ranked_catalogue()

    body = partner.get("/api/v1/products/SQUARE-0-0/similar/", {"k": 3, "explain": "true"}).json()

    assert (body["k_requested"], body["k_returned"], body["model_version"]) == (3, 2, active.pk)
    assert [r["sku"] for r in body["results"]] == ["BAR-0-0", "BAR-0-1"]
    explain = body["results"][0]["explain"]
    assert sum(explain["contributions"].values()) == pytest.approx(
        body["results"][0]["score"], abs=1e-5
    )
    assert set(explain["scores"]) == {"image", "text", "text_learned", "attributes", "price"}


@pytest.mark.parametrize(
    ("params", "status"),
    [({"k": 0}, 400), ({"k": 101}, 400), ({"k": "x"}, 400), ({"explain": "maybe"}, 400)],
)
def test_similar_rejects_bad_parameters(partner, params, status):
    product(sku="A")
    assert partner.get("/api/v1/products/A/similar/", params).status_code == status


def test_repeated_parameters_decode_and_validate_every_time(partner):
    ranked_catalogue()
    Product.objects.filter(sku="BAR-0-1").update(brand="Müller")
    url = "/api/v1/products/SQUARE-0-0/similar/"
    for _ in range(2):  # the second answer comes from the memo of validated parameters
        # Unencoded: the query string reaches the view as WSGI's latin-1 string of UTF-8 bytes.
        body = partner.get(f"{url}?brand=Müller&k=3").json()
        assert [r["sku"] for r in body["results"]] == ["BAR-0-1"]
        assert partner.get(url, {"k": 0}).json()["errors"] == {
            "k": ["Ensure this value is greater than or equal to 1."]
        }


def test_list_parameters_written_with_brackets_filter_as_the_plain_ones(partner):
    # jQuery, axios and PHP write a list as brand[]=A&brand[]=B: never an unfiltered answer.
    ranked_catalogue()
    Product.objects.filter(sku="BAR-0-1").update(brand="Acme")
    Product.objects.filter(sku="BAR-0-0").update(brand="Other")
    url = "/api/v1/products/SQUARE-0-0/similar/?k=3"

    def skus(query: str) -> list[str]:
        return [r["sku"] for r in partner.get(f"{url}&{query}").json()["results"]]

    assert skus("brand[]=Acme") == skus("brand=Acme") == ["BAR-0-1"]
    assert skus("brand[]=Acme&brand[]=Other") == ["BAR-0-0", "BAR-0-1"]
    assert skus("exclude[]=BAR-0-0") == skus("exclude=BAR-0-0") == ["BAR-0-1"]
    assert partner.get(f"{url}&brand[]=" + "x" * 201).status_code == 400


def test_similar_unknown_sku_is_404(partner):
    response = partner.get("/api/v1/products/NOPE/similar/")
    assert (response.status_code, response.json()) == (
        404,
        {"code": "not_found", "message": "no active product with SKU 'NOPE'", "errors": {}},
    )


def test_match_finds_the_same_product_from_another_shop(partner):
    product(sku="S4", title="Sony WH-1000XM4 Wireless Noise Cancelling Headphones", brand="Sony")
    product(sku="S3", title="Sony WH-1000XM3 Wireless Noise Cancelling Headphones", brand="Sony")
    lexical_index_rebuild()

    body = partner.post(
        "/api/v1/match/",
        {"title": "sony noise cancelling headphone", "model_number": "WH1000XM4", "k": 2},
        content_type="application/json",
    ).json()

    assert [r["sku"] for r in body["results"]] == ["S4", "S3"]
    assert body["results"][0]["score"] > body["results"][1]["score"]


def test_match_requires_a_title(partner):
    response = partner.post("/api/v1/match/", {"brand": "Sony"}, content_type="application/json")
    assert (response.status_code, response.json()) == (
        400,
        {
            "code": "invalid",
            "message": "the request is invalid",
            "errors": {"title": ["This field is required."]},
        },
    )


def test_api_requires_a_key(client):
    assert client.get("/api/v1/search/text/", {"q": "mug"}).status_code == 401


def test_similar_lists_are_cached_byte_identically_and_invalidated(
    partner, django_capture_on_commit_callbacks
):
    from similarity.models import MerchandisingRule, ModelVersion
    from similarity.services import model_version_activate

    active, products = ranked_catalogue()
    url = "/api/v1/products/SQUARE-0-0/similar/"

    first, second = partner.get(url, {"k": 3}), partner.get(url, {"k": 3})
    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    assert first.content == second.content
    assert partner.get(url, {"k": 2})["X-Cache"] == "miss"  # other parameters, other entry

    # Editing the product (its price) makes the cached list unreachable once committed.
    with django_capture_on_commit_callbacks(execute=True):
        partner.put(
            "/api/v1/products/SQUARE-0-0/",
            {
                "title": "square 0",
                "price": "11",
                "category": "Shapes > square",
                "group_id": "square-0",
            },
            content_type="application/json",
        )
    assert partner.get(url, {"k": 3})["X-Cache"] == "miss"
    assert partner.get(url, {"k": 3})["X-Cache"] == "hit"

    # So does a curation rule, which changes every list.
    with django_capture_on_commit_callbacks(execute=True):
        rule = MerchandisingRule.objects.create(
            kind="block", source_product=products[0], target_product=products[1]
        )
    assert partner.get(url, {"k": 3})["X-Cache"] == "miss"
    with django_capture_on_commit_callbacks(execute=True):
        rule.delete()

    # And activating another version.
    newer = version(2, status="ready")
    store(newer, products, [unit(1, 0), unit(0, 1), unit(0.9, 0.1), unit(0.95, 0.05)])
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=newer)
    assert ModelVersion.objects.get(pk=active.pk).status == "ready"
    fresh = partner.get(url, {"k": 3})
    assert fresh["X-Cache"] == "miss"
    assert fresh.json()["model_version"] == newer.pk
    # BAR-0-1 (0.95, 0.05) leads; its near-identical variant BAR-0-0 is collapsed behind it.
    assert [r["sku"] for r in fresh.json()["results"]] == ["BAR-0-1", "BAR-0-0"]


def test_the_similar_endpoint_runs_a_fixed_number_of_queries(partner, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    products = shape_catalogue(groups_per_shape=3, colours=2)  # 24 products
    active = version(2, status="active")
    rng = __import__("numpy").random.default_rng(0)
    store(active, products, [unit(*rng.normal(size=2)) for _ in products])

    def queries(k):
        with CaptureQueriesContext(connection) as context:
            assert partner.get("/api/v1/products/SQUARE-0-0/similar/", {"k": k}).status_code == 200
        return len(context.captured_queries)

    assert queries(3) == queries(20)


def test_category_takes_a_path_or_a_slug_and_an_unknown_one_is_a_400(partner):
    ranked_catalogue()
    url = "/api/v1/products/SQUARE-0-0/similar/"

    def skus(params):
        response = partner.get(url, params)
        assert response.status_code == 200, response.content
        return [r["sku"] for r in response.json()["results"]]

    bars = skus({"category": "Shapes > bar"})
    assert bars and all(sku.startswith("BAR-") for sku in bars)
    assert skus({"category": "shapes-bar"}) == bars
    assert skus({"categories": ["shapes-bar"]}) == bars
    assert skus({"category": "same", "include_variants": "true"}) == ["SQUARE-0-1"]
    for params, field in [
        ({"category": "Shapes > lamp"}, "category"),
        ({"category": "lamps"}, "category"),
        ({"categories": ["Shapes > bar", "nope"]}, "categories"),
    ]:
        response = partner.get(url, params)
        assert response.status_code == 400, (params, response.content)
        assert list(response.json()["errors"]) == [field]
        assert "no category has the path or slug" in response.json()["errors"][field][0]
    batch = partner.post(
        "/api/v1/similar/batch/",
        {"skus": ["MISSING"], "category": "Shapes > lamp"},
        content_type="application/json",
    )
    assert (batch.status_code, list(batch.json()["errors"])) == (400, ["category"])


def test_the_similar_batch_refuses_parameters_in_its_query_string(partner):
    """They were dropped without a word (`?in_stock=true&k=3` answered 8 items, sold-out ones
    included): the batch takes them in its JSON body, beside skus."""
    ranked_catalogue()

    response = partner.post(
        "/api/v1/similar/batch/?in_stock=true&k=3", {"skus": ["SQUARE-0-0"]}, "application/json"
    )

    assert response.status_code == 400, response.content
    assert sorted(response.json()["errors"]) == ["in_stock", "k"]
    assert "in the JSON body beside skus" in response.json()["errors"]["k"][0]


def test_a_changed_serving_setting_is_never_answered_from_lists_cached_before(partner, settings):
    # A restart applies the setting; Valkey, and the lists cached under the old value, outlive it.
    ranked_catalogue()
    Product.objects.filter(sku="BAR-0-1").update(in_stock=False)
    url = "/api/v1/products/SQUARE-0-0/similar/"
    settings.PRODSIM_EXCLUDE_OUT_OF_STOCK = False
    assert "BAR-0-1" in [r["sku"] for r in partner.get(url, {"k": 3}).json()["results"]]

    settings.PRODSIM_EXCLUDE_OUT_OF_STOCK = True
    response = partner.get(url, {"k": 3})

    assert response["X-Cache"] == "miss"
    assert "BAR-0-1" not in [r["sku"] for r in response.json()["results"]]


@pytest.mark.parametrize(
    "name",
    [
        "PRODSIM_EXCLUDE_OUT_OF_STOCK",
        "PRODSIM_FUSION_WEIGHTS",  # the defaults, where no weights row applies
        "PRODSIM_FUSION_CANDIDATES",
        "PRODSIM_RECOMMEND_REPEATS",
        "PRODSIM_BEHAVIOUR_WHY_DAYS",
    ],
)
def test_every_setting_read_while_answering_moves_the_cache_keys(settings, name):
    before = similar_cache.entry_key(sku="A", params={"k": 3})
    setattr(settings, name, ["a value no setting has"])
    assert similar_cache.entry_key(sku="A", params={"k": 3}) != before
