"""Fixtures shared by the behaviour tests."""

import pytest

from behaviour.services.ingest import events_record
from behaviour.services.sequence import sequence_training_job_run, sequence_training_start
from tests.behaviour.sequence_factories import TINY, planted, sequence_catalogue


@pytest.fixture
def trained(settings, tmp_path):
    """The finished job of a tiny sequence version trained on the planted pattern (activated:
    nothing served before). Needs committed rows: use it in transactional tests."""
    sequence_catalogue(settings, tmp_path)
    for visitors, days_ago in ((60, 60), (20, 5)):  # the learning period, then the validation
        outcomes = events_record(items=planted(visitors, days_ago=days_ago))
        assert all(o.status == "accepted" for o in outcomes)
    job = sequence_training_start(config=TINY, enqueue=False)
    return sequence_training_job_run(job_id=job.pk)
