"""Scheduled retraining of the sequence model (beat asks every 6 hours): shoppers' habits and
the catalogue move, and a model trained once falls behind, as Amazon Personalize's and Recombee's
would without their periodic training.

A shop opts in by training a first version (the admin, `train_behaviour`, `make run`); from then
on, every PRODSIM_SEQUENCE_RETRAIN_DAYS a training starts with the serving version's settings
(else the newest version's), when events arrived since the last training started. It activates
only if it beats the serving version on the time-split validation, as any training with
auto-activation does, so a worse model never serves. A training that failed or timed out (a
worker killed, a database outage) is tried again a day after it started, or a period after
when that is shorter, so one bad night does not leave the model a whole period older; after
two failures in a row the next try waits the period (a failure that repeats is a fault for an
operator, not a reason to spend the ml worker daily). A cancelled one counts as the last
training (an admin stopped it): the next is a period later.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from behaviour.ml.sequence.config import SequenceConfig
from core.locks import SCHEDULED_TRAININGS, turn_lock

from ...models import BehaviourRefresh, SequenceModelVersion, SequenceTrainingJob
from .versions import sequence_training_start

logger = logging.getLogger(__name__)

UNFINISHED = (SequenceTrainingJob.State.QUEUED, SequenceTrainingJob.State.RUNNING)
FAILED = (SequenceTrainingJob.State.FAILED, SequenceTrainingJob.State.TIMED_OUT)
RETRY_AFTER_FAILURE_DAYS = 1.0  # after one failure; after two in a row, the period


@transaction.atomic
def sequence_retrain_if_due(*, now: dt.datetime | None = None) -> SequenceTrainingJob | None:
    """Start the scheduled training when it is due (see the module docstring); the job, or None
    with the reason logged."""
    days = settings.PRODSIM_SEQUENCE_RETRAIN_DAYS
    if days <= 0:
        return None
    turn_lock(SCHEDULED_TRAININGS)  # two beats (or a retried task) start one training
    now = now or timezone.now()
    reason = _not_due(_last_training(), now=now, days=days)
    if reason:
        logger.info("sequence retraining not started: %s", reason)
        return None
    job = sequence_training_start(config=_config())
    logger.info("sequence retraining started: job %s, version %s", job.pk, job.version_id)
    return job


def _not_due(last: SequenceTrainingJob | None, *, now: dt.datetime, days: float) -> str:
    """Why no training starts now ("" when one should)."""
    if last is None:
        return "no sequence model was ever trained (train a first one to opt in)"
    if last.state in UNFINISHED:
        return f"training job {last.pk} is {last.state}"
    wait = min(days, RETRY_AFTER_FAILURE_DAYS) if _retry_soon(last) else days
    if last.created_at > now - dt.timedelta(days=wait):
        return f"the last training ({last.state}) started {last.created_at:%Y-%m-%d %H:%M} UTC"
    newest = BehaviourRefresh.objects.filter(
        state=BehaviourRefresh.State.SUCCEEDED, events_until__isnull=False
    ).order_by("-events_until")
    events_until = newest.values_list("events_until", flat=True).first()
    if events_until is None or events_until <= _learned_until(last):
        return "no events arrived since the last training"
    return ""


def _last_training() -> SequenceTrainingJob | None:
    """The newest training job; or, when the newest version is newer than every job (an admin
    deleted finished jobs to tidy the list), a stand-in finished when that version was made:
    the shop trained and opted in, and the schedule must not stop for a deleted job row."""
    job = SequenceTrainingJob.objects.order_by("-created_at").first()
    version = (
        SequenceModelVersion.objects.exclude(status=SequenceModelVersion.Status.FAILED)
        .order_by("-created_at")
        .first()
    )
    if version is not None and (job is None or version.created_at > job.created_at):
        return SequenceTrainingJob(
            version=version,
            state=SequenceTrainingJob.State.SUCCEEDED,
            created_at=version.created_at,
        )
    return job


def _retry_soon(last: SequenceTrainingJob) -> bool:
    """The last training failed, and the one before it did not."""
    if last.state not in FAILED:
        return False
    before = SequenceTrainingJob.objects.filter(created_at__lt=last.created_at)
    previous = before.order_by("-created_at").values_list("state", flat=True).first()
    return previous not in FAILED


def _learned_until(last: SequenceTrainingJob) -> dt.datetime:
    """When the newest finished training started: a failed or cancelled one learned nothing, so
    the events before it are new to the next training."""
    if last.state not in (*FAILED, SequenceTrainingJob.State.CANCELLED):
        return last.created_at
    succeeded = SequenceTrainingJob.objects.filter(state=SequenceTrainingJob.State.SUCCEEDED)
    newest = succeeded.order_by("-created_at").values_list("created_at", flat=True).first()
    return newest or dt.datetime.min.replace(tzinfo=dt.UTC)


def _config() -> SequenceConfig:
    """The serving version's settings, else the newest version's, checked as any new training's
    are; settings this release no longer reads, or that would train nothing (a version stored
    before the floors: epochs 0), give the defaults."""
    serving = SequenceModelVersion.objects.filter(status=SequenceModelVersion.Status.ACTIVE)
    version = serving.first() or SequenceModelVersion.objects.order_by("-created_at").first()
    try:
        return SequenceConfig.for_training(**(version.params if version else {}))
    except (TypeError, ValueError) as exc:
        logger.warning(
            "sequence retraining with the defaults: the last settings cannot train (%s)", exc
        )
        return SequenceConfig()
