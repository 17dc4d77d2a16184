"""The physical lines of an event CSV: read as a byte stream, never whole, each decoded and
split on its own.

No event field holds a line break, so a line is a row. That is what keeps a broken line from
costing others: an unclosed quote ends with its line instead of swallowing the rest of the file,
and a line longer than MAX_LINE_BYTES is skipped (and reported) without being held in memory.
"""

import csv
import re
from collections.abc import Iterator
from functools import partial
from typing import BinaryIO

# The longest valid line is ~1,300 bytes (eight fields of at most 200 characters, commas,
# quotes); anything far longer is a broken export or hostile, and is skipped unread.
MAX_LINE_BYTES = 16_384
READ_BLOCK_BYTES = 1 << 20
BOM = b"\xef\xbb\xbf"
# NUL cannot be stored in PostgreSQL; a lone surrogate is an undecodable byte (surrogateescape).
UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")

ERROR_CSV_SYNTAX = "the line cannot be parsed as CSV: {reason}"


def data_line_count(stream: BinaryIO) -> int:
    """Lines after the header (a last line without a line break counts); rewinds the stream."""
    newlines, last = 0, b""
    for block in iter(partial(stream.read, READ_BLOCK_BYTES), b""):
        newlines += block.count(b"\n")
        last = block[-1:]
    stream.seek(0)
    lines = newlines + (1 if last not in (b"", b"\n") else 0)
    return max(lines - 1, 0)


def file_lines(stream: BinaryIO) -> Iterator[str | None]:
    """Each line as text without its line break (UTF-8, a leading BOM dropped, undecodable bytes
    kept as lone surrogates so the row can say which column holds them); None for a line longer
    than MAX_LINE_BYTES."""
    read = partial(stream.readline, MAX_LINE_BYTES + 1)
    first = True
    for raw in iter(read, b""):
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = read()  # skip the rest of the line without keeping it
            yield None
            continue
        if first and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        first = False
        yield raw.decode("utf-8", "surrogateescape").rstrip("\r\n")


def split_cells(text: str) -> list[str]:
    """The line's fields; raises csv.Error for broken quoting (e.g. a quote left open)."""
    if '"' not in text:
        return text.split(",")  # what the csv module returns for a line without quotes, faster
    return next(csv.reader((text,), strict=True))
