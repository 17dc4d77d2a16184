"""The two evaluation protocols in the training pipeline (imports TensorFlow).

*Known products, new photos*: near-duplicate groups of photos held out of training within
labels that stay in the catalogue. *New products*: whole products or variant groups held out
(the snapshot's "val"/"test"). `PRODSIM_EVALUATION_PROTOCOL` picks the one early stopping and
auto-activation use; both are always measured and shown.
"""

import numpy as np
from django.conf import settings

from ..ml.evaluation import retrieval_metrics
from ..ml.evaluation.protocols import (
    KNOWN_PRODUCTS,
    NEAR_DUPLICATE_COSINE,
    NEW_PRODUCTS,
    PROTOCOLS,
    figures_source,
    known_products_holdout,
    near_duplicate_groups,
)
from ..ml.training import TrainingConfig, Validation, embed_arrays
from . import baselines
from .datasets import KNOWN_SPLITS, SPLITS, Snapshot, snapshot_hold_out_known
from .photo_block import rows_joined, train_photos_move
from .protocol_queries import Splits, has_positive, protocol_queries, unmeasured_protocols

KNOWN_TEST_SHARE = 0.2  # of each label's photos, as the new-products test share of units
KNOWN_VAL_SHARE = 0.1
ERROR_PROTOCOL = "PRODSIM_EVALUATION_PROTOCOL must be one of {choices}; got {value!r}"


def protocol_setting() -> str:
    value = settings.PRODSIM_EVALUATION_PROTOCOL
    if value not in PROTOCOLS:
        raise ValueError(ERROR_PROTOCOL.format(choices=", ".join(PROTOCOLS), value=value))
    return value


def hold_out_known_photos(
    snapshot: Snapshot, arrays: Splits, labels: Splits, config: TrainingConfig
) -> None:
    """Move near-duplicate groups of "train" photos into known_test / known_val, in place."""
    vectors, _ = baselines.frozen_features(config, arrays["train"])
    groups = near_duplicate_groups(vectors, labels["train"], min_cosine=NEAR_DUPLICATE_COSINE)
    assigned = known_products_holdout(
        labels["train"], groups, shares=(KNOWN_TEST_SHARE, KNOWN_VAL_SHARE), seed=config.seed
    )
    snapshot_hold_out_known(snapshot, assigned.tolist())
    train_photos_move(arrays, labels, assigned, KNOWN_SPLITS)  # within their block, no copy


def validation_for(protocol: str, arrays: Splits, labels: Splits) -> Validation | None:
    """What early stopping watches: the protocol's validation photos, falling back to the
    other protocol's when a catalogue has none (e.g. one photo per product); None if neither."""
    known = Validation.known_products(
        arrays["known_val"], labels["known_val"], arrays["train"], labels["train"]
    )
    new = Validation(arrays["val"], labels["val"])
    candidates = {KNOWN_PRODUCTS: known, NEW_PRODUCTS: new}
    order = [protocol, *(p for p in PROTOCOLS if p != protocol)]
    return next((candidates[p] for p in order if has_positive(candidates[p])), None)


def evaluate_protocols(
    *, model, config: TrainingConfig, arrays: Splits, labels: Splits, metric: str
) -> dict[str, dict]:
    """{protocol: {row: metrics}} for each protocol with a query that has a photo of its label
    to find (see the module docstring); `unmeasured_protocols` says why the others have none."""
    measured = [p for p in PROTOCOLS if p not in unmeasured_protocols(arrays, labels)]
    if not measured:  # nothing to score: the baselines' models are not even built
        return {}
    images, all_labels = _catalogue(arrays, labels)
    vectors = baselines.row_vectors(model=model, config=config, images=images)
    scorers = _scorers(arrays, all_labels)
    return {
        protocol: baselines.score_rows(vectors, scorers[protocol], metric) for protocol in measured
    }


def served_known_products(
    *, model, arrays: Splits, labels: Splits, metric: str, results: dict[str, dict]
) -> dict[str, dict]:
    """`results` with the known-products model row scored by `model`, a refit that trained on
    every product but not on those query photos: the served recipe on photos it never saw. The
    baselines rows do not depend on the model and stand; new products stay the selection run's
    (the refit trained on them). Unchanged when none of those photos is left in the catalogue."""
    if KNOWN_PRODUCTS not in results or not len(arrays["known_test"]):
        return results
    images, all_labels = _catalogue(arrays, labels)
    model_row = _scorers(arrays, all_labels)[KNOWN_PRODUCTS](embed_arrays(model, images), metric)
    return {**results, KNOWN_PRODUCTS: {**results[KNOWN_PRODUCTS], "model": model_row}}


def _catalogue(arrays: Splits, labels: Splits) -> tuple[np.ndarray, np.ndarray]:
    """Every split's images and labels in one array each (positions: `split_positions`)."""
    images = rows_joined([arrays[split] for split in SPLITS])  # a view of the block, no copy
    return images, np.concatenate([labels[split] for split in SPLITS])


def _scorers(arrays: Splits, all_labels: np.ndarray) -> dict:
    return {
        protocol: _scorer(queries, gallery, all_labels, exclude_self=exclude_self)
        for protocol, (queries, gallery, exclude_self) in protocol_queries(arrays).items()
    }


def _scorer(queries: np.ndarray, gallery: np.ndarray, labels: np.ndarray, *, exclude_self: bool):
    def score(vectors: np.ndarray, metric: str) -> dict:
        return retrieval_metrics(
            vectors[queries],
            labels[queries],
            vectors[gallery],
            labels[gallery],
            metric=metric,
            exclude_self=exclude_self,
        ).as_dict()

    return score


def version_metrics(
    results: dict[str, dict],
    protocol: str,
    *,
    refit: bool,
    served: tuple[str, ...] = (),
    unmeasured: dict[str, str] | None = None,
) -> dict:
    """What ModelVersion.metrics stores: the deciding protocol's rows at the top level (the
    figures every page and auto-activation read), both protocols under "protocols", and
    which run each protocol's figures come from (`figures_source`): the served model's for
    every protocol of a version not refit; for a refit version, those in `served` are of a
    refit without their query photos, the rest the selection run's. `unmeasured`
    ({protocol: why it has no figure}) is kept under "evaluation" when there is any."""
    chosen = protocol if protocol in results else next(iter(results), None)
    evaluation = {
        "protocol": chosen,
        "served_protocols": [name for name in results if not refit or name in served],
        "refit_on_all": refit,
        **({"unmeasured": unmeasured} if unmeasured else {}),
    }
    return {
        **(results.get(chosen) or {}),
        "protocols": results,
        "evaluation": {**evaluation, "figures_from": figures_source(evaluation, chosen)},
    }
