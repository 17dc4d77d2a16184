"""Two activations at once (two admins, or an admin and a training's auto-activation) take turns
on core.locks.turn_lock. A row lock could not order them: the second activation's UPDATE
of the active row re-read it after the first committed, found it no longer active, never saw the
row the first had made active, and its own activation then broke the one-active constraint (a
500 for the admin; a training job that failed and threw away its trained version)."""

import threading

import pytest
from django.db import connections

from behaviour.models import SequenceModelVersion
from behaviour.services import sequence as sequence_services
from similarity import cache as similar_cache
from similarity.models import Job, ModelVersion
from similarity.services import versions
from similarity.services.auto_activation import auto_activate
from similarity.services.pipeline import job_run
from tests.similarity.vector_store.factories import version

pytestmark = pytest.mark.django_db(transaction=True)  # two connections, committed rows


def image_version(status: str, *, auto_activate: bool = False) -> ModelVersion:
    built = version(8, status=status)
    built.auto_activate = auto_activate
    built.save(update_fields=["auto_activate"])
    return built


def one_after_the_other(first, second, monkeypatch) -> dict[str, Exception]:
    """Run `first` in a thread that stops inside its activation's transaction (when it announces
    the change), start `second` meanwhile, then let the first commit; each one's error."""
    inside, go_on, errors = threading.Event(), threading.Event(), {}
    announce = similar_cache.serving_changed
    first_thread = []

    def stopping_announce():
        announce()
        if threading.current_thread() in first_thread:
            inside.set()
            go_on.wait(20)

    monkeypatch.setattr(similar_cache, "serving_changed", stopping_announce)

    def run(name, call):
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - reported by the test's assertion
            errors[name] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in (("1", first), ("2", second))]
    first_thread.append(threads[0])
    threads[0].start()
    assert inside.wait(20)
    threads[1].start()
    threads[1].join(1.5)  # the second now waits for the first
    go_on.set()
    for thread in threads:
        thread.join(30)
    return errors


def test_two_image_activations_at_once_both_succeed_and_the_last_serves(monkeypatch):
    image_version("active")
    first, second = image_version("ready"), image_version("ready")

    errors = one_after_the_other(
        lambda: versions.model_version_activate(version=first),
        lambda: versions.model_version_activate(version=second),
        monkeypatch,
    )

    assert errors == {}
    assert list(ModelVersion.objects.filter(status="active")) == [second]


def test_two_sequence_activations_at_once_both_succeed(monkeypatch):
    SequenceModelVersion.objects.create(architecture="gru", status="active")
    first = SequenceModelVersion.objects.create(architecture="gru", status="ready")
    second = SequenceModelVersion.objects.create(architecture="gru", status="ready")

    errors = one_after_the_other(
        lambda: sequence_services.sequence_version_activate(version=first),
        lambda: sequence_services.sequence_version_activate(version=second),
        monkeypatch,
    )

    assert errors == {}
    assert list(SequenceModelVersion.objects.filter(status="active")) == [second]


def test_an_admins_activation_during_an_auto_activation_keeps_the_trained_version(monkeypatch):
    chosen = image_version("ready")
    trained = image_version("ready", auto_activate=True)
    # A delivery after the work was done: it only auto-activates (nothing active yet).
    job = Job.objects.create(kind=Job.Kind.TRAIN, model_version=trained)

    errors = one_after_the_other(
        lambda: job_run(job_id=job.pk, max_attempts=3),
        lambda: versions.model_version_activate(version=chosen),
        monkeypatch,
    )

    job.refresh_from_db()
    trained.refresh_from_db()
    assert errors == {}
    assert (job.state, trained.status) == ("succeeded", "ready")
    assert list(ModelVersion.objects.filter(status="active")) == [chosen]


def test_an_auto_activation_waiting_for_an_admins_compares_with_the_version_they_chose(
    monkeypatch,
):
    chosen = image_version("ready")
    trained = image_version("ready", auto_activate=True)
    decisions = []

    errors = one_after_the_other(
        lambda: versions.model_version_activate(version=chosen),
        lambda: decisions.append(auto_activate(trained)),
        monkeypatch,
    )

    # Read before the lock, nothing was active: it would have been activated "because none was".
    assert errors == {}
    assert decisions[0].startswith("left ready") and f"active v{chosen.pk}" in decisions[0]
    assert list(ModelVersion.objects.filter(status="active")) == [chosen]


def test_activating_a_version_deleted_since_the_page_was_shown_says_so():
    from behaviour.services.sequence import SequenceVersionError
    from similarity.services.versions import VersionStateError

    image = image_version("ready")
    sequence = SequenceModelVersion.objects.create(architecture="gru", status="ready")
    image_pk, sequence_pk = image.pk, sequence.pk
    ModelVersion.objects.filter(pk=image_pk).delete()  # another admin, meanwhile
    SequenceModelVersion.objects.filter(pk=sequence_pk).delete()

    with pytest.raises(VersionStateError, match=f"version v{image_pk} no longer exists"):
        versions.model_version_activate(version=image)
    with pytest.raises(SequenceVersionError, match=f"version {sequence_pk} no longer exists"):
        sequence_services.sequence_version_activate(version=sequence)
