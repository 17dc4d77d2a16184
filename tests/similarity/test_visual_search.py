"""Visual search: the storefront page and the API embed an upload with the active version.
Without a version: test_visual_search_unavailable.py."""

import pytest

from storefront.visual_search import ERROR_NO_PHOTO
from tests.catalog.factories import add_product, shape_catalogue
from tests.similarity.factories import photo_upload as photo
from tests.similarity.factories import train_tiny

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def trained(module_rows):
    with module_rows():
        products = shape_catalogue(groups_per_shape=2, colours=3)
        # Searching needs only a served image model: no refit, no text tower (their own tests).
        version, _ = train_tiny(refit_on_all=False, text_tower=False)
    return products, version


@pytest.fixture
def media_root(trained, settings):
    """The module's photos (module_rows), not a folder per test."""
    return settings.MEDIA_ROOT


def test_uploading_a_photo_lists_lookalikes(client, trained):
    response = client.post("/search/photo/", {"photo": photo()})
    result = response.context["result"]
    assert response.status_code == 200
    assert result.k_returned == 24 and result.model_version == trained[1].pk
    scores = [item.score for item in result.items]
    assert scores == sorted(scores, reverse=True)
    assert "Looks like your photo" in response.content.decode()


def test_filters_apply_to_visual_search(client, trained):
    response = client.post(
        "/search/photo/", {"photo": photo(), "category": "Shapes > bar", "in_stock": "on"}
    )
    items = response.context["result"].items
    assert {item.product.category.path for item in items} == {"Shapes > bar"}
    assert len(items) == 6


def test_starting_from_a_catalogue_product_excludes_it(client, trained):
    response = client.get("/search/photo/", {"sku": "CROSS-0-0"})
    skus = [item.product.sku for item in response.context["result"].items]
    assert len(skus) == 23 and "CROSS-0-0" not in skus
    assert "your photo" not in response.content.decode()  # the shopper uploaded none


def test_more_that_look_like_a_product_can_be_filtered_on_its_page(client, trained):
    """The page's form did not carry the product: filtering it answered nothing at all."""
    page = client.get("/search/photo/", {"sku": "CROSS-0-0"})
    assert 'name="sku" value="CROSS-0-0"' in page.content.decode()

    response = client.post(
        "/search/photo/", {"sku": "CROSS-0-0", "category": "Shapes > bar", "in_stock": "on"}
    )

    items = response.context["result"].items
    assert {item.product.category.path for item in items} == {"Shapes > bar"}
    assert "CROSS-0-0" not in {item.product.sku for item in items} and len(items) == 6
    assert "Products that look like" in response.content.decode()


def test_a_product_without_a_photo_and_a_form_without_one_are_explained(client, trained):
    add_product("NOPHOTO-1", "Plain box")

    without = client.get("/search/photo/", {"sku": "NOPHOTO-1"})
    empty = client.post("/search/photo/", {"category": ""})

    assert "Plain box has no photo to search with" in without.content.decode()
    assert without.context["result"] is None
    assert ERROR_NO_PHOTO in empty.content.decode()


def test_a_bad_upload_is_explained(client, trained):
    response = client.post("/search/photo/", {"photo": photo("x.png", b"<html>not an image")})
    assert "the file is not a readable image" in response.content.decode()
    assert response.context["result"] is None


def test_the_api_answers_with_the_same_ranking(partner_client, client, trained):
    page = client.post("/search/photo/", {"photo": photo()}).context["result"]
    api = partner_client.post("/api/v1/search/image/", {"image": photo(), "k": 24}).json()
    assert [r["sku"] for r in api["results"]] == [i.product.sku for i in page.items]
    assert {r["tier"] for r in api["results"]} == {"image"}


def test_excluded_products_stay_out_when_no_filter_narrows(trained, settings):
    from catalog.models import Product
    from similarity import vector_store
    from similarity.selectors import SimilarQuery, similar_to_vector

    # As many candidates as k: the index answer is final (no exact rerun to filter it).
    settings.PRODSIM_FUSION_CANDIDATES = 5
    source = Product.objects.get(sku="CROSS-0-0")
    vector = vector_store.product_vector(version=trained[1], product_id=source.pk)
    query = SimilarQuery(k=5, exclude_ids=(source.pk,))
    result = similar_to_vector(vector=vector, query=query, version=trained[1])
    skus = [item.product.sku for item in result.items]
    assert len(skus) == 5 and "CROSS-0-0" not in skus


def test_the_shop_wide_out_of_stock_setting_applies_to_visual_search(trained, settings):
    from catalog.models import Product
    from similarity import vector_store
    from similarity.selectors import SimilarQuery, similar_to_vector

    Product.objects.filter(sku="CROSS-0-1").update(in_stock=False)
    source = Product.objects.get(sku="CROSS-0-0")
    vector = vector_store.product_vector(version=trained[1], product_id=source.pk)

    def skus() -> list[str]:
        result = similar_to_vector(vector=vector, query=SimilarQuery(k=24), version=trained[1])
        return [item.product.sku for item in result.items]

    assert "CROSS-0-1" in skus()
    settings.PRODSIM_EXCLUDE_OUT_OF_STOCK = True
    assert "CROSS-0-1" not in skus() and len(skus()) == 23


def test_the_api_takes_the_filters_from_the_query_string_too(partner_client, trained):
    url = "/api/v1/search/image/?k=3&category=Shapes+>+bar"
    body = partner_client.post(url, {"image": photo(), "explain": "true"}).json()
    assert (body["k_requested"], body["k_returned"]) == (3, 3)
    assert all("explain" in result for result in body["results"])
    skus = {result["sku"] for result in body["results"]}
    assert all(sku.startswith("BAR-") for sku in skus), skus


@pytest.mark.parametrize("name", ["blob", "upload.bin", "photo.png.tmp"])
def test_the_api_judges_a_photo_by_its_content_not_its_name(partner_client, trained, name):
    """Browsers name a FormData blob "blob"; the storefront's search takes such an upload too."""
    response = partner_client.post("/api/v1/search/image/", {"image": photo(name), "k": 3})

    assert (response.status_code, response.json()["k_returned"]) == (200, 3)
    not_an_image = partner_client.post("/api/v1/search/image/", {"image": photo(name, b"GIF89a")})
    assert (not_an_image.status_code, list(not_an_image.json()["errors"])) == (400, ["image"])


def test_a_photo_is_embedded_with_the_version_its_vector_is_searched_among(
    partner_client, trained, monkeypatch
):
    """The photo was embedded with the database's active row, the search used this process's
    serving copy: around an activation (or a missed generation bump) the two differed, and the
    answer ranked one version's vector among another's, or failed."""
    from similarity import cache as similar_cache
    from similarity.models import ModelVersion
    from similarity.selectors import serving

    _, served = trained
    kept = serving._load()
    # This process's copy, as a bump it has not seen yet leaves it (the suite's transactions
    # bypass the copy, so it is pinned here).
    monkeypatch.setattr(similar_cache, "serving_memo", lambda load: kept)
    ModelVersion.objects.filter(pk=served.pk).update(status="ready")
    ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=16, status="active"
    )

    response = partner_client.post("/api/v1/search/image/", {"image": photo()})

    assert response.status_code == 200, response.content
    assert response.json()["model_version"] == served.pk
