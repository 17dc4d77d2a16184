"""A job task's time limits end its job: the hard one through on_failure (in the worker parent),
the soft one inside the task (run_job), with the per-message limit when there is one."""

import socket

import pytest
from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_received

from core.jobs.delivery import _delivery
from core.jobs.tasks import JobTask


class Recorder(JobTask):
    name = "tests.core.jobs.recorder"  # never registered: bound to the app only for requests
    soft_time_limit = 60
    time_limit = 90

    def __init__(self):
        self.timed_out: list[tuple[int, float]] = []

    def job_time_out(self, job_id: int, seconds: float) -> None:
        self.timed_out.append((job_id, seconds))


@pytest.fixture
def task() -> Recorder:
    Recorder.bind(current_app)
    return Recorder()


def test_the_hard_limit_ends_the_job_and_other_failures_do_not(task):
    task.on_failure(TimeLimitExceeded(4.0), "id", (7,), {}, None)
    task.on_failure(TimeLimitExceeded(), "id", (8,), {}, None)
    task.on_failure(ValueError("not a limit"), "id", (9,), {}, None)

    assert task.timed_out == [(7, 4.0), (8, 90)]


@pytest.mark.parametrize(("timelimit", "seconds"), [((None, None), 60), ((30, 20), 20)])
def test_the_soft_limit_ends_the_job_with_the_limit_in_force(task, timelimit, seconds):
    def stuck():
        raise SoftTimeLimitExceeded()

    task.push_request(timelimit=timelimit)
    try:
        task.run_job(5, stuck, label="Test job")
    finally:
        task.pop_request()

    assert task.timed_out == [(5, seconds)]


def test_a_job_that_ran_is_not_timed_out(task):
    task.push_request(timelimit=(None, None))
    try:
        task.run_job(5, lambda: None, label="Test job")  # a missing row: logged only
        task.run_job(6, lambda: object(), label="Test job")
    finally:
        task.pop_request()

    assert task.timed_out == []


def test_the_hard_limit_names_the_child_it_stopped(task):
    class Request:  # what the worker parent received and gave to a pool child
        id, worker_pid = "task-1", 4242

    received = Request()
    task_received.send(sender=None, request=received)
    workers = []
    task.job_time_out = lambda job_id, seconds: workers.append(_delivery.get().worker)

    task.on_failure(TimeLimitExceeded(4.0), "task-1", (7,), {}, None)

    assert workers == [f"{socket.gethostname()}:4242"]


def test_the_soft_limit_times_out_inside_its_delivery(task):
    deliveries = []
    task.job_time_out = lambda job_id, seconds: deliveries.append(_delivery.get())

    def stuck():
        raise SoftTimeLimitExceeded()

    task.push_request(timelimit=(None, None))
    try:
        task.run_job(5, stuck, label="Test job")
    finally:
        task.pop_request()

    assert len(deliveries) == 1 and deliveries[0] is not None
