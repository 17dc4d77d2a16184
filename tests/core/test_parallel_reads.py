"""Independent reads of one request asked at once: on pool threads with their own connections
(kept, and replaced when broken), errors raised to the caller, inline inside a transaction."""

import threading
import time

import pytest
from django.db import OperationalError, connection

from core.parallel_reads import pool_shutdown, reads_started


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def backends_gone(pids: list[int]) -> bool:
    """A closed connection's backend exits a moment after the client has gone."""
    for _ in range(50):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
            if cursor.fetchone()[0] == 0:
                return True
        time.sleep(0.1)
    return False


@pytest.mark.django_db(transaction=True)
def test_reads_run_at_the_same_time_each_on_a_connection_of_its_own():
    together = threading.Barrier(3, timeout=10)  # broken unless all three run at once

    def read(name: str):
        together.wait()
        return name, backend_pid(), threading.current_thread().name

    started = reads_started({name: (lambda n=name: read(n)) for name in ("a", "b", "c")})
    results = {name: future.result() for name, future in started.items()}

    assert [name for name, _, _ in results.values()] == ["a", "b", "c"]
    pids = {pid for _, pid, _ in results.values()}
    assert len(pids) == 3 and backend_pid() not in pids
    assert all(thread.startswith("parallel-read") for _, _, thread in results.values())


@pytest.mark.django_db(transaction=True)
def test_an_error_is_raised_by_its_result_and_a_broken_connection_is_replaced():
    def kill_own_backend():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    with pytest.raises(OperationalError):
        reads_started({"doomed": kill_own_backend})["doomed"].result()

    # Whichever pool thread runs them, every later read gets a working connection.
    for _ in range(6):
        assert reads_started({"pid": backend_pid})["pid"].result() > 0


@pytest.mark.django_db
def test_inside_a_transaction_reads_run_here_and_see_its_rows():
    from catalog.models import Product
    from tests.catalog.factories import product

    made = product(sku="UNCOMMITTED")
    started = reads_started(
        {
            "pid": backend_pid,
            "sku": lambda: Product.objects.get(pk=made.pk).sku,
            "error": lambda: Product.objects.get(sku="NONE"),
        }
    )

    assert started["pid"].result() == backend_pid()
    assert started["sku"].result() == "UNCOMMITTED"
    with pytest.raises(Product.DoesNotExist):
        started["error"].result()


@pytest.mark.django_db(transaction=True)
def test_the_pool_shuts_down_with_its_connections_closed_and_a_later_read_starts_anew():
    pids = {
        name: f.result() for name, f in reads_started(dict.fromkeys("abc", backend_pid)).items()
    }

    pool_shutdown()

    assert backends_gone(list(pids.values()))
    assert reads_started({"pid": backend_pid})["pid"].result() > 0
