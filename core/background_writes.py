"""Bulk writes on a writer thread while the caller prepares the next batch.

Preparing a batch (vectorising, checking) is Python and holds the GIL; a COPY is mostly the
server's work, during which the client only waits on its socket. On two cores the two overlap,
so a bulk write takes about the longer of the two instead of their sum.
"""

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from django.db import connection, connections

Write = Callable[[], object]


@contextmanager
def background_writes(*, name: str) -> Iterator[Callable[[Write], None]]:
    """Yields `submit(write)`: `write()` runs on one writer thread with its own connection,
    one write in flight at most (the next submit waits for it, which bounds memory to two
    batches). A failed write's error is raised by the submit after it, or on leaving; leaving
    waits for the write in flight either way, so a caller's cleanup never races it.

    Inside a caller's transaction (a test's) writes run inline: another connection could not
    see that transaction's rows."""
    if connection.in_atomic_block:
        yield lambda write: write()
        return
    pending: list[Future] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as writer:

        def submit(write: Write) -> None:
            if pending:
                pending.pop().result()
            pending.append(writer.submit(write))

        try:
            yield submit
            if pending:
                pending.pop().result()
        finally:
            # The writer thread's connection is its own: closed here, not left to the server.
            writer.submit(connections.close_all)
