"""Warm-up and fine-tuning phases, and the files that let a killed job resume between them."""

import json
from pathlib import Path

import keras

from ..options import SCHEDULES
from .config import TrainingConfig

Rate = float | keras.optimizers.schedules.LearningRateSchedule


def phases(
    config: TrainingConfig, pretrained: bool, *, steps_per_epoch: int
) -> list[tuple[int, int, float, Rate]]:
    """(first epoch, end epoch, trainable top fraction, learning rate) per phase."""
    if not pretrained:
        planned = [(0, config.epochs, 1.0, config.learning_rate)]
    else:
        warmup = min(config.warmup_epochs, config.epochs)
        planned = [(0, warmup, 0.0, config.learning_rate)]
        if config.epochs > warmup:
            planned.append(
                (warmup, config.epochs, config.finetune_fraction, config.finetune_learning_rate)
            )
    first, end, fraction, rate = planned[-1]
    steps = steps_per_epoch * (end - first)
    return [*planned[:-1], (first, end, fraction, learning_rate(config, rate, steps=steps))]


def learning_rate(config: TrainingConfig, rate: float, *, steps: int) -> Rate:
    """The last phase's learning rate: `rate`, or under the cosine schedule a decay from it to
    zero over the phase's `steps` (the optimizer's own step count drives it, and a phase
    resumed from its backup restores that count with the optimizer)."""
    if config.learning_rate_schedule not in SCHEDULES:
        raise ValueError(
            f"unknown learning_rate_schedule {config.learning_rate_schedule!r}; "
            f"choose one of {', '.join(SCHEDULES)}"
        )
    if config.learning_rate_schedule == "constant":
        return rate
    return keras.optimizers.schedules.CosineDecay(rate, decay_steps=max(1, steps))


def resume_epoch(
    embedding_model: keras.Model, checkpoint_dir: Path, number: int, first: int, last: int
) -> int:
    """The epoch a phase starts at; after a phase an earlier run finished, it loads its weights.

    A phase that ran to its end continues from there when the configuration now asks for more
    epochs; one that early stopping ended is done. Within an unfinished phase the callbacks
    resume: BackupAndRestore (weights, optimizer, epoch) and ResumableEarlyStopping (best,
    wait, best weights), whose state is per phase, so fine-tuning watches its own epochs
    after warm-up as in a run that was never interrupted.
    """
    weights_file, state_file = _phase_files(checkpoint_dir, number)
    if not state_file.exists():
        return first
    embedding_model.load_weights(weights_file)
    state = json.loads(state_file.read_text())
    return last if state["stopped_early"] else max(first, state["end_epoch"])


def mark_phase_finished(
    embedding_model: keras.Model,
    checkpoint_dir: Path,
    number: int,
    end_epoch: int,
    stopped_early: bool,
) -> None:
    weights_file, state_file = _phase_files(checkpoint_dir, number)
    embedding_model.save_weights(weights_file)
    # Written after the weights: the state file is what marks the phase finished.
    state_file.write_text(json.dumps({"end_epoch": end_epoch, "stopped_early": stopped_early}))


def _phase_files(checkpoint_dir: Path, number: int) -> tuple[Path, Path]:
    return checkpoint_dir / f"phase{number}.weights.h5", checkpoint_dir / f"phase{number}.json"
