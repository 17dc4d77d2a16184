"""The refits on every product that follow model selection (`refit_on_all`), run by the ml
worker's pipeline: once without the known-products query photos, to score the served recipe on
them, then on every photo, the models served. `refit_models` of each, from their own seeds,
served side by side (ml.side_by_side)."""

from dataclasses import replace
from pathlib import Path

import numpy as np

from core.jobs import JobCancelled, ProgressWriter

from ..ml.artifacts import CHECKPOINT_DIR
from ..ml.side_by_side import member_seed, side_by_side
from ..ml.training import TrainingCancelled, TrainingConfig, TrainingResult, train
from ..ml.training.refit import refit_epochs
from ..models import ModelVersion
from . import protocols
from .datasets import SPLITS
from .photo_block import rows_joined
from .protocol_queries import unmeasured_protocols

Splits = dict[str, np.ndarray]  # "train", "val", "test", "known_test"

REFIT_DIR = "refit"  # each refit's own checkpoints, so a killed refit resumes as itself
REFIT_PHASE = "refitting on every product"
# The known-products figure is measured on a refit without its query photos (a figure of the
# served recipe, not the selection run's lower bound); the served model is then refit on every
# photo, because leaving a fifth of them out cost R@1 0.022 on clothing and 0.007 on grocery
# (docs/BENCHMARKS.md, clothing and grocery sections).
SCORED_REFIT_HOLDS_OUT = ("known_test",)
SCORED_REFIT_DIR = "refit-scored"
SCORED_REFIT_PHASE = "refitting without the known-products query photos"


def refits(
    version: ModelVersion,
    config: TrainingConfig,
    selection: TrainingResult,
    arrays: Splits,
    labels: Splits,
    report: ProgressWriter[dict],
    *,
    scored: bool = False,
) -> TrainingResult:
    """Train again on every product for as many epochs as model selection found best (see
    refit_epochs), so no product is left out of the served model for good: on every photo, or
    (`scored`) on all but the known-products queries, to measure the recipe on them. Once per
    model served side by side (`refit_models`), each from its own seed; the result's model puts
    their vectors side by side (ml.side_by_side)."""
    validation = protocols.validation_for(protocols.protocol_setting(), arrays, labels)
    epochs = refit_epochs(
        selection.history,
        configured=config.epochs,
        validation_queries=0 if validation is None else len(validation.images),
    )
    kept = [split for split in SPLITS if not scored or split not in SCORED_REFIT_HOLDS_OUT]
    images = rows_joined([arrays[split] for split in kept])  # a view: "known_test" is last
    kept_labels = np.concatenate([labels[split] for split in kept])
    results = [
        _member_train(
            version,
            replace(config, epochs=epochs, seed=member_seed(config.seed, member)),
            images,
            kept_labels,
            report,
            scored=scored,
            member=member,
        )
        for member in range(config.refit_models)
    ]
    return replace(
        results[0],
        model=side_by_side([result.model for result in results]),
        seconds=sum(result.seconds for result in results),
    )


def _member_train(
    version: ModelVersion,
    config: TrainingConfig,
    images: np.ndarray,
    labels: np.ndarray,
    report: ProgressWriter[dict],
    *,
    scored: bool,
    member: int,
) -> TrainingResult:
    """One model of a refit, with its own checkpoints, so a killed refit resumes as itself."""
    phase = SCORED_REFIT_PHASE if scored else REFIT_PHASE
    if config.refit_models > 1:
        phase = f"{phase}, model {member + 1} of {config.refit_models}"
    folder = SCORED_REFIT_DIR if scored else REFIT_DIR
    report({"phase": phase})
    return training_run(
        config,
        images=images,
        labels=labels,
        validation=None,
        checkpoint_dir=Path(version.artifact_dir)
        / CHECKPOINT_DIR
        / (f"{folder}-{member + 1}" if member else folder),
        report=lambda entry: report({"phase": phase, **entry}),
        should_cancel=report.cancel_requested,
    )


def scored_refit_metrics(
    version, config, selection, arrays, labels, report, *, metrics: dict, protocol: str
) -> dict:
    """`metrics` with the known-products figures of refits without those query photos, side by
    side as served (their models are dropped on return, leaving the memory to the served
    refits)."""
    scored = refits(version, config, selection, arrays, labels, report, scored=True)
    results = protocols.served_known_products(
        model=scored.model,
        arrays=arrays,
        labels=labels,
        metric=version.metric,
        results=metrics["protocols"],
    )
    return protocols.version_metrics(
        results,
        protocol,
        refit=True,
        served=(protocols.KNOWN_PRODUCTS,),
        unmeasured=unmeasured_protocols(arrays, labels),
    )


def training_run(config: TrainingConfig, *, report, **arguments) -> TrainingResult:
    """train(); the ml code knows nothing of jobs, so its cancellation becomes JobCancelled."""
    try:
        return train(config, progress=report, **arguments)
    except TrainingCancelled:
        raise JobCancelled() from None
