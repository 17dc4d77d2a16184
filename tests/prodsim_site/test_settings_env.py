"""Settings read from the environment: a wrong value stops start-up and names its variable."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from prodsim_site import env
from prodsim_site import settings as settings_module
from similarity import fusion

ROOT = Path(__file__).resolve().parents[2]


def import_settings(**variables: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter, as a process starting up does."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run(
        [sys.executable, "-c", "import prodsim_site.settings"],
        cwd=ROOT,
        env={**environment, **variables},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PRODSIM_FUSION_CANDIDATES", "fifty"),
        ("PRODSIM_JOB_STALE_S", "2m"),
        ("PRODSIM_TRAINING_DEFAULTS", "epochs=5"),
        ("PRODSIM_FUSION_WEIGHTS", '{"imag": 1}'),
        ("PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS", "ninety"),
    ],
)
def test_start_up_stops_on_a_bad_value_and_names_its_variable(name, value):
    result = import_settings(**{name: value})
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: " + name)


@pytest.mark.parametrize(
    ("read", "value", "message"),
    [
        (env.env_int, "2.5", "X must be a whole number, got '2.5'"),
        (env.env_float, "2m", "X must be a finite number, got '2m'"),
        (env.env_float, "nan", "X must be a finite number, got 'nan'"),
        (env.env_json, "{image: 1}", "X must be JSON (Expecting property name"),
    ],
)
def test_typed_readers_name_the_variable_and_the_value(monkeypatch, read, value, message):
    monkeypatch.setenv("X", value)
    with pytest.raises(ImproperlyConfigured) as raised:
        read("X", 0)
    assert str(raised.value).startswith(message)


def test_typed_readers_parse_good_values_and_default_when_unset(monkeypatch):
    monkeypatch.delenv("X", raising=False)
    assert (env.env_int("X", 5), env.env_float("X", 5), env.env_json("X", {})) == (5, 5.0, {})
    monkeypatch.setenv("X", "7")
    assert (env.env_int("X", 5), env.env_float("X", 5), env.env_json("X", {})) == (7, 7.0, 7)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"imag": 1}', "W names unknown weights ['imag']; the weights are image, text, "),
        ('{"image": 1, "text": -1}', "W: the weight 'text' must be a finite number ≥ 0, got -1"),
        ('{"image": NaN}', "W: the weight 'image' must be a finite number ≥ 0, got nan"),
        ('{"image": "1"}', "W: the weight 'image' must be a finite number ≥ 0, got '1'"),
        ('{"image": true}', "W: the weight 'image' must be a finite number ≥ 0, got True"),
        ("[1, 2]", "W must be a JSON object of weights, got [1, 2]"),
        (
            '{"image": 0, "text": 0, "text_learned": 0, "attributes": 0, "price": 0}',
            "W sets every weight to 0: at least one must be above 0",
        ),
    ],
)
def test_fusion_weights_are_refused_where_a_weights_row_would_be(monkeypatch, value, message):
    # A typo once started fine, then every similar list without a weights row raised TypeError.
    monkeypatch.setenv("W", value)
    with pytest.raises(ImproperlyConfigured) as raised:
        env.env_weights("W", names=fusion.SIGNALS)
    assert str(raised.value).startswith(message)


def test_fusion_weights_may_set_some_signals_and_zero_some(monkeypatch):
    monkeypatch.setenv("W", '{"image": 0, "text": 2}')
    weights = env.env_weights("W", names=fusion.SIGNALS)
    assert weights == {"image": 0.0, "text": 2.0}
    assert fusion.Weights(**weights).attributes > 0  # the rest keep their defaults


def test_settings_know_the_fusion_signals_and_their_defaults_are_above_zero():
    # Only then can weights that leave a signal out never be all zero.
    assert settings_module._FUSION_SIGNALS == fusion.SIGNALS
    assert all(value > 0 for value in dataclasses.asdict(fusion.Weights()).values())
