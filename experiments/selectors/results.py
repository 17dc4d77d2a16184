"""What an experiment measured: impressions, clicks and CTR per arm, with their intervals."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from behaviour.models import SequenceModelVersion
from similarity.models import ModelVersion

from .. import design, stats
from ..models import Experiment, Impression
from ..retention import impressions_cutoff
from .arm_counts import ArmCounts, arm_counts
from .state import experiments_with_split_state

VERSION_EXPERIMENTS_SHOWN = 10  # newest first; a version rarely takes part in more
NO_COUNTS = ArmCounts(shoppers=0, clicks=0, sums=stats.ShopperSums(0, 0, 0, 0, 0, 0))


@dataclass(frozen=True)
class ArmResult:
    arm: str
    versions: list[ModelVersion]  # the image versions that served this arm's impressions
    shoppers: int  # visitors whose newest impression is in this arm (arm_counts.ArmCounts)
    impressions: int
    clicks: int  # every click, repeats included
    clicked_impressions: int  # impressions with at least one click: the CTR's numerator
    ctr: stats.Interval | None  # clicked impressions / impressions with its 95 % interval
    # A sequence-version test's sequence version of this arm where known (sequence_served).
    sequence_version: SequenceModelVersion | None


@dataclass(frozen=True)
class ExperimentResults:
    widget: str
    arms: dict[str, ArmResult]
    difference: stats.Interval | None  # candidate CTR − control CTR with its 95 % interval
    counted_until: dt.datetime | None  # a stopped experiment's end: nothing later is counted
    # The retention cut, when it falls after the start: older impressions and clicks are gone.
    counted_from: dt.datetime | None
    share: int  # percent of shoppers the split sends to the candidate
    # The sample ratio check of the shoppers per arm against the experiment's share (None: the
    # test cannot speak yet, see design.sample_ratio_p).
    sample_ratio_p: float | None
    # Impressions each arm needs to detect each of design.PLANNED_CHANGES of the control's CTR
    # (empty while the control has no clicks, or only clicks).
    needed: dict[float, int]
    too_early: bool  # an arm has under stats.MIN_EFFECTIVE_SHOPPERS effective shoppers
    sequence_test: bool  # the arms differ in the sequence version (ArmResult.sequence_version)

    @property
    def sample_ratio_mismatch(self) -> bool:
        return self.sample_ratio_p is not None and self.sample_ratio_p < design.SAMPLE_RATIO_ALPHA


def experiment_results(*, experiment: Experiment, widget: str | None = None) -> ExperimentResults:
    """Per-arm impressions, clicks and CTR of one widget (by default the one the test changes).

    CTR counts an impression as clicked once however often its link was followed. Its
    intervals are Wilson's (per arm) and Newcombe's (the difference), widened where the
    shoppers' own spread says more: one shopper's impressions are not independent
    (stats.ctr_interval).

    A stopped experiment counts the impressions and clicks made up to its stop only: a link
    shown before it stays valid for days (tokens.LINK_MAX_AGE_S), a page being rendered as it
    stopped logs its impressions a moment later, and its figures must not move after the
    decision they supported.
    """
    widget = widget or experiment.widget
    counts = arm_counts(
        experiment_id=experiment.pk, widget=widget, counted_until=experiment.ended_at
    )
    shown = Impression.objects.filter(experiment=experiment, widget=widget)
    if experiment.ended_at is not None:
        shown = shown.filter(created_at__lte=experiment.ended_at)
    served = shown.values_list("arm", "model_version").distinct()
    by_arm: dict[str, list[int]] = {}
    for arm, version_id in served:
        if version_id is not None:
            by_arm.setdefault(arm, []).append(version_id)
    versions = ModelVersion.objects.in_bulk([pk for pks in by_arm.values() for pk in pks])
    sequence = sequence_served(experiment=experiment)
    arms = {}
    for arm in Experiment.Arm.values:
        count = counts.get(arm, NO_COUNTS)
        arms[arm] = ArmResult(
            arm=arm,
            versions=[versions[pk] for pk in sorted(by_arm.get(arm, []))],
            shoppers=count.shoppers,
            impressions=count.sums.impressions,
            clicks=count.clicks,
            clicked_impressions=count.sums.clicked,
            ctr=stats.ctr_interval(count.sums),
            sequence_version=sequence.get(arm),
        )
    sums = {arm: counts.get(arm, NO_COUNTS).sums for arm in Experiment.Arm.values}
    candidate, control = arms[Experiment.Arm.CANDIDATE], arms[Experiment.Arm.CONTROL]
    difference = stats.ctr_difference_interval(
        sums[Experiment.Arm.CANDIDATE], sums[Experiment.Arm.CONTROL]
    )
    return ExperimentResults(
        widget=widget,
        arms=arms,
        difference=difference,
        counted_until=experiment.ended_at,
        counted_from=_retention_cut(experiment),
        share=experiment.share,
        needed=design.impressions_needed_per_change(sums[Experiment.Arm.CONTROL]),
        too_early=min(map(stats.effective_shoppers, sums.values())) < stats.MIN_EFFECTIVE_SHOPPERS,
        sample_ratio_p=design.sample_ratio_p(
            candidate.shoppers, control.shoppers, experiment.share / 100
        ),
        sequence_test=experiment.variant == Experiment.Variant.SEQUENCE_VERSION,
    )


def sequence_served(*, experiment: Experiment) -> dict[str, SequenceModelVersion]:
    """The sequence version that served each arm of a sequence-version test, where certain.

    The candidate arm's is the experiment's candidate. The control's is whichever version was
    active, which impressions do not record: it is named only when the version active now was
    activated before the start, so served throughout (any activation since would have
    replaced it, and its own would carry a later time).
    """
    if experiment.variant != Experiment.Variant.SEQUENCE_VERSION:
        return {}
    served = {Experiment.Arm.CANDIDATE: experiment.sequence_candidate}
    if experiment.started_at is not None:
        control = SequenceModelVersion.objects.filter(
            status=SequenceModelVersion.Status.ACTIVE, activated_at__lte=experiment.started_at
        ).first()
        if control is not None:
            served[Experiment.Arm.CONTROL] = control
    return served


@dataclass(frozen=True)
class VersionExperiment:
    """One experiment a model version took part in, with the arms it served and the results."""

    experiment: Experiment
    roles: list[str]  # "candidate" and/or "control": the arms this version had a part in
    results: ExperimentResults


def version_experiments(*, version: ModelVersion) -> list[VersionExperiment]:
    """The experiments of the similar-items strip where `version` was the candidate or served
    an arm (annotated with `split_ended`, see state.py).

    The control arm is served by whichever version was active, and each impression records
    it, so a version that was active during someone else's experiment finds it here too. Only
    a "model version" variant serves its candidate: a candidate named on another variant (which
    older rows may have) never served anything, so it is no evidence about the version.
    """
    tested = Q(candidate=version, variant=Experiment.Variant.MODEL_VERSION)
    served = Impression.objects.filter(
        model_version=version, widget=Impression.Widget.SIMILAR, experiment__isnull=False
    ).values("experiment")
    experiments = experiments_with_split_state(
        Experiment.objects.filter(tested | Q(pk__in=served, widget=Impression.Widget.SIMILAR))
    ).order_by("-pk")
    found = []
    for experiment in experiments[:VERSION_EXPERIMENTS_SHOWN]:
        results = experiment_results(experiment=experiment)
        named = experiment.variant == Experiment.Variant.MODEL_VERSION and (
            experiment.candidate_id == version.pk
        )
        roles = [
            arm
            for arm, result in results.arms.items()
            if version in result.versions or (arm == Experiment.Arm.CANDIDATE and named)
        ]
        found.append(VersionExperiment(experiment=experiment, roles=roles, results=results))
    return found


def _retention_cut(experiment: Experiment) -> dt.datetime | None:
    """Where retention (services.impressions_retention_enforce) cut the test's log, if after
    its start: its figures then count from there, which its page must say."""
    cut = impressions_cutoff()
    started = experiment.started_at
    return cut if started is not None and cut > started else None
