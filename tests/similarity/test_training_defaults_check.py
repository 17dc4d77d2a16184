"""The start-up check of PRODSIM_TRAINING_DEFAULTS: every manage.py command (runserver, `up`, a
deployment's `migrate`) refuses to start on a default the train form and `train` refuse."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from similarity.services.pipeline import TRAINING_FIELDS
from similarity.services.training_limits import TRAINING_OPTIONS, training_defaults_check
from similarity.services.versions import DEFAULT_TRAINING


def test_a_backbone_the_train_form_does_not_offer_stops_the_start(settings):
    """The form would otherwise preselect another backbone than the shop configured, silently."""
    settings.PRODSIM_TRAINING_DEFAULTS = {"backbone": "resnet50"}

    with pytest.raises(SystemCheckError, match="PRODSIM_TRAINING_DEFAULTS: backbone must be one"):
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())


def test_every_default_out_of_bounds_is_named(settings):
    settings.PRODSIM_TRAINING_DEFAULTS = {"epochs": 0, "loss": "triplet", "text_tower": False}

    errors = training_defaults_check()

    assert [error.id for error in errors] == ["prodsim.E003"] * 2
    assert sorted(error.msg.split(" must ")[0] for error in errors) == [
        "PRODSIM_TRAINING_DEFAULTS: epochs",
        "PRODSIM_TRAINING_DEFAULTS: loss",
    ]


def test_the_shipped_defaults_pass(settings):
    settings.PRODSIM_TRAINING_DEFAULTS = {}

    assert training_defaults_check() == []


def test_a_weights_file_is_checked_by_name_only_at_start_up(settings):
    """`migrate` runs in a one-shot container without the models volume (docker-compose.yml)."""
    settings.PRODSIM_TRAINING_DEFAULTS = {"weights": "/app/var/models/shop.weights.h5"}
    assert training_defaults_check() == []

    settings.PRODSIM_TRAINING_DEFAULTS = {"weights": "ImageNet-21k"}
    assert [error.id for error in training_defaults_check()] == ["prodsim.E003"]


@pytest.mark.parametrize(
    ("defaults", "message"),
    [
        ({"epoch": 20}, "PRODSIM_TRAINING_DEFAULTS: epoch is not a training option; the options"),
        ({"text_tower": 0}, "PRODSIM_TRAINING_DEFAULTS: text_tower must be true or false, not 0"),
    ],
)
def test_a_name_training_never_reads_or_a_switch_that_is_no_boolean_stops_the_start(
    settings, defaults, message
):
    settings.PRODSIM_TRAINING_DEFAULTS = defaults

    assert [error.msg[: len(message)] for error in training_defaults_check()] == [message]


def test_the_training_options_are_what_training_reads():
    # TrainingConfig's fields, the version's own columns, and the pipeline's text tower switch.
    extra = {"label_source", "metric", "text_tower", "text_tower_config"}
    assert set(TRAINING_OPTIONS) == TRAINING_FIELDS | extra
    assert set(DEFAULT_TRAINING) <= set(TRAINING_OPTIONS)
