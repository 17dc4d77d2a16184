from types import SimpleNamespace

import pytest

from similarity.models import FusionWeights
from tests.catalog.factories import shape_catalogue
from tests.similarity.vector_store.factories import store, version

from .factories import ACTIVE_VECTORS, CANDIDATE_VECTORS


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
