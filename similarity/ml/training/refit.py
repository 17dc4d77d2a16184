"""How long the refit on every product trains, from the model-selection run's history."""

# Below this many validation photos one photo moves Recall@1 by over 1 %, more than epochs
# usually differ by: the curve cannot pick an epoch, so the refit trains the configured schedule.
# Measured on grocery-packages: 36 validation photos put the best epoch at 3 (0.889 against 0.833,
# two photos); the dataset's own 100 validation photos kept rising to epoch 7 of 8.
MIN_VALIDATION_QUERIES = 100


def refit_epochs(history: list[dict], *, configured: int, validation_queries: int) -> int:
    """The selection run's best epoch (earliest of equals) when its validation set is large
    enough to choose one, else the configured number of epochs."""
    scored = [e for e in history if e.get("val_recall_at_1") is not None]
    if not scored or validation_queries < MIN_VALIDATION_QUERIES:
        return configured
    return max(scored, key=lambda e: (e["val_recall_at_1"], -e["epoch"]))["epoch"]
