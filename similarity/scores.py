"""Cosine similarity on the [0, 1] scale that fused scores, explanations and the API show.

Vectors are L2-normalised, so a cosine lies in [-1, 1] and pgvector's cosine distance (`<=>`,
1 - cosine) in [0, 2]; both map linearly to [0, 1], with 0.5 for orthogonal vectors. Plain
Python: no Django.
"""

import math


def cosine_to_unit(cosine: float) -> float | None:
    """(1 + cosine) / 2, the cosine first clamped to [-1, 1] (float error can step outside).

    None for a NaN or infinite cosine (a vector without direction): the clamp would read NaN
    as a perfect match, and a signal without a value drops out of the fused score.
    """
    if not math.isfinite(cosine):
        return None
    return (1.0 + max(-1.0, min(1.0, cosine))) / 2.0


def cosine_distance_to_unit(distance: float) -> float:
    """1 - distance / 2: a cosine distance in [0, 2] on the same scale as `cosine_to_unit`."""
    return 1.0 - distance / 2.0
