"""Which arm of the running experiment a session is in, and which version serves it."""

import hashlib
from dataclasses import dataclass

from django.utils.crypto import salted_hmac

from similarity import selectors as similarity_selectors
from similarity.models import ModelVersion

from ..models import Experiment

BUCKETS = 10_000  # basis points: a share of 0.01 % is the finest split
SESSION_HASH_SALT = "prodsim.experiments.session"


@dataclass(frozen=True)
class Assignment:
    """The session's arm ("" when no experiment runs) and the version serving its similar items."""

    experiment: Experiment | None
    arm: str
    version: ModelVersion | None  # serves the similar items: the candidate or the active one
    active: ModelVersion | None  # serves everything else


def session_id_hash(*, session_key: str) -> str:
    """HMAC-SHA256 of the session key, keyed by SECRET_KEY (hex).

    salted_hmac derives the HMAC key from SECRET_KEY and a purpose string, so these hashes can
    never be replayed as, or collide with, anything else Django signs with the same secret.
    """
    return salted_hmac(SESSION_HASH_SALT, session_key, algorithm="sha256").hexdigest()


def arm_for(*, salt: str, share: int, session_id: str) -> str:
    """Deterministic: candidate iff int(sha256(salt + session_id)) mod 10000 < share × 100."""
    bucket = int(hashlib.sha256((salt + session_id).encode()).hexdigest(), 16) % BUCKETS
    return Experiment.Arm.CANDIDATE if bucket < share * 100 else Experiment.Arm.CONTROL


def running_experiment() -> Experiment | None:
    """The running experiment while its candidate can serve (ready, i.e. embedded and indexed).

    A candidate that was activated, archived or failed meanwhile ends the split: everyone is
    served the active version until the admin stops the experiment.
    """
    return (
        Experiment.objects.filter(active=True, candidate__status=ModelVersion.Status.READY)
        .select_related("candidate")
        .first()
    )


def assignment_for(*, session_id: str) -> Assignment:
    control = similarity_selectors.active_version()
    experiment = running_experiment()
    if experiment is None:
        return Assignment(None, "", control, control)
    arm = arm_for(salt=experiment.salt, share=experiment.share, session_id=session_id)
    version = experiment.candidate if arm == Experiment.Arm.CANDIDATE else control
    return Assignment(experiment, arm, version, control)
