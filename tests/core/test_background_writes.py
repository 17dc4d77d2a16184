"""Bulk writes on a writer thread: its own connection (closed afterwards), one write in flight,
errors raised to the caller, and inline writes inside a caller's transaction."""

import threading
import time

import pytest
from django.db import connection

from core.background_writes import background_writes


def backend_gone(pid: int, wait_s: float = 5.0) -> bool:
    """Whether the server ended backend `pid` (a closed connection's backend leaves
    pg_stat_activity a moment later, longer on a busy machine)."""
    deadline = time.monotonic() + wait_s
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone()[0] == 0:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_writes_run_in_order_on_one_other_connection_which_is_closed_afterwards():
    seen: list[tuple[int, int, str]] = []

    with background_writes(name="test-writes") as write:
        for number in range(4):
            write(lambda n=number: seen.append((n, backend_pid(), threading.current_thread().name)))

    assert [n for n, _, _ in seen] == [0, 1, 2, 3]
    assert len({pid for _, pid, _ in seen}) == 1
    assert seen[0][1] != backend_pid()
    assert all(name.startswith("test-writes") for _, _, name in seen)
    assert backend_gone(seen[0][1])  # the writer's own connection, closed afterwards


@pytest.mark.django_db(transaction=True)
def test_a_failed_write_is_raised_to_the_caller_and_later_writes_do_not_run():
    ran: list[int] = []

    def fail() -> None:
        raise ValueError("row 7: bad vector")

    with pytest.raises(ValueError, match="row 7"), background_writes(name="test-writes") as write:
        write(fail)
        write(lambda: ran.append(1))  # the submit after the failure raises it
        write(lambda: ran.append(2))

    assert ran == []


@pytest.mark.django_db
def test_inside_a_transaction_writes_run_inline_on_the_callers_connection():
    seen: list[tuple[int, str]] = []

    with background_writes(name="test-writes") as write:
        write(lambda: seen.append((backend_pid(), threading.current_thread().name)))

    assert seen == [(backend_pid(), threading.current_thread().name)]
