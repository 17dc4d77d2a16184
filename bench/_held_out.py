"""The pipeline's known-products hold-out, for the image benches (similarity.services.protocols).

Set 1 is "known_test" (the version page's query photos, which the scored refit also leaves out:
`pipeline.SCORED_REFIT_HOLDS_OUT`), set 2 "known_val" (early stopping).
"""

import numpy as np

KNOWN_SHARES = (0.2, 0.1)  # protocols.KNOWN_TEST_SHARE, KNOWN_VAL_SHARE
KNOWN_TEST = 1


def hold_out(config, data: dict) -> np.ndarray:
    """int8 (n,) over data["train"]: 0 stays, 1 known_test, 2 known_val."""
    from similarity.ml.backbones import build_backbone
    from similarity.ml.evaluation.protocols import known_products_holdout, near_duplicate_groups
    from similarity.ml.training import embed_arrays

    backbone = build_backbone(config.backbone, input_size=config.input_size, weights=config.weights)
    groups = near_duplicate_groups(
        embed_arrays(backbone.model, data["train"]), data["train_labels"]
    )
    return known_products_holdout(
        data["train_labels"], groups, shares=KNOWN_SHARES, seed=config.seed
    )
