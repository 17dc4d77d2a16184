"""Experiment reads: which arm a session is in, which version serves it, and the results."""

import hashlib
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils.crypto import salted_hmac

from similarity import selectors as similarity_selectors
from similarity.models import ModelVersion

from . import stats
from .models import Experiment, Impression

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


@dataclass(frozen=True)
class ArmResult:
    arm: str
    versions: list[ModelVersion]  # the versions that served this arm's impressions
    impressions: int
    clicks: int  # every click, repeats included
    clicked_impressions: int  # impressions with at least one click: the CTR's numerator
    ctr: stats.Interval | None  # clicked impressions / impressions with its 95 % interval


@dataclass(frozen=True)
class ExperimentResults:
    widget: str
    arms: dict[str, ArmResult]
    difference: stats.Interval | None  # candidate CTR − control CTR with its 95 % interval


def experiment_results(
    *, experiment: Experiment, widget: str = Impression.Widget.SIMILAR
) -> ExperimentResults:
    """Per-arm impressions, clicks and CTR of one widget (by default the one the test changes).

    CTR counts an impression as clicked once however often its link was followed, so it is a
    binomial proportion the intervals apply to. Impressions of one session are treated as
    independent, which makes the intervals somewhat optimistic for heavy browsers.
    """
    impressions = Impression.objects.filter(experiment=experiment, widget=widget)
    counts = {
        row["arm"]: row
        for row in impressions.values("arm").annotate(
            n_impressions=Count("id", distinct=True),
            n_clicks=Count("clicks"),
            n_clicked=Count("id", distinct=True, filter=Q(clicks__isnull=False)),
        )
    }
    served = impressions.values_list("arm", "model_version").distinct()
    by_arm: dict[str, list[int]] = {}
    for arm, version_id in served:
        if version_id is not None:
            by_arm.setdefault(arm, []).append(version_id)
    versions = ModelVersion.objects.in_bulk([pk for pks in by_arm.values() for pk in pks])
    arms = {}
    for arm in Experiment.Arm.values:
        row = counts.get(arm, {"n_impressions": 0, "n_clicks": 0, "n_clicked": 0})
        arms[arm] = ArmResult(
            arm=arm,
            versions=[versions[pk] for pk in sorted(by_arm.get(arm, []))],
            impressions=row["n_impressions"],
            clicks=row["n_clicks"],
            clicked_impressions=row["n_clicked"],
            ctr=stats.wilson_interval(row["n_clicked"], row["n_impressions"]),
        )
    candidate, control = arms[Experiment.Arm.CANDIDATE], arms[Experiment.Arm.CONTROL]
    difference = stats.difference_interval(
        candidate.clicked_impressions,
        candidate.impressions,
        control.clicked_impressions,
        control.impressions,
    )
    return ExperimentResults(widget=widget, arms=arms, difference=difference)


VERSION_EXPERIMENTS_SHOWN = 10  # newest first; a version rarely takes part in more


@dataclass(frozen=True)
class VersionExperiment:
    """One experiment a model version took part in, with the arms it served and the results."""

    experiment: Experiment
    roles: list[str]  # "candidate" and/or "control": the arms this version had a part in
    results: ExperimentResults


def version_experiments(*, version: ModelVersion) -> list[VersionExperiment]:
    """The experiments where `version` was the candidate or served an arm's similar items.

    The control arm is served by whichever version was active, and each impression records
    it, so a version that was active during someone else's experiment finds it here too.
    """
    served = Impression.objects.filter(
        model_version=version, widget=Impression.Widget.SIMILAR, experiment__isnull=False
    ).values("experiment")
    experiments = Experiment.objects.filter(Q(candidate=version) | Q(pk__in=served)).order_by("-pk")
    found = []
    for experiment in experiments[:VERSION_EXPERIMENTS_SHOWN]:
        results = experiment_results(experiment=experiment)
        roles = [
            arm
            for arm, result in results.arms.items()
            if version in result.versions
            or (arm == Experiment.Arm.CANDIDATE and experiment.candidate_id == version.pk)
        ]
        found.append(VersionExperiment(experiment=experiment, roles=roles, results=results))
    return found
