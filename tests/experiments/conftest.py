import math
from types import SimpleNamespace

import numpy as np
import pytest

from experiments.models import Experiment
from similarity.models import FusionWeights
from tests.catalog.factories import shape_catalogue
from tests.similarity.test_vector_store import store, unit, version


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


@pytest.fixture
def shop(db):
    """8 products (4 variant groups of 2), an active version and a ready candidate that rank
    SQUARE-0-0's similar items in opposite orders; image-only weights make those orders exact."""
    products = {p.sku: p for p in shape_catalogue(colours=2)}
    FusionWeights.objects.create(image=1, text=0, text_learned=0, attributes=0, price=0)
    active, candidate = version(2, status="active"), version(2, status="ready")
    store(active, [products[sku] for sku in ACTIVE_VECTORS], list(ACTIVE_VECTORS.values()))
    store(candidate, [products[sku] for sku in CANDIDATE_VECTORS], list(CANDIDATE_VECTORS.values()))
    return SimpleNamespace(products=products, active=active, candidate=candidate)


def running(candidate, share: int, name: str = "frames first") -> Experiment:
    from experiments.services import experiment_start

    return experiment_start(
        experiment=Experiment.objects.create(name=name, candidate=candidate, share=share)
    )
