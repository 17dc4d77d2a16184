"""There is one row of fusion weights for all categories, in the admin and in the database."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from similarity.models import FusionWeights
from similarity.models.ranking import ERROR_SECOND_GLOBAL

ROW = {"image": "0.9", "text": "0.05", "text_learned": "0", "attributes": "0.05", "price": "0"}
BEFORE = ("similarity", "0014_job_claimed_at")
ONE_GLOBAL = ("similarity", "0015_one_global_fusion_weights")


def _weights(image: float) -> FusionWeights:
    return FusionWeights(image=image, text=0.1, text_learned=0, attributes=0.1, price=0.1)


@pytest.mark.django_db
def test_the_admin_refuses_a_second_row_for_all_categories(admin_client):
    _weights(0.2).save()

    response = admin_client.post(
        reverse("admin:similarity_fusionweights_add"), {**ROW, "category": ""}
    )

    assert ERROR_SECOND_GLOBAL in response.content.decode()
    assert FusionWeights.objects.filter(category=None).count() == 1


def _migrate_to(target) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


@pytest.mark.django_db(transaction=True)  # migrates back and forth
def test_the_migration_keeps_the_newest_of_the_global_rows_the_old_constraint_let_in():
    _migrate_to(BEFORE)
    try:
        FusionWeights.objects.bulk_create([_weights(0.2), _weights(0.3), _weights(0.9)])
        _migrate_to(ONE_GLOBAL)
        assert list(FusionWeights.objects.values_list("image", flat=True)) == [0.9]
    finally:
        _migrate_to(ONE_GLOBAL)
