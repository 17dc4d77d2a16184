"""`make run`'s first run queues the shop's first models: images always, sequences once there
are shoppers' events, and nothing again on later runs."""

import io

import pytest

from behaviour.ml.sequence.config import SequenceConfig
from behaviour.models import SequenceModelVersion, SequenceTrainingJob
from behaviour.services.ingest import events_record
from prodsim_site.first_run import DEMO_TRAINING, queue_first_models
from similarity.models import ModelVersion
from tests.behaviour.factories import order
from tests.catalog.factories import add_product

pytestmark = pytest.mark.django_db


def test_the_first_run_queues_an_image_model_and_with_events_a_sequence_model():
    out = io.StringIO()

    # given a shop without events: only the image model is queued
    queue_first_models(out)
    assert ModelVersion.objects.get().label_source == DEMO_TRAINING["label_source"]
    assert not SequenceModelVersion.objects.exists()

    # given shoppers' events now: the sequence model is queued, with the default recipe
    add_product("A", "Lantern")
    add_product("B", "Tea lights")
    events_record(items=order(["A", "B"], "v1", "o1"))
    queue_first_models(out)
    version = SequenceModelVersion.objects.get()
    assert version.params == SequenceConfig().to_dict()
    assert version.auto_activate
    assert (
        SequenceTrainingJob.objects.get(version=version).state == SequenceTrainingJob.State.QUEUED
    )
    assert ModelVersion.objects.count() == 1
    assert "first sequence model" in out.getvalue()

    # later runs queue nothing more
    queue_first_models(out)
    assert (ModelVersion.objects.count(), SequenceModelVersion.objects.count()) == (1, 1)
