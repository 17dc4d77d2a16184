"""Recommendations for a list of visitors at once, as CSV: for an e-mail campaign or a nightly
feed to another system (what Amazon Personalize calls batch inference).

Each visitor is answered as the partner API would answer them at this moment (the active
sequence version, the merchandising rules, trending for a visitor without events), without the
cache or any A/B arm. Their raw ids come from the shop's file and go back into its output only:
a refused line is reported by its number and the reason, never by its id.
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
HEADER = "visitor_id"  # a first line holding just this is the input's header, not a visitor
ERROR_REPEATED = "the same visitor as line {line}: answered there"


@dataclass
class BatchSummary:
    visitors: int = 0  # answered
    rows: int = 0  # recommendations written
    without_history: int = 0  # answered from trending: no events within retention
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)


def recommendations_batch(
    *, lines: Iterable[str], out: TextIO, query: SimilarQuery
) -> BatchSummary:
    """Write the header, then `query.k` rows per visitor of `lines` (CSV: the first column
    is the visitor id, as the shop sends it with its events; blank lines are skipped)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    summary, first_line_of = BatchSummary(), {}
    for number, row in enumerate(csv.reader(lines), start=1):
        if not row or not "".join(row).strip() or (number == 1 and row[0].strip() == HEADER):
            continue
        try:
            visitor = visitor_hash(row[0])
        except InvalidVisitorId as exc:
            summary.refused.append((number, str(exc)))
            continue
        if visitor in first_line_of:
            summary.refused.append((number, ERROR_REPEATED.format(line=first_line_of[visitor])))
            continue
        first_line_of[visitor] = number
        history = visitor_history(visitor=visitor)
        result = recommended_for_history(history=history, query=query)
        for rank, item in enumerate(result.items, start=1):
            writer.writerow(
                [row[0], rank, item.product.sku, item.product.title, round(item.score, 6)]
                + [item.tier, item.why]
            )
        summary.visitors += 1
        summary.rows += len(result.items)
        summary.without_history += history.total == 0
    return summary
