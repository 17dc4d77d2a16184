"""Each trained sequence version tunes its own fusion weights and stores its shoppers' profiles;
the recommendations serve both: the tuned weights, and the peers signal with its reason."""

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from behaviour.ml.sequence.hybrid import SIGNALS
from behaviour.ml.sequence.peers import PEERS_BUILT_AT, PEERS_FILE
from behaviour.models import SequenceModelVersion
from behaviour.selectors.recommendations import recommended_for_visitor
from behaviour.selectors.recommendations.sequence import serving_model
from behaviour.services.ingest import events_record
from behaviour.services.refresh import behaviour_refresh
from behaviour.services.visitors import visitor_erase
from similarity.selectors import SimilarQuery

pytestmark = pytest.mark.django_db(transaction=True)


def active() -> SequenceModelVersion:
    return SequenceModelVersion.objects.get(status=SequenceModelVersion.Status.ACTIVE)


def buy(visitor: str, sku: str, times: int) -> None:
    now = timezone.now().isoformat()
    events = [
        {
            "event_id": f"{visitor}-{sku}-{n}",
            "kind": "purchase",
            "sku": sku,
            "visitor_id": visitor,
            "occurred_at": now,
            "order_id": f"{visitor}-order-{n}",
            "quantity": 1,
            "unit_price": "1.00",
        }
        for n in range(times)
    ]
    assert all(o.status == "accepted" for o in events_record(items=events))


def test_a_version_tunes_its_own_weights_and_serves_them(trained):
    version = active()
    tuned = version.metrics["hybrid_weights"]

    assert set(tuned) == {*SIGNALS, "allow_repeats"}
    # Tuning starts from the measured defaults and keeps only improvements on the same cases.
    assert version.metrics["hybrid_recall"] >= version.metrics["hybrid_default_recall"] > 0
    assert (Path(version.artifact_path).parent / PEERS_FILE).is_file()
    assert serving_model().weights == {name: float(tuned[name]) for name in SIGNALS}


def test_the_version_page_shows_the_tuned_weights(trained, admin_client):
    version = active()
    url = reverse("admin:behaviour_sequencemodelversion_change", args=[version.pk])

    html = admin_client.get(url).content.decode()

    assert "<th>hybrid_weights</th>" in html and "<th>hybrid_recall</th>" in html


def test_a_frequent_buyer_gets_what_their_peers_buy_explained(trained):
    # The training's shoppers viewed a lantern and bought tea lights: peers of a tea-light buyer.
    buy("regular", "TEALIGHT", times=3)
    version = active()  # weighed as on the shop's data (the tiny validation may tune it to 0)
    version.metrics["hybrid_weights"].update(peers=3.0, allow_repeats=True)
    version.save(update_fields=["metrics"])

    result = recommended_for_visitor(visitor_id="regular", query=SimilarQuery(k=4))

    by_sku = {item.product.sku: item for item in result.items}
    assert by_sku["TEALIGHT"].why == "You often buy this"
    lantern = by_sku["LANTERN"]
    assert lantern.evidence["signals"]["peers"] > 0
    assert lantern.evidence["because"]["peers"] == "TEALIGHT"
    assert lantern.why == "Because you often buy Tealight"


def test_a_version_without_profiles_serves_without_peers(trained):
    version = active()
    (Path(version.artifact_path).parent / PEERS_FILE).unlink()
    buy("regular", "TEALIGHT", times=2)
    from behaviour.selectors.recommendations import sequence_model

    sequence_model._loaded.clear()  # as a process that never loaded it

    result = recommended_for_visitor(visitor_id="regular", query=SimilarQuery(k=4))

    assert len(result.items) == 4
    assert all("peers" not in item.evidence.get("signals", {}) for item in result.items)


def test_an_erased_shoppers_profile_leaves_the_served_peers_with_the_next_refresh(
    trained,
):
    served = serving_model().peers.profiles.shape[0]  # one per shopper of the training

    assert visitor_erase(visitor_id="visitor-7") > 0
    refresh = behaviour_refresh()

    assert refresh.stats["peer_profiles_rebuilt"] == 1
    assert active().metrics[PEERS_BUILT_AT]
    # This process reloads the version: its profiles now come from the events left.
    assert serving_model().peers.profiles.shape[0] == served - 1


def test_a_version_whose_files_cannot_be_read_loses_its_peers_and_the_refresh_goes_on(
    trained,
):
    version = active()
    Path(version.vectors_path).unlink()

    assert visitor_erase(visitor_id="visitor-7") > 0
    refresh = behaviour_refresh()

    assert refresh.state == "succeeded" and refresh.stats["peer_profiles_rebuilt"] == 0
    assert not (Path(version.artifact_path).parent / PEERS_FILE).exists()
