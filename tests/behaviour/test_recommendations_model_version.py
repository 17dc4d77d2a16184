"""Recommended for you says which sequence model version ranked it (null where none did)."""

import pytest

from behaviour.models import SequenceModelVersion
from tests.behaviour.factories import order

pytestmark = pytest.mark.django_db(transaction=True)


def test_recommendations_name_the_sequence_version_that_ranked_them(partner_client, trained):
    active = SequenceModelVersion.objects.get(status=SequenceModelVersion.Status.ACTIVE)
    events = order(["LANTERN"], "shopper", "o-1", days_ago=0.5)
    assert (
        partner_client.post(
            "/api/v1/events/", {"events": events}, content_type="application/json"
        ).json()["rejected"]
        == 0
    )

    ranked = partner_client.get("/api/v1/visitors/shopper/recommendations/?k=3").json()
    unknown = partner_client.get("/api/v1/visitors/nobody/recommendations/?k=3").json()
    trending = partner_client.get("/api/v1/trending/?k=3").json()

    assert "personal" in {item["tier"] for item in ranked["results"]}
    assert ranked["model_version"] == active.pk
    # A visitor without events gets trending and the newest: counted, not ranked by a model.
    assert "personal" not in {item["tier"] for item in unknown["results"]}
    assert unknown["model_version"] is None and trending["model_version"] is None
