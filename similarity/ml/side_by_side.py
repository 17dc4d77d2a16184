"""Several embedding models served as one: their unit vectors side by side.

Two models trained from different seeds go wrong on different photos. Concatenated and scaled
by 1/√n, their unit vectors make one unit vector whose cosine with another is the mean of the
members' cosines, which averages much of one seed's spread away (docs/BENCHMARKS.md,
quality-clothing, "Two models side by side"). One graph runs them all, so the export, its
LiteRT parity check and every embedder treat the result as a single model.
"""

import math
from collections.abc import Sequence

import keras
from keras import layers


def side_by_side(models: Sequence[keras.Model]) -> keras.Model:
    """One model: an image in [0, 255] → the members' vectors concatenated, scaled to unit
    length. A single member is returned as it is."""
    if len(models) == 1:
        return models[0]
    image = keras.Input(models[0].input_shape[1:], name="image")
    # Each member renamed, so the outer graph's layer names stay unique.
    vectors = [
        keras.Model(model.input, model.output, name=f"member_{index}")(image)
        for index, model in enumerate(models)
    ]
    joined = layers.Concatenate(name="side_by_side", dtype="float32")(vectors)
    scaled = layers.Rescaling(1 / math.sqrt(len(models)), name="unit_length", dtype="float32")
    return keras.Model(image, scaled(joined), name="embedding_models")


def member_seed(seed: int, member: int) -> int:
    """The training seed of the `member`-th model (0: the configured seed itself)."""
    return seed + member
