"""Which held-out photos each evaluation protocol asks with, what they are ranked among, and
whether any of them has a photo of its label to find (plain NumPy on the snapshot's splits).

A plain shop (one photo per product, no variant groups, no categories) gives neither protocol a
query with a relevant photo: Recall@1 is undefined there (`retrieval_metrics` raises), so such
a protocol has no figure, only a reason, and early stopping has nothing to watch.
"""

import numpy as np

from ..ml.evaluation import answerable_queries
from ..ml.evaluation.protocols import KNOWN_PRODUCTS, NEW_PRODUCTS
from ..ml.training import Validation
from .datasets import SPLITS

# Why a protocol has no figure: metrics["evaluation"]["unmeasured"] and the job log show it.
NO_QUERIES = {
    KNOWN_PRODUCTS: (
        "no photo could be held out of a product (or label) that keeps other photos in the "
        "catalogue: each has one photo, or one burst of near-duplicates"
    ),
    NEW_PRODUCTS: "the catalogue has too few products (or variant groups) to hold any out",
}
NO_POSITIVE = (
    "none of its {queries} held-out photos has another photo of its label to find (one photo "
    "per product, without variant groups or shared categories); gold photos can measure it"
)

Splits = dict[str, np.ndarray]


def protocol_queries(arrays: Splits) -> dict[str, tuple[np.ndarray, np.ndarray, bool]]:
    """{protocol: (query positions, gallery positions, exclude_self)} in the splits' photos
    concatenated in SPLITS order. New products: the queries first in their own gallery, so
    exclude_self drops each query's own image from its ranking."""
    where = split_positions(arrays)
    known_gallery = np.concatenate([where[s] for s in SPLITS if s != "known_test"])
    new_gallery = np.concatenate([where["test"], *(where[s] for s in SPLITS if s != "test")])
    return {
        KNOWN_PRODUCTS: (where["known_test"], known_gallery, False),
        NEW_PRODUCTS: (where["test"], new_gallery, True),
    }


def split_positions(arrays: Splits) -> dict[str, np.ndarray]:
    """Each split's positions in the splits' photos concatenated in SPLITS order."""
    positions, start = {}, 0
    for split in SPLITS:
        positions[split] = np.arange(start, start + len(arrays[split]))
        start += len(arrays[split])
    return positions


def unmeasured_protocols(arrays: Splits, labels: Splits) -> dict[str, str]:
    """{protocol: why it has no figure} for each protocol without held-out photos, or none of
    whose held-out photos has a photo of its label in its gallery (no figure is defined)."""
    all_labels = np.concatenate([labels[split] for split in SPLITS])
    reasons = {}
    for protocol, (queries, gallery, exclude_self) in protocol_queries(arrays).items():
        if not len(queries):
            reasons[protocol] = NO_QUERIES[protocol]
        elif not answerable_queries(
            all_labels[queries], all_labels[gallery], exclude_self=exclude_self
        ):
            reasons[protocol] = NO_POSITIVE.format(queries=len(queries))
    return reasons


def has_positive(validation: Validation) -> bool:
    """Whether some validation photo has a photo of its label to find: without one, validation
    Recall@1 is undefined (one photo per product, each validation product its own category)."""
    if validation.gallery_labels is None:  # leave-one-out within the validation photos
        return answerable_queries(validation.labels, validation.labels, exclude_self=True) > 0
    return answerable_queries(validation.labels, validation.gallery_labels) > 0
