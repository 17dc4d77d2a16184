"""Typed environment variables for settings.py: a wrong value stops start-up with its name."""

import json
import math
import os
from collections.abc import Sequence

from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """A whole number; `minimum`/`maximum` bound it (a negative retention deleted every event)."""
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {value!r}")
    return _at_least(name, number, minimum, value)


def env_float(
    name: str, default: float, *, minimum: float | None = None, above: float | None = None
) -> float:
    """A finite number, at least `minimum` or above `above` (an interval of 0 s, a half-life of
    0 days, are none)."""
    value = os.environ.get(name)
    if value is None:
        return float(default)
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):  # "nan" and "inf" parse, yet no limit or interval is either
        raise ImproperlyConfigured(f"{name} must be a finite number, got {value!r}")
    if above is not None and number <= above:
        raise ImproperlyConfigured(f"{name} must be above {above:g}, got {value!r}")
    return _at_least(name, number, minimum, value)


def _at_least(name: str, number, minimum, value: str):
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum:g}, got {value!r}")
    return number


def env_json(name: str, default):
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return json.loads(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be JSON ({exc}), got {value!r}") from None


def env_json_object(name: str) -> dict:
    value = env_json(name, {})
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object, got {value!r}")
    return value


def env_choice(name: str, default: str, *, choices: Sequence[str]) -> str:
    value = os.environ.get(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_weights(name: str, *, names: Sequence[str]) -> dict[str, float]:
    """A JSON object of some of these weights, each a finite number ≥ 0. The names it leaves
    out keep their defaults, all above 0, so only setting every one to 0 leaves nothing to
    rank by."""
    weights = env_json(name, {})
    if not isinstance(weights, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object of weights, got {weights!r}")
    if unknown := sorted(set(weights) - set(names)):
        raise ImproperlyConfigured(
            f"{name} names unknown weights {unknown}; the weights are {', '.join(names)}"
        )
    for key, value in weights.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or value < 0:
            raise ImproperlyConfigured(
                f"{name}: the weight {key!r} must be a finite number ≥ 0, got {value!r}"
            )
    if set(weights) == set(names) and not any(weights.values()):
        raise ImproperlyConfigured(f"{name} sets every weight to 0: at least one must be above 0")
    return {key: float(value) for key, value in weights.items()}
