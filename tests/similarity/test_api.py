import pytest

from similarity.services.lexical import lexical_index_rebuild
from tests.catalog.factories import product, shape_catalogue

from .test_vector_store import store, unit, version

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(partner_client):
    return partner_client


def test_similar_with_explain(partner):
    products = shape_catalogue(colours=2)[:4]  # SQUARE-0-0/1, BAR-0-0/1
    active = version(2, status="active")
    store(active, products, [unit(1, 0), unit(0.95, 0.05), unit(0.9, 0.1), unit(0, 1)])

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
