"""Visual search before any image model serves: the page and the API say so, and the API's
own checks of the request answer first. With a model: test_visual_search.py."""

import pytest

from similarity.api.serializers import ERROR_NO_DIVERSITY
from tests.catalog.factories import add_product
from tests.similarity.factories import photo_upload as photo

pytestmark = pytest.mark.django_db


def test_without_a_model_the_page_says_so(client):
    # In a shopper's words: training a model is the staff's business (the admin says how).
    response = client.post("/search/photo/", {"photo": photo()})
    page = response.content.decode()
    assert "Search by photo is not available at the moment." in page
    assert "train one first" not in page


def test_more_that_look_like_a_product_without_a_model_says_so(client):
    """The product page's link showed "Products that look like …" and nothing after it."""
    add_product("MUG-1", "Red mug")

    page = client.get("/search/photo/", {"sku": "MUG-1"}).content.decode()

    assert "Search by photo is not available at the moment." in page
    assert "Products that look like" not in page


def test_a_filter_in_the_query_string_is_validated_and_may_not_contradict_the_form(partner_client):
    too_many = partner_client.post("/api/v1/search/image/?k=1000", {"image": photo()})
    assert (too_many.status_code, list(too_many.json()["errors"])) == (400, ["k"])
    both = partner_client.post("/api/v1/search/image/?k=3", {"image": photo(), "k": "4"})
    assert (both.status_code, list(both.json()["errors"])) == (400, ["k"])
    assert "both the query string and the form" in both.json()["errors"]["k"][0]
    same = partner_client.post("/api/v1/search/image/?k=3", {"image": photo(), "k": "3"})
    assert same.status_code == 503  # valid; no model to embed the photo with


@pytest.mark.parametrize("where", ["form", "query"])
def test_a_list_filter_written_with_brackets_is_read_in_the_form_and_the_query(
    partner_client, where
):
    # As the GET lists read brand[]=A: a browser's FormData or axios sends that spelling, and
    # dropped, the photo's answer would be unfiltered. Too long a brand shows it was read.
    long_brand = "x" * 201
    form, query = {"image": photo()}, ""
    if where == "form":
        form["brand[]"] = long_brand
    else:
        query = f"?brand[]={long_brand}"

    response = partner_client.post(f"/api/v1/search/image/{query}", form)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["brand"]


def test_the_api_refuses_diversity_which_a_photo_search_does_not_re_rank_by(partner_client):
    response = partner_client.post("/api/v1/search/image/", {"image": photo(), "diversity": "0.3"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"diversity": [ERROR_NO_DIVERSITY]}


@pytest.mark.parametrize("params", [{"category": "same"}, {"price_band": "0.5"}])
def test_the_api_refuses_filters_relative_to_a_source_product(partner_client, params):
    """A photo has no source product: category "same" and a price band cannot apply, and a 400
    says so, as trending and the recommendations do (rather than an unfiltered list)."""
    response = partner_client.post("/api/v1/search/image/", {"image": photo(), **params})

    assert (response.status_code, list(response.json()["errors"])) == (400, list(params))
    assert "relative to a source product" in str(response.json()["errors"])
