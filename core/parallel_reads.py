"""Independent read-only queries of one request, asked at once on pool threads.

A request that searches several indexes waits for PostgreSQL once per search; asked one after
another their waits add up. Each pool thread holds its own connection, kept and health-checked
like a request thread's (close_old_connections before each call: CONN_MAX_AGE, a connection
broken by a server restart), so a read costs no new connection.
"""

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from django.db import close_old_connections, connection, connections

T = TypeVar("T")
THREADS = 3  # the most reads one request asks at once

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def reads_started(calls: dict[str, Callable[[], T]]) -> dict[str, Future]:
    """Start each read; `.result()` of its future waits for it (and raises its error).

    Inside a transaction they run here, one after another, already done: another connection
    could not see what that transaction wrote (a test's rows, an uncommitted event)."""
    if connection.in_atomic_block:
        return {name: _done(call) for name, call in calls.items()}
    pool = _executor()
    return {name: pool.submit(_on_own_connection, call) for name, call in calls.items()}


def _on_own_connection(call: Callable[[], T]) -> T:
    close_old_connections()
    return call()


def _done(call: Callable[[], T]) -> Future:
    future: Future = Future()
    try:
        future.set_result(call())
    except Exception as exc:  # raised by .result(), as from a pool thread
        future.set_exception(exc)
    return future


def _executor() -> ThreadPoolExecutor:
    """Made on first use, in the process that serves (a web worker forks before it)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="parallel-read")
        return _pool


def pool_shutdown() -> None:
    """Stop the pool, each thread closing its connections first (before a test database is
    dropped; a later read starts a new pool)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is None:
        return
    # One task per thread: none finishes before all have started, so each lands on its own.
    all_started = threading.Barrier(THREADS, timeout=10)

    def close() -> None:
        all_started.wait()
        connections.close_all()

    for _ in range(THREADS):
        pool.submit(close)
    pool.shutdown(wait=True)
