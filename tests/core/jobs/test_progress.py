"""The progress writer writes every N units and checks the cancel flag at each write; an admin's
cancel request ends a queued job at once and flags a running one."""

import pytest

from catalog.models import ImportJob
from core.jobs import JobCancelled, ProgressWriter, live_state, request_cancel
from similarity.models import Job

pytestmark = pytest.mark.django_db


def test_the_writer_writes_every_n_units_and_checks_the_flag_only_then():
    job = ImportJob.objects.create(state="running")
    writes = []
    report = ProgressWriter(job, write=writes.append, every=25)

    with pytest.raises(JobCancelled) as stopped:
        for done in range(1, 61):
            if done == 30:  # the admin asks between two writes
                ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
            report(done, done=done)

    assert (writes, stopped.value.payload, str(stopped.value)) == ([25, 50], 50, "")


def test_a_writer_without_units_writes_each_report_and_names_where_it_stopped():
    job = Job.objects.create(kind=Job.Kind.EMBED, state="running")
    writes = []
    report = ProgressWriter(
        job, write=writes.append, cancelled_message=lambda batch: f"stopped at batch {batch}"
    )
    report(1)
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)

    with pytest.raises(JobCancelled, match="^stopped at batch 2$"):
        report(2)
    assert (writes, report.cancel_requested()) == ([1, 2], True)


@pytest.mark.parametrize(
    ("state", "after"),
    [
        ("queued", ("cancelled", True, "never started")),
        ("running", ("running", True, "")),
        ("succeeded", ("succeeded", False, "")),
    ],
)
def test_a_cancel_request_ends_a_queued_job_and_flags_a_running_one(state, after):
    job = ImportJob.objects.create(state=state)

    job = request_cancel(ImportJob, job.pk, queued_error="never started")

    job.refresh_from_db()
    assert (job.state, job.cancel_requested, job.error) == after
    assert (job.finished_at is not None) is (state == "queued")


def test_every_live_page_polls_the_same_state_keys():
    job = Job.objects.create(kind=Job.Kind.TRAIN, state="failed", error="boom")

    assert live_state(job) == {
        "id": job.pk,
        "state": "failed",
        "finished": True,
        "cancel_requested": False,
        "error": "boom",
        "heartbeat": "",
        "heartbeat_warning": "",
    }
