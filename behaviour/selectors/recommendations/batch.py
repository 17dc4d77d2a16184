"""Recommendations for a list of visitors at once, as CSV: for an e-mail campaign or a nightly
feed to another system (what Amazon Personalize calls batch inference).

Each visitor is answered as the partner API would answer them at this moment (the active
sequence version, the merchandising rules, trending for a visitor without events), without the
cache or any A/B arm. Every visitor without events gets the same list, so it is ranked once per
run: a campaign's list often names many subscribers the shop never saw browse. Their raw ids
come from the shop's file and go back into its output only: a refused line is reported by its
number and the reason, never by its id.
"""

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from similarity.selectors import SimilarQuery

from ...visitors import InvalidVisitorId, visitor_hash
from .history import visitor_history
from .recommend import recommended_for_history

COLUMNS = ["visitor_id", "rank", "sku", "title", "score", "tier", "why"]
# A first line whose first cell is one of these (any case, spaces or hyphens for underscores) is
# the input's header, not a visitor; `header=True` skips the first line whatever it holds.
HEADER_NAMES = {"visitor_id", "visitor", "customer_id", "customer"}
ERROR_REPEATED = "the same visitor as line {line}: answered there"
ERROR_NOT_CSV = "not a CSV record ({reason})"


@dataclass
class BatchSummary:
    visitors: int = 0  # answered
    rows: int = 0  # recommendations written
    without_history: int = 0  # answered from trending: no events within retention
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)


def recommendations_batch(
    *, lines: Iterable[str], out: TextIO, query: SimilarQuery, header: bool = False
) -> BatchSummary:
    """Write the header, then `query.k` rows per visitor of `lines` (CSV: the first column
    is the visitor id, as the shop sends it with its events; blank lines are skipped). Lines
    are numbered as in the file (a record ends on its line)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    summary, first_line_of = BatchSummary(), {}
    without_history = None  # the one answer for every visitor without events, once asked
    for number, visitor_id in _visitor_ids(lines, summary, header):
        try:
            visitor = visitor_hash(visitor_id)
        except InvalidVisitorId as exc:
            summary.refused.append((number, str(exc)))
            continue
        if visitor in first_line_of:
            summary.refused.append((number, ERROR_REPEATED.format(line=first_line_of[visitor])))
            continue
        first_line_of[visitor] = number
        history = visitor_history(visitor=visitor)
        if not history.is_empty:
            result = recommended_for_history(history=history, query=query)
        else:
            without_history = without_history or recommended_for_history(
                history=history, query=query
            )
            result = without_history
        for rank, item in enumerate(result.items, start=1):
            writer.writerow(
                [visitor_id, rank, item.product.sku, item.product.title, round(item.score, 6)]
                + [item.tier, item.why]
            )
        summary.visitors += 1
        summary.rows += len(result.items)
        summary.without_history += history.is_empty
    return summary


def _visitor_ids(lines: Iterable[str], summary: BatchSummary, header: bool):
    """(line number, first cell) of each record that names a visitor; a record the CSV reader
    cannot read (a field past its size limit) is refused and the reading goes on."""
    records = csv.reader(lines)
    first = True
    while True:
        try:
            row = next(records)
        except StopIteration:
            return
        except csv.Error as exc:
            summary.refused.append((records.line_num, ERROR_NOT_CSV.format(reason=exc)))
            continue
        if first:
            first = False
            if row:  # a byte-order mark that reached us as text (standard input)
                row[0] = row[0].removeprefix("\ufeff")
            if header or _is_header(row):
                continue
        if row and "".join(row).strip():
            yield records.line_num, row[0]


def _is_header(row: list[str]) -> bool:
    name = row[0].strip().lower().replace(" ", "_").replace("-", "_") if row else ""
    return name in HEADER_NAMES
