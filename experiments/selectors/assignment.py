"""Which arm of the running experiment a session is in, and which version serves it."""

import hashlib
from dataclasses import dataclass, field

from django.db.models import F, Q
from django.utils.crypto import salted_hmac

from behaviour.models import SequenceModelVersion
from similarity import selectors as similarity_selectors
from similarity.models import ModelVersion

from ..models import Experiment, Widget

BUCKETS = 10_000  # basis points: a share of 0.01 % is the finest split
SESSION_HASH_SALT = "prodsim.experiments.session"


@dataclass(frozen=True)
class Assignment:
    """The session's arms and what serves them. `experiment`, `arm` and `version` are the
    similar-items strip's (its arm "" when no experiment runs on it); `arms` holds every
    running experiment's arm by widget."""

    experiment: Experiment | None
    arm: str
    version: ModelVersion | None  # serves the similar items: the candidate or the active one
    active: ModelVersion | None  # serves everything else
    arms: dict = field(default_factory=dict)  # widget → (experiment, arm)

    def for_widget(self, widget: str) -> tuple[Experiment | None, str]:
        """The experiment changing `widget` and this session's arm in it ((None, "") if none)."""
        return self.arms.get(widget, (None, ""))

    def candidate_for(self, widget: str) -> Experiment | None:
        """The experiment whose candidate variant this session sees on `widget`, if any."""
        experiment, arm = self.for_widget(widget)
        return experiment if arm == Experiment.Arm.CANDIDATE else None


def session_id_hash(*, shopper_id: str) -> str:
    """HMAC-SHA256 of the session's experiments id (sessions.session_hash: a random id kept in
    the session, which outlives the key's renewal at sign-in), keyed by SECRET_KEY (hex).

    salted_hmac derives the HMAC key from SECRET_KEY and a purpose string, so these hashes can
    never be replayed as, or collide with, anything else Django signs with the same secret.
    """
    return salted_hmac(SESSION_HASH_SALT, shopper_id, algorithm="sha256").hexdigest()


def arm_for(*, salt: str, share: int, session_id: str) -> str:
    """Deterministic: candidate iff int(sha256(salt + session_id)) mod 10000 < share × 100."""
    bucket = int(hashlib.sha256((salt + session_id).encode()).hexdigest(), 16) % BUCKETS
    return Experiment.Arm.CANDIDATE if bucket < share * 100 else Experiment.Arm.CONTROL


def running_experiments() -> dict[str, Experiment]:
    """The running experiment of each widget while its candidate can serve.

    A version candidate must still be ready (trained, embedded and indexed, not active) and
    never activated since the experiment started: one that was activated (even if rolled back
    since), archived or failed meanwhile ends the split for good, and everyone is served as
    usual until the admin stops the experiment; its results would mix two periods otherwise.
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
    running = Experiment.objects.filter(ready, active=True).select_related(
        "candidate", "sequence_candidate"
    )
    return {experiment.widget: experiment for experiment in running}


def running_experiment() -> Experiment | None:
    """The running experiment of the similar-items strip (see running_experiments)."""
    return running_experiments().get(Widget.SIMILAR)


def assignment_for(*, session_id: str) -> Assignment:
    control = similarity_selectors.active_version()
    arms = {
        widget: (
            experiment,
            arm_for(salt=experiment.salt, share=experiment.share, session_id=session_id),
        )
        for widget, experiment in running_experiments().items()
    }
    experiment, arm = arms.get(Widget.SIMILAR, (None, ""))
    version = experiment.candidate if arm == Experiment.Arm.CANDIDATE else control
    return Assignment(experiment, arm, version, control, arms)
