"""A multipart product PUT (the one that carries images) reads every field as the JSON PUT does."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import encode_multipart

from catalog.models import Product
from tests.catalog.factories import image_bytes

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/M-1/"


def put_form(client, fields: dict):
    return client.put(
        URL,
        data=encode_multipart("BoUnDaRy", {"title": "Mug", "price": "33", **fields}),
        content_type="multipart/form-data; boundary=BoUnDaRy",
    )


def photo(name: str = "x.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(), "image/jpeg")


@pytest.mark.parametrize(
    "fields",
    [
        {"attributes": '{"colour": "red", "size": "L"}'},
        {"attributes[colour]": "red", "attributes[size]": "L"},
        {"attributes.colour": "red", "attributes.size": "L"},
    ],
    ids=["json-object", "brackets", "dots"],
)
def test_a_form_sends_attributes_in_every_usual_spelling(partner_client, fields):
    response = put_form(partner_client, {**fields, "images": [photo()]})
    assert response.status_code == 201, response.content
    assert response.json()["attributes"] == {"colour": "red", "size": "L"}
    assert Product.objects.get(sku="M-1").attributes == {"colour": "red", "size": "L"}


@pytest.mark.parametrize(
    "fields",
    [
        {"tags": '["red", "blue"]'},
        {"tags": ["red", "blue"]},
        {"tags[]": ["red", "blue"]},
        {"tags[0]": "red", "tags[1]": "blue"},
    ],
    ids=["json-array", "repeated", "brackets", "indexed"],
)
def test_a_form_sends_tags_in_every_usual_spelling(partner_client, fields):
    response = put_form(partner_client, fields)
    assert response.status_code == 201, response.content
    assert response.json()["tags"] == ["red", "blue"]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"attributes": "colour=red"}, "attributes", "not a JSON object"),
        ({"attributes": '["red"]'}, "attributes", "not a JSON object"),
        ({"attributes": "{}", "attributes.colour": "red"}, "attributes", "one way"),
        ({"tags": '["red", '}, "tags", "not a JSON array"),
        ({"tags": '["\\ud800"]'}, "tags", "Surrogate characters"),
    ],
)
def test_a_form_field_that_cannot_be_read_is_a_400_naming_it(partner_client, fields, field, words):
    response = put_form(partner_client, fields)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert words in json.dumps(errors[field])
    assert not Product.objects.exists()


def test_a_form_sends_images_as_images_brackets_too(partner_client):
    second = SimpleUploadedFile("b.png", image_bytes((0, 0, 200), fmt="PNG"), "image/png")
    response = put_form(partner_client, {"images[]": [photo("a.jpg"), second]})
    assert response.status_code == 201, response.content
    assert len(response.json()["images"]) == 2


def test_a_form_put_without_a_field_replaces_it_as_the_json_put_does(partner_client):
    """PUT replaces the product: a field left out takes its default in both content types
    (attributes {}, tags []); only images, left out, are kept."""
    full = {"title": "Mug", "price": "33", "tags": ["red"], "attributes": {"colour": "red"}}
    answers = {}
    for kind in ("json", "form"):
        partner_client.put(URL, {**full, "images": []}, content_type="application/json")
        put_form(
            partner_client, {"attributes": json.dumps(full["attributes"]), "images": [photo()]}
        )
        if kind == "json":
            body = {"title": "Mug", "price": "34"}
            answer = partner_client.put(URL, body, content_type="application/json")
        else:
            answer = put_form(partner_client, {"price": "34"})
        assert answer.status_code == 200, answer.content
        answers[kind] = {
            name: value for name, value in answer.json().items() if name not in ("updated_at",)
        }
        answers[kind]["images"] = len(answers[kind]["images"])
    assert answers["form"] == answers["json"]
    assert (answers["form"]["attributes"], answers["form"]["tags"]) == ({}, [])
    assert answers["form"]["images"] == 1
