"""A deleted product leaves the A/B log as it was: experiments' results, the shopper's export
(the SKU it had) and a late click on a link that showed it."""

import pytest
from django.utils import timezone

from catalog.models import Product
from catalog.services import product_delete
from experiments.models import Click, Experiment, Impression
from experiments.selectors import experiment_results, shopper_log
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db


def test_deleting_a_product_keeps_a_stopped_experiments_results():
    mug, kettle = product(sku="MUG"), product(sku="KETTLE", title="Kettle")
    now = timezone.now()
    experiment = Experiment.objects.create(
        name="newest vs trending",
        widget="trending",
        variant="newest",
        share=50,
        started_at=now,
        ended_at=now,
    )
    for arm, shown in (("control", mug), ("candidate", kettle)):
        impression = Impression.objects.create(
            widget="trending",
            shown_product=shown,
            position=1,
            experiment=experiment,
            arm=arm,
            session_hash=arm,
        )
        Click.objects.create(impression=impression, session_hash=arm)
    before = experiment_results(experiment=experiment)

    assert product_delete(sku="MUG")

    assert Impression.objects.filter(experiment=experiment).count() == 2
    assert Click.objects.count() == 2
    assert experiment_results(experiment=experiment) == before
    assert shopper_log(shopper_hashes=["control"])["impressions"][0]["shown_sku"] == "MUG"
    assert shopper_log(shopper_hashes=["control"])["clicks"][0]["shown_sku"] == "MUG"


def test_a_click_on_a_deleted_products_link_is_counted_and_lands_on_its_page(client, shop):
    url = client.get("/products/SQUARE-0-0/").context["similar"][0].click_url
    shown = Impression.objects.get(position=1, widget="similar").shown_product_id
    sku = Product.objects.get(pk=shown).sku
    product_delete(sku=sku)

    response = client.get(url)

    assert response.status_code == 302 and response["Location"] == f"/products/{sku}/"
    assert client.get(response["Location"]).status_code == 404  # the shop's page says it's gone
    assert Click.objects.filter(impression__shown_product_id=shown).count() == 1
