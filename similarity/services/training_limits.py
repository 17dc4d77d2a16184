"""The bounds of the training options an operator sets, one list for the admin's train form
and `manage.py train`: a value outside them fails at the database (embedding_dim) or makes a
version no training can serve (0 epochs, 4-pixel images)."""

TRAINING_LIMITS = {  # option: (lowest, highest), both allowed
    "input_size": (32, 512),
    "embedding_dim": (8, 2000),
    "epochs": (1, 200),
    "finetune_fraction": (0, 1),
}
ERROR_OUT_OF_RANGE = "must be between {low} and {high}, not {value}"


def training_params_errors(params: dict) -> dict[str, str]:
    """{option: why} for each bounded option of `params` outside its bounds (None: not set)."""
    errors = {}
    for name, (low, high) in TRAINING_LIMITS.items():
        value = params.get(name)
        if value is not None and not low <= value <= high:
            errors[name] = ERROR_OUT_OF_RANGE.format(low=low, high=high, value=value)
    return errors


def field_bounds(name: str) -> dict:
    """The min_value and max_value of a form field for option `name`."""
    low, high = TRAINING_LIMITS[name]
    return {"min_value": low, "max_value": high}
