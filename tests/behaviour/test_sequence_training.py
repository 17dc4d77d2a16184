"""Training a sequence model version as a job on a tiny history (seconds), then serving it:
the recommendations follow the planted pattern through the sequence signal."""

from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from behaviour.ml.sequence.config import SequenceConfig
from behaviour.models import SequenceModelVersion, SequenceTrainingJob
from behaviour.selectors.recommendations import recommended_for_visitor
from behaviour.services.ingest import events_record
from behaviour.services.sequence import sequence_training_job_run, sequence_training_start
from similarity.selectors import SimilarQuery
from tests.behaviour.sequence_factories import SKUS, TINY

# Committed rows: the job heartbeat thread (core.jobs) reads them on its own connection.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_training_job_leaves_an_active_version_with_its_figures(trained):
    job = SequenceTrainingJob.objects.get(pk=trained.pk)
    version = job.version

    assert (job.state, version.status) == (SequenceTrainingJob.State.SUCCEEDED, "active")
    assert (version.dataset["train_events"], version.dataset["valid_events"]) == (120, 40)
    assert version.metrics["active_recall"] is None  # nothing served before
    assert version.metrics["recall"] > 0.5  # both followers always within the top 20 of 12
    assert [epoch["epoch"] for epoch in version.history] == list(range(1, len(version.history) + 1))
    assert job.progress["phase"] == "saving"
    with np.load(version.vectors_path) as stored:
        assert len(stored["product_ids"]) == len(SKUS)
        assert np.isfinite(stored["vectors"]).all()
    assert Path(version.artifact_path).is_file()


def test_the_active_version_drives_the_next_recommendation(trained):
    events_record(
        items=[
            {
                "event_id": "new-view",
                "kind": "view",
                "sku": "LANTERN",
                "visitor_id": "newcomer",
                "occurred_at": timezone.now().isoformat(),
            }
        ]
    )

    result = recommended_for_visitor(visitor_id="newcomer", query=SimilarQuery(k=3))

    first = result.items[0]
    assert (first.product.sku, first.tier) == ("TEALIGHT", "personal")
    assert first.evidence["because"]["sequence"] == "LANTERN"
    assert first.why == "Because you viewed Lantern"


def test_a_second_version_activates_only_when_it_beats_the_active_one(trained, settings):
    worse = SequenceConfig(**{**TINY.to_dict(), "epochs": 1, "learning_rate": 1e-6})
    job = sequence_training_start(config=worse, enqueue=False)

    sequence_training_job_run(job_id=job.pk)

    second = SequenceModelVersion.objects.get(pk=job.version_id)
    assert second.status == "ready"
    assert second.metrics["recall"] <= second.metrics["active_recall"]
    assert SequenceModelVersion.objects.get(status="active").pk == trained.version_id


def test_a_training_without_events_fails_with_the_reason_and_fails_its_version(settings, tmp_path):
    from behaviour.services.sequence.training import ERROR_NO_EVENTS

    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    job = sequence_training_start(config=TINY, enqueue=False)

    job = sequence_training_job_run(job_id=job.pk)

    assert (job.state, job.error) == (
        SequenceTrainingJob.State.FAILED,
        f"ValueError: {ERROR_NO_EVENTS}",
    )
    assert SequenceModelVersion.objects.get(pk=job.version_id).status == "failed"


def test_a_training_out_of_time_keeps_its_best_epoch_and_is_saved_like_any_other(trained, settings):
    settings.PRODSIM_SEQUENCE_TRAINING_BUDGET_S = 0  # the first epoch ends past it
    config = SequenceConfig(**{**TINY.to_dict(), "epochs": 5, "patience": 5})
    job = sequence_training_start(config=config, enqueue=False)

    job = sequence_training_job_run(job_id=job.pk)

    version = SequenceModelVersion.objects.get(pk=job.version_id)
    assert (job.state, version.metrics["stopped"], len(version.history)) == (
        SequenceTrainingJob.State.SUCCEEDED,
        "time",
        1,
    )
    assert version.status in {"ready", "active"} and Path(version.vectors_path).is_file()


def test_the_active_version_is_measured_on_the_products_it_knows_and_the_candidate_likewise(
    trained,
):
    """A product added since the active version trained was a certain miss for it alone, though
    serving places such products by content: every newer version won the comparison."""
    from behaviour.services.sequence.training import _beats_active
    from behaviour.services.sequence.validation import active_recall, known_targets
    from catalog.models import Product

    known = np.array(
        Product.objects.filter(sku__in=SKUS).order_by("pk").values_list("pk", flat=True)
    )
    product_ids = np.append(known, known.max() + 1000)  # one product it never knew, last
    new = len(product_ids) - 1
    histories = [(np.array([0]), np.array([3])), (np.array([1]), np.array([3]))]
    targets = [np.array([new]), np.array([1, new])]

    recall, knows = active_recall(product_ids, histories, targets, k=20)
    kept_histories, kept_targets = known_targets(histories, targets, knows)

    assert knows.tolist() == [True] * len(known) + [False]
    assert [t.tolist() for t in kept_targets] == [[1]]  # the new product's only buyer drops out
    assert kept_histories == histories[1:] and recall is not None
    # Decided on the products both know, whatever the candidate's figure on all of them.
    active = SequenceModelVersion.objects.get(status="active").pk
    shared = {"active_version": active, "active_recall": 0.4}
    assert not _beats_active({**shared, "recall": 0.5, "recall_vs_active": 0.3})
    assert _beats_active({**shared, "recall": 0.3, "recall_vs_active": 0.5})
    # No buyer of a product it knows: neither measured alike, the candidate's own figure decides.
    nothing_shared = {"active_version": active, "active_recall": None, "recall_vs_active": None}
    assert _beats_active({**nothing_shared, "recall": 0.3})
