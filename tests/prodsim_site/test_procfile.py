"""The Procfile `make run` starts (honcho, each line through the shell): its workers consume every
queue tasks are routed to, beat's tasks on a worker of their own, and beat keeps its schedule
where every other piece of embedded state lives: under PRODSIM_VAR_DIR when it is set."""

import shlex
import subprocess
from pathlib import Path

from django.conf import settings

from tests.celery_workers import beat_queues, option, routed_queues, worker_queues

ROOT = Path(__file__).resolve().parents[2]


def procfile_workers() -> dict[str, list[str]]:
    """Each Celery worker line of the Procfile as an argument vector, by process name."""
    lines = (line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    return {
        name: words
        for name, command in lines
        if (words := shlex.split(command))[1:4] == ["-m", "celery", "-A"] and "worker" in words
    }


def expanded_beat_line(env: dict[str, str]) -> list[str]:
    line = next(
        line.split(":", 1)[1]
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.startswith("beat:")
    )
    echoed = subprocess.run(
        ["sh", "-c", f"echo {line}"], env=env, capture_output=True, text=True, check=True
    )
    return shlex.split(echoed.stdout)


def test_beats_schedule_follows_prodsim_var_dir(tmp_path):
    words = expanded_beat_line({"PRODSIM_VAR_DIR": str(tmp_path)})
    assert words[words.index("--schedule") + 1] == f"{tmp_path}/celerybeat-schedule"


def test_beats_schedule_is_under_var_by_default():
    words = expanded_beat_line({})
    assert words[words.index("--schedule") + 1] == "var/celerybeat-schedule"


def test_procfile_workers_consume_exactly_the_routed_queues():
    workers = procfile_workers()
    assert set().union(*(worker_queues(args) for args in workers.values())) == routed_queues()


def test_beats_tasks_have_a_procfile_worker_of_their_own_with_two_slots():
    """make run's default worker has two slots, which two long imports fill."""
    (args,) = [args for args in procfile_workers().values() if worker_queues(args) & beat_queues()]
    assert worker_queues(args) == beat_queues() == {settings.PERIODIC_QUEUE}
    assert int(option(args, "-c", "--concurrency")) >= 2
