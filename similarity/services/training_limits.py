"""The bounds and choices of the training options an operator sets, one list for the admin's train
form, `manage.py train`, the shop's PRODSIM_TRAINING_DEFAULTS and the version they make: a value
outside them fails at the database (embedding_dim), on the worker after the whole catalogue was
decoded (an unknown backbone or weights), or makes a version no training can serve (0 epochs,
4-pixel images)."""

from pathlib import Path

from django.conf import settings
from django.core import checks

from ..ml.options import AUGMENTATIONS, BACKBONES, LABEL_SOURCES, LOSSES, METRICS, SCHEDULES
from ..models.versions import served_model_count

TRAINING_LIMITS = {  # option: (lowest, highest), both allowed
    "input_size": (32, 512),
    "embedding_dim": (8, 2000),
    "epochs": (1, 200),
    "finetune_fraction": (0, 1),
    "refit_models": (1, 4),
}
WHOLE_NUMBERS = {"input_size", "embedding_dim", "epochs", "refit_models"}
MAX_VECTOR_DIM = 2000  # pgvector's HNSW limit, for embedding_dim × the models side by side
TRAINING_CHOICES = {
    "backbone": BACKBONES,
    "label_source": LABEL_SOURCES,
    "metric": METRICS,
    "augmentation": AUGMENTATIONS,
    "loss": LOSSES,
    "learning_rate_schedule": SCHEDULES,
}
# Every option a version trains with: similarity.ml.training.TrainingConfig's fields (this module
# cannot import TensorFlow's side of the app; a test keeps them equal), the version's label
# source and metric, and whether (and how) it trains a text tower. Any other name was dropped
# unread: {"epoch": 20} trained the default 8 epochs.
TRAINING_OPTIONS = (
    *("backbone", "weights", "input_size", "embedding_dim", "epochs", "warmup_epochs"),
    *("labels_per_batch", "images_per_label", "learning_rate", "finetune_learning_rate"),
    *("finetune_fraction", "learning_rate_schedule", "temperature", "patience", "seed"),
    *("steps_per_epoch", "min_epoch_images", "augmentation", "loss", "refit_on_all"),
    *("refit_models", "label_source", "metric", "text_tower", "text_tower_config"),
)
# Read as `if value:` by the pipeline: the string "false" would be true.
BOOLEAN_OPTIONS = ("refit_on_all", "text_tower")
WEIGHT_KEYWORDS = ("imagenet", "auto", "none")
WEIGHTS_FILE_SUFFIX = ".weights.h5"  # what Keras' load_weights reads

ERROR_OUT_OF_RANGE = "must be between {low} and {high}, not {value}"
ERROR_NOT_A_NUMBER = "must be a {kind}, not {value!r}"
ERROR_CHOICE = "must be one of {choices}, not {value!r}"
ERROR_UNKNOWN_OPTION = "is not a training option; the options are {options}"
ERROR_VECTOR_TOO_LONG = (
    "makes {dim}-dimension vectors ({models} models side by side), over the "
    f"{MAX_VECTOR_DIM} an HNSW index takes: lower embedding_dim or refit_models"
)
ERROR_NOT_BOOLEAN = "must be true or false, not {value!r}"
ERROR_WEIGHTS = (
    "must be imagenet, auto, none or the path of an existing .weights.h5 file, not {value!r}"
)
ERROR_SHOP_DEFAULT = "PRODSIM_TRAINING_DEFAULTS: {name} {why}"
HINT_SHOP_DEFAULTS = "Correct or remove it: the train form and `manage.py train` list the choices."


class TrainingOptionsError(ValueError):
    """Training options outside their bounds or choices; `errors` is {option: why}."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{name} {why}" for name, why in errors.items()))
        self.errors = errors


def training_params_errors(params: dict) -> dict[str, str]:
    """{option: why} for each bounded option of `params` outside its bounds (None: not set)."""
    errors = {}
    for name, (low, high) in TRAINING_LIMITS.items():
        value = params.get(name)
        kind = int if name in WHOLE_NUMBERS else (int, float)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, kind):
            number = "whole number" if name in WHOLE_NUMBERS else "number"
            errors[name] = ERROR_NOT_A_NUMBER.format(kind=number, value=value)
        elif not low <= value <= high:
            errors[name] = ERROR_OUT_OF_RANGE.format(low=low, high=high, value=value)
    models = 0 if errors else served_model_count(params)  # its product needs valid numbers
    if models and (dim := models * (params.get("embedding_dim") or 0)) > MAX_VECTOR_DIM:
        errors["refit_models"] = ERROR_VECTOR_TOO_LONG.format(dim=dim, models=models)
    return errors


def weights_option(value: object, *, file_here: bool = True) -> str:
    """The weights as training reads them: a keyword (in any case) in lower case, or the path of
    an existing .weights.h5 file (`file_here=False`: a process that may not see the worker's
    files checks the name only). Raises ValueError for anything else."""
    text = value.strip() if isinstance(value, str) else ""
    if text.lower() in WEIGHT_KEYWORDS:
        return text.lower()
    if text.endswith(WEIGHTS_FILE_SUFFIX) and (not file_here or Path(text).is_file()):
        return text
    raise ValueError(ERROR_WEIGHTS.format(value=value))


def training_options_errors(values: dict, *, files_here: bool = True) -> dict[str, str]:
    """{option: why} for every name of `values` that is no training option, and every option
    outside its bounds or choices (unset: None) or, for a switch, not a boolean."""
    options = ", ".join(sorted(TRAINING_OPTIONS))
    errors = {
        name: ERROR_UNKNOWN_OPTION.format(options=options)
        for name in values
        if name not in TRAINING_OPTIONS
    }
    errors |= {
        name: ERROR_CHOICE.format(choices=", ".join(choices), value=values[name])
        for name, choices in TRAINING_CHOICES.items()
        if values.get(name) is not None and values[name] not in choices
    }
    errors |= {
        name: ERROR_NOT_BOOLEAN.format(value=values[name])
        for name in BOOLEAN_OPTIONS
        if name in values and not isinstance(values[name], bool)
    }
    if values.get("weights") is not None:
        try:
            weights_option(values["weights"], file_here=files_here)
        except ValueError as exc:
            errors["weights"] = str(exc)
    return {**errors, **training_params_errors(values)}


def field_bounds(name: str) -> dict:
    """The min_value and max_value of a form field for option `name`."""
    low, high = TRAINING_LIMITS[name]
    return {"min_value": low, "max_value": high}


def training_defaults_check(app_configs=None, **kwargs) -> list[checks.Error]:
    """The system check of the shop's PRODSIM_TRAINING_DEFAULTS that every manage.py command runs
    at start-up (`up`, a deployment's `migrate`): a default the train form refuses would surface
    only once a training is queued, or as a form preselecting another backbone than the shop's.
    Not in the settings module: the bounds and choices are app code. A weights file is checked
    by name only: a one-shot `migrate` container may not mount the models volume."""
    errors = training_options_errors(settings.PRODSIM_TRAINING_DEFAULTS, files_here=False)
    return [
        checks.Error(
            ERROR_SHOP_DEFAULT.format(name=name, why=why),
            hint=HINT_SHOP_DEFAULTS,
            id="prodsim.E003",
        )
        for name, why in errors.items()
    ]
