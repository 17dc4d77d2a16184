"""GPU check of the sequence model: the same Keras 3 code under the JAX backend, mixed precision.

The lent GPU machine has JAX (no TensorFlow), so this trains `behaviour.ml.sequence` there on
synthetic shopper histories for about a minute and prints each epoch's time, both architectures,
plus the CPU-free parity check of the exported weights against the NumPy scorer. It imports no
Django and reads no data files; it needs numpy and keras (a wheel carried to the machine).

    KERAS_BACKEND=jax python bench/gpu/sequence_gpu_check.py              # ~1-2 min
    KERAS_BACKEND=jax python bench/gpu/sequence_gpu_check.py --items 100000 --seconds 60
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from behaviour.ml.sequence.config import SequenceConfig  # noqa: E402
from behaviour.ml.sequence.data import PURCHASE, SequenceData, time_split  # noqa: E402
from behaviour.ml.sequence.devices import MIXED_PRECISION  # noqa: E402


def synthetic(visitors: int, items: int, length: int, seed: int = 0) -> SequenceData:
    """Visitors walking item chains with noise: a learnable next-item pattern at any size."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, items, visitors)
    steps = np.arange(length)
    chain = (starts[:, None] + steps[None, :] * 7) % items
    noise = rng.random(chain.shape) < 0.2
    chain = np.where(noise, rng.integers(0, items, chain.shape), chain)
    visitor = np.repeat(np.arange(visitors), length)
    times = np.tile(steps, visitors) * 3600
    kinds = np.full(visitor.shape, PURCHASE)
    return SequenceData.from_arrays(visitor, chain.ravel(), kinds, times, items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=20000)
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--length", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--negatives", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=512)
    args = parser.parse_args()
    import keras

    from behaviour.ml.sequence.serving import SequenceScorer
    from behaviour.ml.sequence.train import train_sequence_model

    data = synthetic(args.visitors, args.items, args.length)
    train, valid = time_split(data, (args.length - 5) * 3600)
    content = np.random.default_rng(1).normal(size=(args.items, 32)).astype(np.float32)
    content /= np.linalg.norm(content, axis=1, keepdims=True)  # as the shop's vectors are
    report = {"backend": keras.backend.backend(), "keras": keras.__version__, "runs": []}
    for architecture in ("sasrec", "gru"):
        config = SequenceConfig(
            architecture=architecture,
            epochs=args.epochs,
            batch_size=args.batch_size,
            negatives=args.negatives,
            patience=args.epochs,
        )
        started = time.monotonic()
        result = train_sequence_model(
            train,
            valid,
            content,
            config,
            on_epoch=lambda e, m, a=architecture: print(f"{a} epoch {e}: {m}", flush=True),
        )
        seconds = time.monotonic() - started
        scorer = SequenceScorer(result.weights, config)
        items, kinds, _ = train.sequence(0)
        report["runs"].append(
            {
                "architecture": architecture,
                "device": result.device,
                # The scope restores the global policy when training ends; it was this within.
                "policy": MIXED_PRECISION if result.device != "cpu" else "float32",
                "seconds": round(seconds, 1),
                "epoch_seconds": [h["seconds"] for h in result.history],
                "best_recall": round(result.best_recall, 4),
                "numpy_scores_finite": bool(np.isfinite(scorer.score(items, kinds)).all()),
            }
        )
    print("GPU_CHECK " + json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
