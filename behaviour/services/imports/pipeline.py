"""An import's chunks stored on writer threads while the next chunk is read and checked.

Reading and checking a chunk is Python (it holds the GIL); storing one is mostly PostgreSQL's
work (the GIL is released while it runs). On two cores they overlap, so a file takes about the
longer of the two instead of their sum; and since storing costs more than checking, two
writers, each on its own connection, keep the server busy on both cores while the checks wait
(bench/event_import.py measures inline, one and two writers side by side).
"""

import logging
import queue
import threading
from collections import deque
from concurrent.futures import Future

from django.db import connection, connections

from ...models import EventImportJob
from .chunks import CheckedChunk, ChunkWriter, counts_add

logger = logging.getLogger(__name__)


class ChunkPipeline:
    """Stores checked chunks with `writer` on `writers` threads, at most that many chunks in
    flight; a context manager. writers=0 stores each chunk inline, before the next is read.

    `submit` prepares a chunk in order (its SKUs, partitions, listed problems) and, with every
    writer busy, first waits for the oldest chunk and adds its counts to the job, so a progress
    write counts stored chunks only, and a cancel stops after the chunks in flight, which
    commit (their counts are added on the way out). A failed chunk's error is raised by the
    `submit` that waits for it, or on leaving. Inside a caller's transaction (a test's) chunks
    are stored inline: another connection could not see that transaction's rows.
    """

    def __init__(self, job: EventImportJob, writer: ChunkWriter, *, writers: int = 2):
        self.job, self.writer = job, writer
        self.writers = 0 if connection.in_atomic_block else writers
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.in_flight: deque[Future] = deque()

    def __enter__(self) -> "ChunkPipeline":
        for number in range(self.writers):
            thread = threading.Thread(
                target=self._work, name=f"event-import-store-{number}", daemon=True
            )
            thread.start()
            self.threads.append(thread)
        return self

    def submit(self, chunk: CheckedChunk) -> None:
        batch = self.writer.prepare(chunk)
        if not self.threads:
            counts_add(self.job, self.writer.store(batch))
            return
        while len(self.in_flight) >= self.writers:
            self._wait_oldest()
        future: Future = Future()
        self.tasks.put((future, batch))
        self.in_flight.append(future)

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            while self.in_flight:
                if exc_type is None:
                    self._wait_oldest()
                else:
                    self._settle_oldest()
        finally:
            for _ in self.threads:
                self.tasks.put(None)
            for thread in self.threads:
                thread.join()

    def _wait_oldest(self) -> None:
        counts_add(self.job, self.in_flight.popleft().result())

    def _settle_oldest(self) -> None:
        """Leaving on an error (a cancel, Ctrl-C): a chunk in flight still commits and counts;
        its own failure (it rolled back, so it counts nothing) is logged, not raised over the
        error that is leaving."""
        try:
            self._wait_oldest()
        except Exception:
            logger.exception("Event import %s: a chunk in flight failed", self.job.pk)

    def _work(self) -> None:
        """A writer thread: store batches until told to stop, then close its own connection
        (each thread has one; left open, it would wait on the server until it times out)."""
        try:
            while (task := self.tasks.get()) is not None:
                future, batch = task
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(self.writer.store(batch))
                    except BaseException as exc:  # Ctrl-C in a test's patched store, too
                        future.set_exception(exc)
        finally:
            connections.close_all()
