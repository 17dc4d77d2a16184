"""Merchandising rules as the admin takes them: each incomplete rule refused with a reason on
its field, no field its kind ignores, factors that move their way and stay finite; and a rule
written around the admin (raw SQL, an older version) never breaks the lists it touches."""

import pytest
from django.urls import reverse

from catalog.models import Category
from similarity.models import MerchandisingRule
from similarity.models.ranking import MAX_RULE_FACTOR
from similarity.selectors.merchandising import score_factor
from tests.catalog.factories import product
from tests.similarity.factories import vector_catalogue

pytestmark = pytest.mark.django_db

ADD = "admin:similarity_merchandisingrule_add"


@pytest.fixture
def shop():
    home = Category.objects.create(path="Home", name="Home", slug="home")
    acme = product(sku="A", title="Acme mug", brand="Acme", category=home)
    return acme, product(sku="B", title="Other mug", brand="Other", category=home)


def add(admin_client, **fields):
    return admin_client.post(reverse(ADD), {"factor": "1.5", "is_active": "on", **fields})


def refused(response) -> dict[str, list[str]]:
    assert response.status_code == 200, "the rule was saved"
    assert not MerchandisingRule.objects.exists()
    return response.context["adminform"].form.errors


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "pin", "position": "1"}, "target_product"),
        ({"kind": "block"}, "target_product"),
        ({"kind": "pin", "target": True}, "position"),
        ({"kind": "pin", "target": True, "position": "0"}, "position"),
        ({"kind": "boost"}, "brand"),
        ({"kind": "boost", "brand": "Acme", "factor": "0"}, "factor"),
        ({"kind": "bury", "brand": "Acme", "factor": "0.5"}, "factor"),
        ({"kind": "bury", "brand": "Acme", "factor": "1e-320"}, "factor"),
        ({"kind": "boost", "brand": "Acme", "factor": str(MAX_RULE_FACTOR * 2)}, "factor"),
        ({"kind": "boost", "brand": "Acme", "target": True}, "target_product"),
        ({"kind": "block", "target": True, "brand": "Acme"}, "brand"),
        (
            {
                "kind": "boost",
                "brand": "Acme",
                "valid_from_0": "2030-01-02",
                "valid_from_1": "00:00",
                "valid_until_0": "2030-01-01",
                "valid_until_1": "00:00",
            },
            "valid_until",
        ),
    ],
)
def test_an_incomplete_or_mixed_rule_is_refused_on_its_field(admin_client, shop, fields, field):
    data = {name: value for name, value in fields.items() if name != "target"}
    if fields.get("target"):
        data["target_product"] = str(shop[1].pk)

    errors = refused(add(admin_client, **data))

    assert field in errors, errors
    assert not any("Constraint" in message for messages in errors.values() for message in messages)


def test_a_boost_shows_the_brand_it_moves_not_a_product(admin_client, shop):
    add(admin_client, kind="boost", brand="Acme", factor="3")
    rule = MerchandisingRule.objects.get()

    page = admin_client.get(reverse("admin:similarity_merchandisingrule_change", args=[rule.pk]))

    assert "A – Acme mug" in page.content.decode()
    assert str(rule) == "boost brand/tag: Acme (everywhere)"


def test_a_pin_stored_without_a_position_breaks_no_list(client, partner_client):
    """The table's check (position >= 1) lets NULL by; serving skips such a pin."""
    products, _ = vector_catalogue(count=8)
    MerchandisingRule.objects.create(kind="pin", target_product=products[3])
    client.raise_request_exception = partner_client.raise_request_exception = False

    answers = [
        partner_client.get(f"/api/v1/products/{products[0].sku}/similar/?k=3"),
        partner_client.get("/api/v1/trending/?k=3"),
        client.get(products[0].get_absolute_url()),
        client.get("/"),
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 200]


@pytest.mark.parametrize(("kind", "factor"), [("bury", 1e-320), ("bury", 0.5), ("boost", 1e308)])
def test_a_factor_stored_around_the_admin_moves_its_way_and_stays_finite(kind, factor):
    rules = [MerchandisingRule(kind=kind, brand="Acme", factor=factor)] * 2

    moved = score_factor(rules, brand="Acme", tags=[])

    assert (moved <= 1.0) if kind == "bury" else (1.0 < moved < float("inf"))
    assert 1 / MAX_RULE_FACTOR**2 <= moved <= MAX_RULE_FACTOR**2
