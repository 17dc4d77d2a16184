"""What lets an import check lines in Python while PostgreSQL stores the chunk before: an
iterator run in a background thread a bounded number of items ahead (the database work is
waiting on a socket, where psycopg releases the GIL, so the two overlap on two cores), and the
cyclic garbage collector held off while the chunks stream through.
"""

import gc
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from queue import Empty, Full, Queue
from typing import TypeVar

T = TypeVar("T")
POLL_S = 0.1  # how soon a stopped producer notices; only matters when the consumer quits early
_DONE = object()


def read_ahead(items: Iterable[T], *, depth: int, name: str) -> Iterator[T]:
    """Yield `items` in order, produced by a thread up to `depth` items ahead.

    An exception of the producer is raised here, at the item it failed on. When the consumer
    stops early (an exception, a cancel, Ctrl-C) the thread stops before its next item; the
    producer must not touch the database (its thread would open its own connection).
    """
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=POLL_S)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            put((_DONE, exc))
            return
        put((_DONE, None))

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item, error = queue.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        _drain(queue)
        thread.join()


def _drain(queue: Queue) -> None:
    while True:
        try:
            queue.get_nowait()
        except Empty:
            return


@contextmanager
def young_collections_only():
    """Run the block with only young-generation collections, one per `collect_young()` call.

    Each line of a file makes a few containers that live for a chunk (~40,000 objects): the
    collector's automatic passes over them cost ~30% of the checks (measured: 10.5 → 7.6 µs a
    line). The import calls collect_young once a chunk, which bounds any cyclic garbage.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def collect_young() -> None:
    gc.collect(1)
