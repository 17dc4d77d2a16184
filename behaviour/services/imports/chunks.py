"""One chunk of an event import: its lines checked, then its SKUs resolved, its new events
stored and its problems listed, in one transaction."""

import datetime as dt
import threading
from dataclasses import dataclass
from operator import itemgetter

from django.db import connection, transaction
from django.utils import timezone

from catalog import selectors as catalog_selectors

from ... import partitions
from ...importers import KNOWN_COLUMNS, CsvChunk, RowProblem
from ...models import Event, EventImportJob, EventImportRowError
from .. import erasure_guard
from ..validation import ERROR_TIME_NAIVE, InvalidEvent
from .checks import SKU_FIELD, EventChecks

# A file of nothing but bad lines should not fill a table: past this, rejections are counted
# (rejected_count stays exact) and one closing line says how many more there were.
MAX_LISTED_PROBLEMS = 100_000
TIME_FIELD, VISITOR_FIELD = 1, 3  # of a COPY row (checks.SKU_FIELD's comment lists them all)
BATCH_TABLE = "behaviour_import_batch"
COLUMNS = "event_id, occurred_at, kind, visitor, product_id, order_id, quantity, unit_price"
# Lives as long as the connection, emptied before each chunk (a test's transaction never ends);
# one round trip for both statements.
BATCH_TABLE_SQL = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {BATCH_TABLE} (event_id varchar, "
    "occurred_at timestamptz, kind varchar, visitor varchar, product_id bigint, "
    f"order_id varchar, quantity integer, unit_price numeric); TRUNCATE {BATCH_TABLE}"
)
# Each id enters the key table once (ON CONFLICT DO NOTHING, as events_record); only the events
# whose ids it admitted are inserted, so a repeated chunk stores nothing twice. Keys go in in
# one order (byte order: a cheap sort) so two chunks stored at once, each waiting on a key the
# other holds, cannot deadlock.
STORE_SQL = (
    "WITH fresh AS (INSERT INTO behaviour_eventkey (event_id, occurred_at, received_at) "
    f'SELECT event_id, occurred_at, %s FROM {BATCH_TABLE} ORDER BY event_id COLLATE "C" '
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id) "
    f"INSERT INTO behaviour_event ({COLUMNS}, source) "
    f"SELECT {COLUMNS}, %s FROM {BATCH_TABLE} WHERE event_id IN (SELECT event_id FROM fresh)"
)

ERROR_TIME_NAIVE_CSV = (
    f"{ERROR_TIME_NAIVE}, or import the file with the time zone of its times (--timezone)"
)
ERROR_UNKNOWN_SKU = (
    "unknown SKU {sku!r}: import the catalogue first, then this file again "
    "(its accepted lines then count as duplicates)"
)
ERROR_MORE_PROBLEMS = "{count} more rejected line(s) from here on are counted but not listed"
# A month's partition made beside a long reader: each try waits this long for the table, so the
# shop's event writes queue behind it no longer; the tries stay well within a job's heartbeat.
PARTITION_WAIT_MS, PARTITION_TRIES, PARTITION_PAUSE_S = 2_000, 15, 1.0


@dataclass
class CheckedChunk:
    """A chunk after the checks: the COPY rows (checks.copy_row) of its events, the line of
    each, and every problem so far. An id two lines share is settled when the chunk is stored
    (ChunkWriter.store), once SKUs and erasures have had their say."""

    lines: int
    rows: list[list[str]]
    row_lines: list[int]
    problems: list[RowProblem]


def chunk_check(chunk: CsvChunk, checks: EventChecks) -> CheckedChunk:
    """Run the API's checks on the chunk's rows (no database access)."""
    checks.start(timezone.now())
    problems, rows, lines = list(chunk.problems), [], []
    for line_row in chunk.rows:
        try:
            row = checks.row(line_row.event)
        except InvalidEvent as exc:
            problems.append(_rejection(line_row.line, str(exc), line_row.event))
            continue
        rows.append(row)
        lines.append(line_row.line)
    return CheckedChunk(chunk.lines, rows, lines, problems)


def _rejection(line: int, message: str, event: dict) -> RowProblem:
    if message == ERROR_TIME_NAIVE:
        message = ERROR_TIME_NAIVE_CSV
    column = message.split(" ", 1)[0]
    return RowProblem(line, message, column if column in KNOWN_COLUMNS else "", event["sku"] or "")


@dataclass(frozen=True)
class ChunkCounts:
    """How a stored chunk's lines were counted (added to the job by counts_add)."""

    lines: int
    accepted: int
    duplicates: int
    rejected: int


def counts_add(job: EventImportJob, counts: ChunkCounts) -> None:
    """Count a stored chunk on the job (saved by the caller's next progress write)."""
    job.rows_done += counts.lines
    job.accepted_count += counts.accepted
    job.duplicate_count += counts.duplicates
    job.rejected_count += counts.rejected


@dataclass
class StoreBatch:
    """A chunk ready to store: the COPY rows of its events of known products (SKUs resolved,
    their months' partitions there), the line of each, and the problems listed with them."""

    rows: list[list[str]]
    row_lines: list[int]
    listed: list[RowProblem]
    lines: int
    rejected: int


class ChunkWriter:
    """Stores an import's checked chunks, each in one transaction, and says how each chunk's
    lines count. `prepare` runs in order on the import's thread; `store` may run on writer
    threads (pipeline.py), each on its own connection, several chunks at once."""

    def __init__(self, job: EventImportJob):
        self.job = job
        self.products = ProductIds()
        self.listing = ProblemListing()
        self.months: set[dt.date] = set()  # partitions known to exist (ensured this import)

    def prepare(self, chunk: CheckedChunk) -> StoreBatch:
        """Resolve the chunk's SKUs (unknown ones become problems), ensure its months'
        partitions, and choose which of its problems are listed."""
        rows, row_lines, problems = chunk.rows, chunk.row_lines, chunk.problems
        unknown = self.products.resolve({row[SKU_FIELD] for row in rows})
        if unknown:
            known = [row[SKU_FIELD] not in unknown for row in rows]
            rows = [row for row, keep in zip(chunk.rows, known, strict=True) if keep]
            row_lines = [line for line, keep in zip(chunk.row_lines, known, strict=True) if keep]
            problems += [
                _unknown_sku(line, row[SKU_FIELD])
                for line, row in zip(chunk.row_lines, chunk.rows, strict=True)
                if row[SKU_FIELD] in unknown
            ]
        ids = self.products.id_texts
        for row in rows:
            row[SKU_FIELD] = ids[row[SKU_FIELD]]
        if rows:
            self._ensure_months(rows)
        rejected = sum(problem.fatal_for_row for problem in problems)
        listed = self.listing.take(problems)
        return StoreBatch(rows, row_lines, listed, chunk.lines, rejected)

    def store(self, batch: StoreBatch) -> ChunkCounts:
        """Store the batch's events whose ids are new and list its problems, in one
        transaction on this thread's connection.

        The erasure lock and the tombstones are read first in that transaction (as the API's
        batches do): an erasure either waits for this chunk and deletes its rows, or has
        committed its tombstone, and the erased shopper's lines are then rejected here."""
        with transaction.atomic():
            erasure_guard.writes_lock()
            rows, erased = self._without_erased(batch)
            rows, repeats = _first_uses(rows)
            accepted = self._store(rows) if rows else 0
            _problems_create(self.job, batch.listed + self.listing.take(erased))
        return ChunkCounts(
            lines=batch.lines,
            accepted=accepted,
            duplicates=len(rows) - accepted + repeats,
            rejected=batch.rejected + len(erased),
        )

    def _without_erased(self, batch: StoreBatch) -> tuple[list[list[str]], list[RowProblem]]:
        """The batch's rows but those of an erased shopper from before their erasure, and a
        problem for each of those (one query for the chunk's visitors' tombstones)."""
        erased_at = erasure_guard.erased_since({row[VISITOR_FIELD] for row in batch.rows})
        if not erased_at:
            return batch.rows, []
        rows, problems, skus = [], [], self.products.skus_by_id()
        for line, row in zip(batch.row_lines, batch.rows, strict=True):
            erased = erased_at.get(row[VISITOR_FIELD])
            if erased and erasure_guard.predates_erasure(
                dt.datetime.fromisoformat(row[TIME_FIELD]), erased
            ):
                sku = skus.get(row[SKU_FIELD], "")
                problems.append(RowProblem(line, erasure_guard.ERROR_ERASED, "visitor_id", sku))
            else:
                rows.append(row)
        return rows, problems

    def write(self, chunk: CheckedChunk) -> ChunkCounts:
        """Prepare and store one chunk here."""
        return self.store(self.prepare(chunk))

    def close(self) -> None:
        closing = self.listing.closing()
        if closing:
            _problems_create(self.job, [closing])

    def _ensure_months(self, rows: list[list[str]]) -> None:
        first, last = min(map(itemgetter(1), rows)), max(map(itemgetter(1), rows))
        months = set(_months(first, last)) - self.months
        if months:
            # A history's older months are new here, made beside the shop's readers and writers.
            partitions.partitions_ensure_beside_readers(
                months,
                lock_timeout_ms=PARTITION_WAIT_MS,
                tries=PARTITION_TRIES,
                pause_s=PARTITION_PAUSE_S,
            )
            self.months |= months

    def _store(self, rows: list[list[str]]) -> int:
        """Store the rows whose ids are new; the number stored (the rest were duplicates).

        The rows travel as one COPY in text format (~1 µs a line to build, against ~30 for the
        quoted arrays of an unnest) into a temporary table, then one statement (STORE_SQL)
        moves the new ones into the key and event tables.
        """
        with connection.cursor() as cursor:
            cursor.execute(BATCH_TABLE_SQL)
            with cursor.cursor.copy(f"COPY {BATCH_TABLE} FROM STDIN") as copy:
                copy.write("\n".join(map("\t".join, rows)))
            cursor.execute(STORE_SQL, [timezone.now(), Event.Source.IMPORT])
            return cursor.rowcount


def _first_uses(rows: list[list[str]]) -> tuple[list[list[str]], int]:
    """The rows whose id no earlier row of the chunk used, and how many repeated one: a
    duplicate of its first line that passed every check (a line refused for its SKU or as an
    erased shopper's does not take the id from a valid one after it)."""
    first: dict[str, list[str]] = {}
    for row in rows:
        first.setdefault(row[0], row)
    return list(first.values()), len(rows) - len(first)


def _unknown_sku(line: int, sku: str) -> RowProblem:
    return RowProblem(line, ERROR_UNKNOWN_SKU.format(sku=sku), "sku", sku)


def _months(first: str, last: str) -> list[dt.date]:
    """First days of the months from `first` to `last` (UTC ISO texts, so their order is time's;
    at most the retention period's ~14, as every older or future event is rejected)."""
    month, end = dt.date.fromisoformat(first[:7] + "-01"), dt.date.fromisoformat(last[:7] + "-01")
    months = []
    while month <= end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


class ProductIds:
    """SKU → product id for the whole file, one query per chunk for the SKUs it is the first to
    name; `id_texts` holds each known one's id as COPY text."""

    def __init__(self):
        self.id_texts: dict[str, str] = {}
        self.unknown: set[str] = set()
        # The import's thread adds the next chunk's SKUs while a writer thread reads the map
        # for its erased lines (skus_by_id): iterating a dict that grows meanwhile raises.
        self._growing = threading.Lock()

    def resolve(self, skus: set[str]) -> set[str]:
        """Look up the SKUs not seen before; those of `skus` that name no product."""
        new = [sku for sku in skus if sku not in self.id_texts and sku not in self.unknown]
        if new:
            found = catalog_selectors.product_ids_by_sku(skus=new)
            with self._growing:
                self.id_texts.update((sku, str(product_id)) for sku, product_id in found.items())
            self.unknown.update(sku for sku in new if sku not in found)
        return skus & self.unknown

    def skus_by_id(self) -> dict[str, str]:
        """Product id (COPY text) → SKU, for a resolved row's problem (from any thread)."""
        with self._growing:
            return {product_id: sku for sku, product_id in self.id_texts.items()}


class ProblemListing:
    """Which problems the job's per-line report lists: all, up to MAX_LISTED_PROBLEMS; past
    that they are counted, and one closing line says how many more there were. Writer threads
    take a chunk's erased lines while the import's thread takes the next chunk's problems."""

    def __init__(self):
        self.listed, self.unlisted, self.first_unlisted = 0, 0, 0
        self.lock = threading.Lock()

    def take(self, problems: list[RowProblem]) -> list[RowProblem]:
        """The chunk's problems to list, by line."""
        with self.lock:
            return self._take(problems)

    def _take(self, problems: list[RowProblem]) -> list[RowProblem]:
        problems.sort(key=lambda problem: problem.line)
        room = max(MAX_LISTED_PROBLEMS - self.listed, 0)
        self.listed += min(room, len(problems))
        for problem in problems[room:]:
            self.unlisted += problem.fatal_for_row
            self.first_unlisted = self.first_unlisted or problem.line
        return problems[:room]

    def closing(self) -> RowProblem | None:
        if not self.unlisted:
            return None
        message = ERROR_MORE_PROBLEMS.format(count=self.unlisted)
        return RowProblem(self.first_unlisted, message, fatal_for_row=False)


def _problems_create(job: EventImportJob, problems: list[RowProblem]) -> None:
    EventImportRowError.objects.bulk_create(
        EventImportRowError(
            job=job,
            line=problem.line,
            column=problem.column[:100],
            sku=problem.sku[:200],
            level=EventImportRowError.Level.ROW_REJECTED
            if problem.fatal_for_row
            else EventImportRowError.Level.WARNING,
            message=problem.message,
        )
        for problem in problems
    )
