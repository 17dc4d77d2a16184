"""What early stopping watches and what evaluation scores when held-out photos have nothing of
their label to find (a plain shop: one photo per product, no variant groups or categories)."""

import numpy as np
import pytest

from similarity.ml.evaluation.protocols import KNOWN_PRODUCTS, NEW_PRODUCTS
from similarity.services import protocol_queries, protocols
from similarity.services.datasets import SPLITS


def splits(**labels_of: list[int]) -> tuple[dict, dict]:
    """Tiny blank images with the given labels per split (the others empty)."""
    labels = {split: np.array(labels_of.get(split, []), dtype=np.int64) for split in SPLITS}
    arrays = {split: np.zeros((len(labels[split]), 2, 2, 3), np.uint8) for split in SPLITS}
    return arrays, labels


@pytest.mark.parametrize("protocol", [KNOWN_PRODUCTS, NEW_PRODUCTS])
def test_no_validation_when_no_validation_photo_has_a_photo_of_its_label(protocol):
    # One photo per product: the validation products are each their own label, and no photo
    # could be held out of a product that keeps another.
    arrays, labels = splits(train=[0, 1, 2, 3], val=[4, 5], test=[6, 7])

    assert protocols.validation_for(protocol, arrays, labels) is None


def test_validation_products_each_in_their_own_category_give_way_to_known_products():
    arrays, labels = splits(train=[0, 0, 1, 1], val=[2, 3], known_val=[1])

    validation = protocols.validation_for(NEW_PRODUCTS, arrays, labels)

    assert validation.labels.tolist() == [1]
    assert validation.gallery_labels.tolist() == [0, 0, 1, 1]


def test_validation_products_sharing_a_category_are_still_chosen_for_new_products():
    arrays, labels = splits(train=[0, 0, 1, 1], val=[2, 3, 2], known_val=[1])

    validation = protocols.validation_for(NEW_PRODUCTS, arrays, labels)

    assert (validation.labels.tolist(), validation.gallery_labels) == ([2, 3, 2], None)


def test_protocols_without_a_positive_have_no_figure_and_say_why(monkeypatch):
    def no_models(**_):
        raise AssertionError("nothing to score: no model should embed anything")

    monkeypatch.setattr(protocols.baselines, "row_vectors", no_models)
    arrays, labels = splits(train=[0, 1, 2, 3, 4], val=[5], test=[6, 7, 8])

    results = protocols.evaluate_protocols(
        model=None, config=None, arrays=arrays, labels=labels, metric="cosine"
    )
    metrics = protocols.version_metrics(
        results,
        KNOWN_PRODUCTS,
        refit=True,
        unmeasured=protocol_queries.unmeasured_protocols(arrays, labels),
    )

    assert results == {}
    assert metrics == {
        "protocols": {},
        "evaluation": {
            "protocol": None,
            "served_protocols": [],
            "refit_on_all": True,
            "unmeasured": {
                KNOWN_PRODUCTS: protocol_queries.NO_QUERIES[KNOWN_PRODUCTS],
                NEW_PRODUCTS: protocol_queries.NO_POSITIVE.format(queries=3),
            },
            "figures_from": "selection run",
        },
    }


def test_a_protocol_with_a_positive_is_measured_beside_one_without():
    arrays, labels = splits(train=[0, 0, 1], test=[2, 3], known_test=[0])

    assert protocol_queries.unmeasured_protocols(arrays, labels) == {
        NEW_PRODUCTS: protocol_queries.NO_POSITIVE.format(queries=2)
    }
