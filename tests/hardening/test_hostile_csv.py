"""Broken and hostile catalogue CSVs through the real import: each bad row is reported with its
line and column, good rows beside it are kept, formula cells stored verbatim and neutralised in
the problems export."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from catalog.importers import (
    ERROR_REPEATED_COLUMN,
    ERROR_UNREADABLE_COLUMN,
    ERROR_WIDE_ENCODING,
    MAX_FIELD_CHARS,
)
from catalog.importers.reader import ERROR_DELIMITER, ERROR_EMPTY_FILE, ERROR_ZIP
from catalog.models import Product
from catalog.services import import_job_create, import_job_run
from catalog.services.reports import import_job_problems_csv, spreadsheet_safe
from tests.catalog.factories import write

pytestmark = pytest.mark.django_db

HEADER = b"sku,title,price,description\r\n"
GOOD_ROW = b"GOOD,Good mug,5,fine\r\n"


def run(tmp_path, data: bytes):
    path = write(tmp_path / "in" / "catalogue.csv", data)
    return import_job_run(job_id=import_job_create(csv_file=path, enqueue=False).pk)


def problems(job) -> list[tuple]:
    return list(job.row_errors.values_list("line", "column", "sku", "message"))


ROW_CASES = [
    (
        "invalid utf-8",
        b"BAD,Mug \xff\xfe,5,x\r\n",
        [(3, "title", "BAD", "title contains bytes that are not valid UTF-8")],
    ),
    (
        "overlong utf-8 sequence",
        b"BAD,Mug,5,\xc0\xaf\r\n",
        [(3, "description", "BAD", "description contains bytes that are not valid UTF-8")],
    ),
    (
        "nul byte",
        b"BAD,Mug\x00,5,x\r\n",
        [(3, "title", "BAD", "title contains a NUL byte")],
    ),
    (
        "oversized field",
        b"BAD,Mug,5," + b"a" * (MAX_FIELD_CHARS + 1) + b"\r\n",
        [(3, "description", "BAD", f"description is longer than {MAX_FIELD_CHARS} characters")],
    ),
    (
        "overlong sku",
        b"S" * 65 + b",Mug,5,x\r\n",
        [(3, "sku", "S" * 65, "sku is longer than 64 characters")],
    ),
    (
        "duplicate sku",
        b"GOOD,Second copy,6,x\r\n",
        [(3, "sku", "GOOD", "SKU 'GOOD' already appeared on line 2; this row is ignored")],
    ),
    (
        "too many fields",
        b"BAD,Mug,5,x,extra\r\n",
        [(3, "", "", "row has 5 fields but the header has 4")],
    ),
    (
        "negative price",
        b"BAD,Mug,-5,x\r\n",
        [(3, "price", "BAD", "price '-5' is not a non-negative amount with at most 2 decimals")],
    ),
    (
        "formula as price",
        b"BAD,Mug,=1+1,x\r\n",
        [(3, "price", "BAD", "price '=1+1' is not a non-negative amount with at most 2 decimals")],
    ),
]


@pytest.mark.parametrize(("name", "row", "expected"), ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_bad_rows_are_reported_with_line_and_column_and_good_rows_kept(
    tmp_path, name, row, expected
):
    job = run(tmp_path, HEADER + GOOD_ROW + row)

    assert job.state == "succeeded"
    assert problems(job) == expected
    assert (job.created_count, job.failed_count) == (1, 1)
    assert Product.objects.get(sku="GOOD").title == "Good mug"


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no bom", "bom"])
def test_utf8_with_and_without_bom(tmp_path, bom):
    job = run(tmp_path, bom + HEADER + "CAFÉ,Café crème mug,5,é\r\n".encode())

    assert (job.state, problems(job)) == ("succeeded", [])
    assert Product.objects.get(sku="CAFÉ").title == "Café crème mug"


def test_unterminated_quote_stops_at_its_line_and_keeps_earlier_rows(tmp_path):
    job = run(tmp_path, HEADER + GOOD_ROW + b'BAD,"Mug,5,x\r\n' + b"\0" * 10)

    assert job.state == "succeeded"
    assert [(line, column) for line, column, _, _ in problems(job)] == [(3, "")]
    assert Product.objects.filter(sku="GOOD").exists()


def test_a_quote_left_open_names_every_line_it_swallowed(tmp_path):
    job = run(tmp_path, HEADER + b'OPEN,"Mug,5,x\r\nLOST,Cup,6,y\r\nLOST2,Jar,7,z\r\n')

    [(line, _, _, message)] = problems(job)
    assert line == 2 and "lines 2–4 were read as this one row" in message


def test_a_quoting_error_costs_its_own_row_and_later_rows_are_imported(tmp_path):
    broken = b'BAD,"Mug" large,5,x\r\n'  # text after a closing quote
    job = run(tmp_path, HEADER + GOOD_ROW + broken + b"LATER,Later mug,6,y\r\n")

    assert job.state == "succeeded"
    assert [(line, column) for line, column, _, _ in problems(job)] == [(3, "")]
    assert set(Product.objects.values_list("sku", flat=True)) == {"GOOD", "LATER"}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", ERROR_EMPTY_FILE),
        (b"\xef\xbb\xbf", ERROR_EMPTY_FILE),
        (b"\r\n\r\n", ERROR_EMPTY_FILE),
        (b"name,cost\r\nMug,1\r\n", "missing required column(s): sku, title, price"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "missing required column(s): sku, title, price"),
        # Each was "missing required column(s)", or "the file is UTF-16" for the zip's NULs.
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", ERROR_ZIP),
        (b"sku;title;price\r\nMUG-1;Mug;5\r\n", ERROR_DELIMITER.format(name="semicolons")),
        (b"SKU\tTitle\tPrice\r\nMUG-1\tMug\t5\r\n", ERROR_DELIMITER.format(name="tabs")),
    ],
    ids=[
        "empty",
        "bom only",
        "blank lines",
        "wrong header",
        "binary",
        "xlsx",
        "semicolons",
        "tabs",
    ],
)
def test_unusable_files_fail_the_job_with_the_reason(tmp_path, data, error):
    job = run(tmp_path, data)
    assert (job.state, job.error) == ("failed", error)
    assert Product.objects.count() == 0


FORMULAS = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
]


def test_formula_cells_are_stored_verbatim_and_neutralised_in_the_problems_export(tmp_path):
    rows = [
        f'F{index},"{formula.replace(chr(34), chr(34) * 2)}",5,x\r\n'.encode()
        for index, formula in enumerate(FORMULAS)
    ]
    bad = b"\"=cmd|' calc'!A1\",Mug,not-a-price,x\r\n"
    job = run(tmp_path, HEADER + b"".join(rows) + bad)

    titles = dict(Product.objects.values_list("sku", "title"))
    assert titles == {f"F{index}": formula for index, formula in enumerate(FORMULAS)}
    exported = list(csv.reader(io.StringIO(import_job_problems_csv(job))))
    assert exported == [
        ["line", "level", "column", "sku", "message"],
        [
            "6",
            "row",
            "price",
            "'=cmd|' calc'!A1",
            "price 'not-a-price' is not a non-negative amount with at most 2 decimals",
        ],
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("mug", "mug"),
        (3, "3"),
    ],
)
def test_spreadsheet_safe(value, expected):
    assert spreadsheet_safe(value) == expected


def test_the_import_command_writes_the_formula_safe_problems_csv(tmp_path):
    source = write(tmp_path / "in" / "c.csv", HEADER + b"=BAD(),Mug,x,y\r\n")
    out = tmp_path / "problems.csv"

    with pytest.raises(CommandError, match="^nothing was imported"):  # its one row rejected
        call_command("import_catalogue", str(source), "--problems-csv", str(out), verbosity=0)

    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("2,row,price,'=BAD()")


DB_HEADER = b"sku,title,price,category,tags,attributes\r\n"
DB_GOOD = b'GOOD,Good mug,5,Home > Mugs,blue,"{""w"": 1}"\r\n'
DEEP = b"[" * 40_000 + b"]" * 40_000
DB_CASES = [
    ("category level too long", b"BAD,Mug,5,Home > " + b"k" * 201 + b",,\r\n", "category"),
    (
        # 999 characters as written, within the column's 1000; 1997 once stored as "a > a > …"
        "category growing past the column once normalised",
        b"BAD,Mug,5," + b">".join([b"a"] * 500) + b",,\r\n",
        "category",
    ),
    ("tag too long", b"BAD,Mug,5,,t" + b"t" * 100 + b",\r\n", "tags"),
    ("NaN in attributes", b'BAD,Mug,5,,,"{""w"": NaN}"\r\n', "attributes"),
    ("an infinite number in attributes", b'BAD,Mug,5,,,"{""w"": 1e999}"\r\n', "attributes"),
    ("a NUL escape in attributes", b'BAD,Mug,5,,,"{""w"": ""a\\u0000b""}"\r\n', "attributes"),
    ("a lone surrogate in attributes", b'BAD,Mug,5,,,"{""w"": ""\\ud800""}"\r\n', "attributes"),
    ("attributes nested 40,000 deep", b'BAD,Mug,5,,,"{""w"": ' + DEEP + b'}"\r\n', "attributes"),
    (
        "an integer of 5,000 digits",
        b'BAD,Mug,5,,,"{""w"": ' + b"9" * 5000 + b'}"\r\n',
        "attributes",
    ),
]


@pytest.mark.parametrize(("name", "row", "column"), DB_CASES, ids=[c[0] for c in DB_CASES])
def test_values_the_database_would_refuse_cost_only_their_row(tmp_path, name, row, column):
    last = b"LAST,Last mug,6,,,\r\n"

    job = run(tmp_path, DB_HEADER + DB_GOOD + row + last)

    assert job.state == "succeeded"
    assert [(line, col, sku) for line, col, sku, _ in problems(job)] == [(3, column, "BAD")]
    assert (job.created_count, job.failed_count) == (2, 1)
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["GOOD", "LAST"]


def test_a_sku_with_a_slash_costs_only_its_row(tmp_path):
    # The product's URLs (API and storefront) could never name it: one storefront card of it
    # would fail the whole page.
    job = run(tmp_path, DB_HEADER + DB_GOOD + b"AB/12,Mug,5,,,\r\n")

    assert job.state == "succeeded"
    assert [(line, col, sku) for line, col, sku, _ in problems(job)] == [(3, "sku", "AB/12")]
    assert list(Product.objects.values_list("sku", flat=True)) == ["GOOD"]


@pytest.mark.parametrize(
    ("name", "shown", "stored"),
    [
        # Excel on Windows saves "Größe" in cp1252: bytes that are not UTF-8.
        ("attr:Größe".encode("cp1252"), "attr:gr\ufffd\ufffde", {}),
        ("Größe".encode("cp1252"), "gr\ufffd\ufffde", {}),
        (b"attr:col\x00our", "attr:col\ufffdour", {}),
        (b"col\x00our", "col\ufffdour", {}),
        ("attr:Größe".encode(), None, {"größe": "XL"}),  # the same name in UTF-8 is readable
    ],
    ids=["cp1252 attr", "cp1252 unknown", "nul attr", "nul unknown", "utf-8 attr"],
)
def test_an_unreadable_header_name_costs_only_its_column(tmp_path, name, shown, stored):
    job = run(tmp_path, b"sku,title,price," + name + b"\r\nA,Mug,5,XL\r\nB,Cup,4,\r\n")

    assert job.state == "succeeded"
    warnings = (
        [] if shown is None else [(1, shown, "", ERROR_UNREADABLE_COLUMN.format(column=shown))]
    )
    assert problems(job) == warnings
    assert dict(Product.objects.values_list("sku", "attributes")) == {"A": stored, "B": {}}


@pytest.mark.parametrize(
    ("header", "column"),
    [
        (b"sku,title,price,Title", "title"),
        (b"sku,title,price,attr:Colour,ATTR:colour", "attr:colour"),
    ],
    ids=["title", "attr"],
)
def test_a_column_named_twice_fails_the_file_naming_it(tmp_path, header, column):
    # Merged, the later cell would silently win over the earlier one on every row.
    job = run(tmp_path, header + b"\r\nA,Striped mug,5,,\r\n")

    assert (job.state, job.error) == ("failed", ERROR_REPEATED_COLUMN.format(column=column))
    assert Product.objects.count() == 0


def test_unknown_columns_may_repeat(tmp_path):
    # Exporters often leave blank or helper columns; they are ignored, so a repeat harms nothing.
    job = run(tmp_path, b"sku,title,price,,,note,Note\r\nA,Mug,5,,,x,y\r\n")

    assert job.state == "succeeded"
    assert Product.objects.get(sku="A").title == "Mug"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("sku,title,price\r\nA,Mug,5\r\n".encode("utf-16"), "UTF-16"),  # with its BOM
        ("sku\ttitle\tprice\r\nA\tMug\t5\r\n".encode("utf-16"), "UTF-16"),  # Excel's "Unicode text"
        ("sku,title,price\r\nA,Mug,5\r\n".encode("utf-16-be"), "UTF-16"),  # no BOM
        ("sku,title,price\r\nA,Mug,5\r\n".encode("utf-16-le"), "UTF-16"),  # no BOM
        ("sku,title,price\r\nA,Mug,5\r\n".encode("utf-32"), "UTF-32"),
    ],
    ids=["utf-16 bom", "unicode text", "utf-16-be", "utf-16-le", "utf-32"],
)
def test_a_utf16_or_utf32_file_fails_saying_so(tmp_path, data, encoding):
    job = run(tmp_path, data)

    assert (job.state, job.error) == ("failed", ERROR_WIDE_ENCODING.format(encoding=encoding))
    assert "CSV UTF-8" in job.error
