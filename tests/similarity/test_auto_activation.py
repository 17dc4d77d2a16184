"""Auto-activation sets Recall@1 against Recall@1 of the same evaluation protocol only."""

import pytest

from similarity.ml.evaluation.protocols import KNOWN_PRODUCTS, NEW_PRODUCTS
from similarity.models import Job, ModelVersion
from similarity.services import model_version_activate
from similarity.services.auto_activation import auto_activate
from similarity.services.pipeline import job_run
from similarity.services.rollback import model_version_rollback

pytestmark = pytest.mark.django_db


def _rows(recall_at_1: float) -> dict:
    return {"model": {"recall_at_1": recall_at_1, "queries": 50}}


def _version(status: str, recalls: dict[str, float], deciding: str) -> ModelVersion:
    protocols = {protocol: _rows(r1) for protocol, r1 in recalls.items()}
    evaluation = {"protocol": deciding, "served_protocols": [], "refit_on_all": False}
    return ModelVersion.objects.create(
        backbone="small_cnn",
        weights="none",
        input_size=32,
        embedding_dim=8,
        status=status,
        auto_activate=True,
        metrics={**protocols[deciding], "protocols": protocols, "evaluation": evaluation},
    )


def test_a_version_better_only_on_the_easier_protocol_is_left_ready():
    # The active version had only new-products queries; the candidate's deciding figure is the
    # easier known-products one, and on new products it is worse.
    active = _version("active", {NEW_PRODUCTS: 0.40}, NEW_PRODUCTS)
    candidate = _version("ready", {KNOWN_PRODUCTS: 0.55, NEW_PRODUCTS: 0.30}, KNOWN_PRODUCTS)

    decision = auto_activate(candidate)

    candidate.refresh_from_db()
    assert candidate.status == "ready"
    assert decision == (
        f"left ready: R@1 0.300 does not beat active v{active.pk}'s 0.400 on new_products"
    )


def test_a_version_better_on_the_shared_protocol_is_activated():
    active = _version("active", {NEW_PRODUCTS: 0.40}, NEW_PRODUCTS)
    candidate = _version("ready", {KNOWN_PRODUCTS: 0.35, NEW_PRODUCTS: 0.45}, KNOWN_PRODUCTS)

    decision = auto_activate(candidate)

    candidate.refresh_from_db()
    assert candidate.status == "active"
    assert decision == f"activated: R@1 0.450 beats active v{active.pk}'s 0.400 on new_products"


def test_a_version_only_equal_to_the_active_one_is_left_ready():
    active = _version("active", {NEW_PRODUCTS: 0.40}, NEW_PRODUCTS)
    candidate = _version("ready", {NEW_PRODUCTS: 0.40}, NEW_PRODUCTS)

    decision = auto_activate(candidate)

    candidate.refresh_from_db()
    assert candidate.status == "ready"
    assert decision.startswith(f"left ready: R@1 0.400 does not beat active v{active.pk}'s")


def test_versions_with_no_protocol_in_common_are_not_compared():
    active = _version("active", {NEW_PRODUCTS: 0.20}, NEW_PRODUCTS)
    candidate = _version("ready", {KNOWN_PRODUCTS: 0.90}, KNOWN_PRODUCTS)

    decision = auto_activate(candidate)

    candidate.refresh_from_db()
    assert candidate.status == "ready"
    assert decision == (
        f"left ready: it was measured on known_products, active v{active.pk} on new_products, "
        "no protocol in common; compare the two versions' pages and activate it by hand"
    )


def test_a_version_measured_before_protocols_is_compared_on_its_one_figure():
    ModelVersion.objects.create(
        backbone="small_cnn",
        weights="none",
        input_size=32,
        embedding_dim=8,
        status="active",
        metrics={"model": {"recall_at_1": 0.25}},
    )
    candidate = _version("ready", {KNOWN_PRODUCTS: 0.30}, KNOWN_PRODUCTS)

    assert auto_activate(candidate).startswith("activated: R@1 0.300 beats active v")


def _running_job(version: ModelVersion) -> Job:
    """Its worker died after the version was ready, before it ended the job."""
    return Job.objects.create(
        kind=Job.Kind.TRAIN, model_version=version, state=Job.State.RUNNING, attempts=1
    )


def test_a_redelivered_training_job_leaves_an_admins_rollback_in_place():
    previous = _version("ready", {NEW_PRODUCTS: 0.40}, NEW_PRODUCTS)
    model_version_activate(version=previous)
    trained = _version("ready", {NEW_PRODUCTS: 0.45}, NEW_PRODUCTS)
    job = _running_job(trained)
    auto_activate(trained)  # the first delivery's last step
    model_version_rollback()  # an admin: its lists look wrong

    job = job_run(job_id=job.pk, max_attempts=3)  # the reaper's requeue

    assert ModelVersion.objects.get(status="active") == previous
    assert "left ready: it served from" in job.log


def test_a_redelivered_training_job_still_activates_a_version_that_never_served():
    _version("active", {NEW_PRODUCTS: 0.40}, NEW_PRODUCTS)
    trained = _version("ready", {NEW_PRODUCTS: 0.45}, NEW_PRODUCTS)

    job = job_run(job_id=_running_job(trained).pk, max_attempts=3)

    assert ModelVersion.objects.get(status="active") == trained
    assert "activated: R@1 0.450" in job.log


def test_versions_measured_against_different_labels_are_not_compared():
    """Category labels and variant groups are different tests: a candidate measured on groups
    (harder) lost to a category-measured active version whatever its quality."""
    active = _version("active", {NEW_PRODUCTS: 0.85}, NEW_PRODUCTS)
    candidate = _version("ready", {NEW_PRODUCTS: 0.90}, NEW_PRODUCTS)
    ModelVersion.objects.filter(pk=active.pk).update(label_source="category")
    ModelVersion.objects.filter(pk=candidate.pk).update(label_source="group")
    candidate.refresh_from_db()

    decision = auto_activate(candidate)

    candidate.refresh_from_db()
    assert candidate.status == "ready"
    assert decision == (
        f"left ready: it was measured with group as labels, active v{active.pk} with category; "
        "compare the two versions' pages and activate it by hand"
    )
