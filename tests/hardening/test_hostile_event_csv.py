"""Broken and hostile order/event CSVs through the real import: each bad line is reported with
its line and column and costs nothing but itself, the good lines beside it are kept, and a file
that is no event CSV at all fails with the reason."""

import csv
import datetime as dt
import io
import os

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from behaviour.importers import MAX_LINE_BYTES
from behaviour.models import Event
from behaviour.services.imports import (
    ERROR_UNKNOWN_SKU,
    event_import_job_create,
    event_import_job_problems_csv,
    event_import_job_run,
)
from behaviour.visitors import ERROR_VISITOR_SLASH
from tests.catalog.factories import product, write

pytestmark = pytest.mark.django_db

AT = (timezone.now() - dt.timedelta(days=1)).replace(microsecond=0).isoformat().encode()
HEADER = b"order_id,occurred_at,visitor_id,sku,quantity,unit_price\r\n"
GOOD = b"o1," + AT + b",v1,GOOD,1,5.00\r\n"
LAST = b"o9," + AT + b",v9,GOOD,2,5.00\r\n"


@pytest.fixture(autouse=True)
def good_product():
    product(sku="GOOD")


def run(tmp_path, data: bytes):
    path = write(tmp_path / "in" / "events.csv", data)
    return event_import_job_run(job_id=event_import_job_create(csv_file=path, enqueue=False).pk)


def problems(job) -> list[tuple]:
    return list(job.row_errors.values_list("line", "column", "sku", "message"))


def stored_orders() -> list[str]:
    return sorted(Event.objects.values_list("order_id", flat=True))


ROW_CASES = [
    (
        "invalid utf-8",
        b"o2," + AT + b",v\xff\xfe,GOOD,1,5\r\n",
        [(3, "visitor_id", "GOOD", "visitor_id contains bytes that are not valid UTF-8")],
    ),
    (
        "overlong utf-8 sequence",
        b"o2," + AT + b",v2,GO\xc0\xafOD,1,5\r\n",
        [(3, "sku", "GO\ufffd\ufffdOD", "sku contains bytes that are not valid UTF-8")],
    ),
    (
        "nul byte",
        b"o\x002," + AT + b",v2,GOOD,1,5\r\n",
        [(3, "order_id", "GOOD", "order_id contains a NUL byte")],
    ),
    (
        "nul in the sku",
        b"o2," + AT + b",v2,GO\x00OD,1,5\r\n",
        [(3, "sku", "GO\ufffdOD", "sku contains a NUL byte")],
    ),
    (
        "huge field",
        b"o2," + AT + b",v2," + b"S" * 5000 + b",1,5\r\n",
        [
            (
                3,
                "sku",
                "S" * 200,
                ERROR_UNKNOWN_SKU.format(sku="S" * 5000),
            )
        ],
    ),
    (
        "huge line",
        b"o2," + AT + b",v2,GOOD,1," + b"9" * (MAX_LINE_BYTES * 4) + b"\r\n",
        [(3, "", "", f"the line is longer than {MAX_LINE_BYTES} bytes; it is skipped unread")],
    ),
    (
        "too many fields",
        b"o2," + AT + b",v2,GOOD,1,5,x\r\n",
        [(3, "", "", "row has 7 fields but the header has 6")],
    ),
    (
        "unterminated quote",
        b'o2,"' + AT + b",v2,GOOD,1,5\r\n",
        [(3, "", "", "the line cannot be parsed as CSV: unexpected end of data")],
    ),
    (
        "formula as quantity",
        b"o2," + AT + b",v2,GOOD,=1+1,5\r\n",
        [(3, "quantity", "GOOD", "quantity must be a whole number from 1 to 100000")],
    ),
    (
        "a quantity of more digits than Python converts",
        b"o2," + AT + b",v2,GOOD," + b"9" * 5000 + b",5\r\n",
        [(3, "quantity", "GOOD", "quantity must be a whole number from 1 to 100000")],
    ),
    (
        "year one east of Greenwich (an export's empty date): no such moment in UTC",
        b"o2,0001-01-01T00:00:00+01:00,v2,GOOD,1,5\r\n",
        [(3, "occurred_at", "GOOD", "occurred_at is older than the retention period (400 days)")],
    ),
    (
        "a slash in the visitor id",
        b"o2," + AT + b",shop/42,GOOD,1,5\r\n",
        [(3, "visitor_id", "GOOD", ERROR_VISITOR_SLASH)],
    ),
    (
        "return line",
        b"C536379," + AT + b",v2,GOOD,-1,5\r\n",
        [
            (
                3,
                "quantity",
                "GOOD",
                "quantity -1 is not positive: cancellations and returns are not imported",
            )
        ],
    ),
]


@pytest.mark.parametrize(("name", "row", "expected"), ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_a_bad_line_costs_only_itself(tmp_path, name, row, expected):
    job = run(tmp_path, HEADER + GOOD + row + LAST)

    assert (job.state, job.accepted_count, job.rejected_count, job.rows_done) == (
        "succeeded",
        2,
        1,
        3,
    )
    assert problems(job) == expected
    assert stored_orders() == ["o1", "o9"]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no bom", "bom"])
@pytest.mark.parametrize("newline", [b"\r\n", b"\n"], ids=["crlf", "lf"])
def test_utf8_with_or_without_bom_and_either_line_ending(tmp_path, bom, newline):
    product(sku="CAFÉ-1")
    lines = [HEADER.strip(), GOOD.strip(), b"o2," + AT + ",v\u00e9,CAF\u00c9-1,1,5".encode()]

    job = run(tmp_path, bom + newline.join(lines))  # and no line break after the last line

    assert (job.state, job.accepted_count, job.rows_total, problems(job)) == ("succeeded", 2, 2, [])
    assert stored_orders() == ["o1", "o2"]


def test_quoted_fields_and_a_header_in_another_order_and_case(tmp_path):
    data = (
        b'SKU,"Visitor_ID",occurred_at,Order_ID,quantity,unit_price\r\n"GOOD","v,1",'
        + AT
        + b',"o""1",1,5\r\n'
    )

    job = run(tmp_path, data)

    assert (job.state, job.accepted_count, problems(job)) == ("succeeded", 1, [])
    assert stored_orders() == ['o"1']


def test_unknown_columns_are_reported_once_and_ignored(tmp_path):
    data = HEADER.strip() + b",Description,Country\r\n" + GOOD.strip() + b",Mug,UK\r\n"

    job = run(tmp_path, data)

    assert job.accepted_count == 1
    assert problems(job) == [
        (1, "description", "", "unknown column 'description' is ignored"),
        (1, "country", "", "unknown column 'country' is ignored"),
    ]
    assert list(job.row_errors.values_list("level", flat=True)) == ["warning", "warning"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "missing required column(s): occurred_at, visitor_id, sku"),
        (b"\xef\xbb\xbf", "missing required column(s): occurred_at, visitor_id, sku"),
        (
            b"InvoiceNo,StockCode,Quantity\r\n536365,85123A,6\r\n",
            "missing required column(s): occurred_at, visitor_id, sku",
        ),
        (b"occurred_at,sku\r\n", "missing required column(s): visitor_id"),
        (
            b"occurred_at,visitor_id,sku,SKU\r\n",
            "column 'sku' appears more than once in the header",
        ),
        (
            b'occurred_at,"visitor_id,sku\r\n',
            "the header cannot be parsed as CSV: unexpected end of data",
        ),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2000),
            "missing required column(s): occurred_at, visitor_id, sku",
        ),
        (
            b"\x00" * (MAX_LINE_BYTES * 2),
            "missing required column(s): occurred_at, visitor_id, sku",
        ),
    ],
    ids=[
        "empty",
        "bom only",
        "wrong header",
        "missing columns",
        "repeated column",
        "broken header",
        "binary",
        "nul bytes",
    ],
)
def test_a_file_that_is_no_event_csv_fails_with_the_reason(tmp_path, data, error):
    job = run(tmp_path, data)

    assert (job.state, job.error) == ("failed", error)
    assert Event.objects.count() == 0


def test_binary_garbage_after_a_good_header_is_rejected_line_by_line(tmp_path):
    garbage = bytes(range(256)) * 40 + b"\n" + os.urandom(3000).replace(b"\n", b"")

    job = run(tmp_path, HEADER + GOOD + garbage + b"\n" + LAST)

    assert job.state == "succeeded"
    assert stored_orders() == ["o1", "o9"]
    assert job.rejected_count == job.rows_done - 2 - blank_lines(garbage)
    assert all(line > 2 for line, _, _, _ in problems(job))


def blank_lines(data: bytes) -> int:
    """Lines the reader skips as blank: nothing but separators once the line break is off."""
    return sum(1 for line in data.split(b"\n") if not line.rstrip(b"\r").strip(b' ,"\t'))


def test_the_problems_export_neutralises_formula_cells(tmp_path):
    data = HEADER + b"o2," + AT + b",v2,=HYPERLINK(1),1,5\r\n"
    job = run(tmp_path, data)

    exported = list(csv.reader(io.StringIO(event_import_job_problems_csv(job))))

    assert exported == [
        ["line", "level", "column", "sku", "message"],
        [
            "2",
            "row",
            "sku",
            "'=HYPERLINK(1)",
            "unknown SKU '=HYPERLINK(1)': import the catalogue first, then this file again "
            "(its accepted lines then count as duplicates)",
        ],
    ]


def test_the_command_writes_the_problems_csv(tmp_path):
    source = write(tmp_path / "in" / "e.csv", HEADER + b"o2," + AT + b",v2,NOPE,1,5\r\n")
    out = tmp_path / "problems.csv"

    with pytest.raises(CommandError, match="^nothing was imported"):  # its one line rejected
        call_command("import_events", str(source), "--problems-csv", str(out), verbosity=0)

    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("2,row,sku,NOPE,")
