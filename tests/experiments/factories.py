"""Builders for the A/B test tests: the two versions' vectors, a running experiment, logged
impressions and clicks."""

import math

import numpy as np

from experiments.models import Click, Experiment, Impression
from tests.similarity.vector_store.factories import unit


def at(degrees: float) -> np.ndarray:
    """A unit vector at this angle from SQUARE-0-0's; variants lie more than 14° apart, so the
    near-duplicate collapse (cosine ≥ 0.97) never reorders them."""
    return unit(math.cos(math.radians(degrees)), math.sin(math.radians(degrees)))


ACTIVE_VECTORS = {  # bars, then crosses, then frames
    "SQUARE-0-0": at(0),
    "SQUARE-0-1": at(5),
    "BAR-0-0": at(10),
    "BAR-0-1": at(35),
    "CROSS-0-0": at(60),
    "CROSS-0-1": at(85),
    "FRAME-0-0": at(110),
    "FRAME-0-1": at(135),
}
CANDIDATE_VECTORS = {  # frames, then crosses, then bars
    **ACTIVE_VECTORS,
    "FRAME-0-0": at(10),
    "FRAME-0-1": at(35),
    "BAR-0-0": at(110),
    "BAR-0-1": at(135),
}


def running(candidate, share: int, name: str = "frames first") -> Experiment:
    from experiments.services import experiment_start

    return experiment_start(
        experiment=Experiment.objects.create(name=name, candidate=candidate, share=share)
    )


def impressions(
    experiment,
    version,
    arm: str,
    count: int,
    clicks: list[int],
    widget="similar",
    per_shopper: int = 1,
):
    """`count` impressions, `per_shopper` of them for each shopper; clicks[i] clicks on the
    i-th. Returns the impressions."""
    product = Impression._meta.get_field("shown_product").related_model.objects.first()
    rows = Impression.objects.bulk_create(
        Impression(
            widget=widget,
            shown_product=product,
            position=1 + i % 8,
            model_version=version,
            experiment=experiment,
            arm=arm,
            session_hash=f"{arm or 'none'}-{i // per_shopper:053}",
        )
        for i in range(count)
    )
    Click.objects.bulk_create(
        Click(impression=row, session_hash=row.session_hash)
        for row, n in zip(rows, clicks, strict=False)
        for _ in range(n)
    )
    return rows
