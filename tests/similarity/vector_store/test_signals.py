"""Signals: each candidate's similarities to a query's own vectors."""

import pytest

from similarity import vector_store
from tests.catalog.factories import shape_catalogue

from .factories import store, unit, version

pytestmark = pytest.mark.django_db


def test_candidate_signals_compare_each_stored_vector_with_the_query_and_none_where_missing():
    products = shape_catalogue(colours=1)
    v = version(2)
    store(v, products[:3], [unit(1, 0), unit(0.6, 0.8), unit(-1, 0)])  # the last has none

    signals = vector_store.candidate_signals(
        version=v,
        index=None,
        product_ids=[p.pk for p in products],
        source=vector_store.QueryVectors(image=unit(1, 0)),
    )

    assert {pid: (s.text, s.text_learned) for pid, s in signals.items()} == {
        p.pk: (None, None) for p in products
    }
    images = {pid: s.image for pid, s in signals.items()}
    assert images == {
        products[0].pk: pytest.approx(1.0, abs=1e-6),
        products[1].pk: pytest.approx(0.6, abs=1e-6),
        products[2].pk: pytest.approx(-1.0, abs=1e-6),
        products[3].pk: None,
    }
