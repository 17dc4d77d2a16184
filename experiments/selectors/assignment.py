"""Which arm of each running experiment a shopper is in, and which version serves them."""

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.db.models import Exists, F, OuterRef, Q

from behaviour.models import SequenceModelVersion
from similarity import selectors as similarity_selectors
from similarity.models import ModelVersion

from ..models import Experiment, Widget

BUCKETS = 10_000  # basis points: a share of 0.01 % is the finest split
# The variants whose arms are served by the active image version or the active sequence version:
# an activation (a scheduled retraining's, a rollback) changes what one arm or both are shown.
IMAGE_SERVED = [Experiment.Variant.MODEL_VERSION, Experiment.Variant.SIMILAR_ITEMS]
SEQUENCE_SERVED = [Experiment.Variant.SEQUENCE_VERSION, Experiment.Variant.WITHOUT_REPEATS]


@dataclass(frozen=True)
class Shopper:
    """Whom a page's impressions are logged for (experiments.sessions.shopper_for): the visitor
    hash, and when the page read the visitor id (an erasure at or after that moment refuses
    them)."""

    hash: str
    read_at: dt.datetime


@dataclass(frozen=True)
class Assignment:
    """The shopper's arms and what serves them. `experiment`, `arm` and `version` are the
    similar-items strip's (its arm "" when no experiment runs on it); `arms` holds every
    running experiment's arm by widget."""

    experiment: Experiment | None
    arm: str
    version: ModelVersion | None  # serves the similar items: the candidate or the active one
    active: ModelVersion | None  # serves everything else
    arms: dict = field(default_factory=dict)  # widget → (experiment, arm)

    def for_widget(self, widget: str) -> tuple[Experiment | None, str]:
        """The experiment changing `widget` and this shopper's arm in it ((None, "") if none)."""
        return self.arms.get(widget, (None, ""))

    def candidate_for(self, widget: str) -> Experiment | None:
        """The experiment whose candidate variant this shopper sees on `widget`, if any."""
        experiment, arm = self.for_widget(widget)
        return experiment if arm == Experiment.Arm.CANDIDATE else None


def arm_for(*, salt: str, share: int, shopper_hash: str) -> str:
    """Deterministic: candidate iff int(sha256(salt + shopper_hash)) mod 10000 < share × 100.

    `shopper_hash` is the shopper's visitor hash (experiments.sessions): a signed-in customer
    draws one arm for every device."""
    bucket = int(hashlib.sha256((salt + shopper_hash).encode()).hexdigest(), 16) % BUCKETS
    return Experiment.Arm.CANDIDATE if bucket < share * 100 else Experiment.Arm.CONTROL


def running_experiments() -> dict[str, Experiment]:
    """The running experiment of each widget while its candidate can serve.

    A version candidate must still be ready (trained, embedded and indexed, not active) and
    never activated since the experiment started: one that was activated (even if rolled back
    since), archived or failed meanwhile ends the split for good, and everyone is served as
    usual until the admin stops the experiment; its results would mix two periods otherwise.
    So does any activation of the kind of version an arm is served by (IMAGE_SERVED,
    SEQUENCE_SERVED): a scheduled retraining that replaced the control's version mid-test pooled
    two controls into one figure.
    """
    ready = Q(
        variant=Experiment.Variant.MODEL_VERSION,
        candidate__status=ModelVersion.Status.READY,
    ) & (Q(candidate__activated_at__isnull=True) | Q(candidate__activated_at__lt=F("started_at")))
    ready |= Q(
        variant=Experiment.Variant.SEQUENCE_VERSION,
        sequence_candidate__status=SequenceModelVersion.Status.READY,
    ) & (
        Q(sequence_candidate__activated_at__isnull=True)
        | Q(sequence_candidate__activated_at__lt=F("started_at"))
    )
    ready |= ~Q(variant__in=[Experiment.Variant.MODEL_VERSION, Experiment.Variant.SEQUENCE_VERSION])
    image_activated = ModelVersion.objects.filter(activated_at__gt=OuterRef("started_at"))
    sequence_activated = SequenceModelVersion.objects.filter(
        activated_at__gt=OuterRef("started_at")
    )
    running = (
        Experiment.objects.filter(ready, active=True)
        .exclude(Q(variant__in=IMAGE_SERVED) & Exists(image_activated))
        .exclude(Q(variant__in=SEQUENCE_SERVED) & Exists(sequence_activated))
        .select_related("candidate", "sequence_candidate")
    )
    return {experiment.widget: experiment for experiment in running}


def running_experiment() -> Experiment | None:
    """The running experiment of the similar-items strip (see running_experiments)."""
    return running_experiments().get(Widget.SIMILAR)


def assignment_for(*, shopper_hash: str | None) -> Assignment:
    """The shopper's arm in each running experiment. None (a crawler, core.crawlers): no
    arms, everything served as to everyone and nothing counted in any experiment."""
    control = similarity_selectors.active_version()
    running = running_experiments() if shopper_hash is not None else {}
    arms = {
        widget: (
            experiment,
            arm_for(salt=experiment.salt, share=experiment.share, shopper_hash=shopper_hash),
        )
        for widget, experiment in running.items()
    }
    experiment, arm = arms.get(Widget.SIMILAR, (None, ""))
    version = experiment.candidate if arm == Experiment.Arm.CANDIDATE else control
    return Assignment(experiment, arm, version, control, arms)
