"""The one job lifecycle (core.jobs.lifecycle) on real rows: claims count attempts and are
bounded, a run ends the row by its outcome, a time limit ends it with the reason."""

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from catalog.models import ImportJob
from core.jobs import JobCancelled, JobLifecycle, job_end
from core.jobs.delivery import job_delivery

pytestmark = pytest.mark.django_db


class Lifecycle(JobLifecycle[ImportJob]):
    model = ImportJob
    error_cancelled = "stopped after {done} rows"
    error_too_many_attempts = "interrupted {attempts} times"
    error_timed_out = "time limit {seconds} s"
    timed_out_state = ImportJob.State.FAILED
    failures = (ValueError,)

    def cancelled_error(self, job: ImportJob) -> str:
        return self.error_cancelled.format(done=job.rows_done)


class CountingCancelled(Lifecycle):
    counts_cancelled_delivery = True


JOBS = Lifecycle()


def row(**fields) -> ImportJob:
    return ImportJob.objects.create(**fields)


def stored(job: ImportJob) -> tuple:
    job.refresh_from_db()
    return (job.state, job.attempts, job.error)


def test_a_claim_counts_an_attempt_and_marks_the_job_running():
    job = row()

    claimed = JOBS.claim(job.pk, max_attempts=2)

    assert (claimed.state, claimed.attempts) == ("running", 1)
    assert stored(job) == ("running", 1, "")
    assert job.started_at is not None and job.finished_at is None


def test_a_redelivered_job_keeps_its_first_start():
    job = JOBS.claim(row().pk, max_attempts=3)
    first = job.started_at

    again = JOBS.claim(job.pk, max_attempts=3)

    assert (again.attempts, again.started_at) == (2, first)


def test_a_claim_past_the_bound_fails_the_job_with_the_reason():
    job = row(state="running", attempts=2)

    claimed = JOBS.claim(job.pk, max_attempts=2)

    assert (claimed.state, claimed.attempts, claimed.error) == ("failed", 3, "interrupted 2 times")
    assert stored(job) == ("failed", 3, "interrupted 2 times")
    assert claimed.finished_at is not None


def test_a_finished_or_missing_job_is_not_claimed():
    done = row(state="succeeded", attempts=1)

    assert stored(JOBS.claim(done.pk, max_attempts=3)) == ("succeeded", 1, "")
    assert JOBS.claim(done.pk + 1, max_attempts=3) is None


def test_filters_narrow_what_a_claim_may_take():
    job = row()

    assert JOBS.claim(job.pk, max_attempts=3, state="succeeded") is None
    assert stored(job) == ("queued", 0, "")


@pytest.mark.parametrize(("lifecycle", "attempts"), [(JOBS, 1), (CountingCancelled(), 2)])
def test_a_job_flagged_before_its_delivery_ends_cancelled_without_work(lifecycle, attempts):
    job = row(state="running", attempts=1, rows_done=7, cancel_requested=True)

    claimed = lifecycle.claim(job.pk, max_attempts=3)

    assert stored(claimed) == ("cancelled", attempts, "stopped after 7 rows")


def test_a_run_that_completes_ends_the_job_succeeded():
    job = JOBS.claim(row().pk, max_attempts=3)
    seen = []

    ended = JOBS.run(job, seen.append)

    assert (seen, stored(ended)) == ([job], ("succeeded", 1, ""))


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (JobCancelled(), ("cancelled", 1, "stopped after 4 rows")),
        (ValueError("bad header"), ("failed", 1, "bad header")),
    ],
)
def test_a_run_ends_the_job_by_what_stopped_its_work(error, outcome):
    job = JOBS.claim(row().pk, max_attempts=3)

    def work(job: ImportJob) -> None:
        job.rows_done = 4
        raise error

    assert stored(JOBS.run(job, work)) == outcome


@pytest.mark.parametrize("error", [KeyError("bug"), SoftTimeLimitExceeded()])
def test_anything_else_propagates_and_leaves_the_job_to_the_task(error):
    job = JOBS.claim(row().pk, max_attempts=3)

    def work(job: ImportJob) -> None:
        raise error

    with pytest.raises(type(error)):
        JOBS.run(job, work)
    assert stored(job) == ("running", 1, "")


def test_a_job_the_work_ended_itself_is_not_ended_again():
    job = JOBS.claim(row().pk, max_attempts=3)

    def work(job: ImportJob) -> None:
        job_end(job, state=ImportJob.State.CANCELLED, error="by the work")
        raise JobCancelled()

    assert stored(JOBS.run(job, work)) == ("cancelled", 1, "by the work")


def test_a_time_limit_ends_a_running_job_with_the_reason_and_leaves_a_finished_one():
    running, done = row(state="running", attempts=1), row(state="succeeded", attempts=1)

    JOBS.time_out(running.pk, seconds=90.7)
    JOBS.time_out(done.pk, seconds=90)

    assert stored(running) == ("failed", 1, "time limit 90 s")
    assert stored(done) == ("succeeded", 1, "")
    assert JOBS.time_out(done.pk + 1, seconds=1) is None


def test_ending_a_job_never_overwrites_a_cancel_request_made_meanwhile():
    job = JOBS.claim(row().pk, max_attempts=3)
    ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)  # the admin, meanwhile

    job_end(job, state=ImportJob.State.SUCCEEDED)

    job.refresh_from_db()
    assert (job.state, job.cancel_requested) == ("succeeded", True)


def test_a_deliverys_time_limit_ends_only_the_attempt_it_claimed():
    job = row()
    with job_delivery():  # the first delivery (JobTask.run_job)
        JOBS.claim(job.pk, max_attempts=3)
        # The reaper requeued the silent job and a newer delivery claimed it.
        ImportJob.objects.filter(pk=job.pk).update(attempts=2)

        JOBS.time_out(job.pk, seconds=90)

    assert stored(job) == ("running", 2, "")


def test_a_delivery_that_claimed_nothing_ends_nothing():
    job = row(state="running", attempts=1)

    with job_delivery():
        JOBS.time_out(job.pk, seconds=90)

    assert stored(job) == ("running", 1, "")


def test_the_worker_parent_ends_the_job_only_while_the_timed_out_child_holds_it():
    job = row(state="running", attempts=2, heartbeat_worker="host:2")

    with job_delivery(worker="host:1"):  # the child it stopped ran an older attempt
        JOBS.time_out(job.pk, seconds=90)
    assert stored(job) == ("running", 2, "")

    with job_delivery(worker="host:2"):
        JOBS.time_out(job.pk, seconds=90)
    assert stored(job) == ("failed", 2, "time limit 90 s")
