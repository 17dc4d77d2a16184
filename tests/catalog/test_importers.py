from decimal import Decimal

import pytest

from catalog.importers import (
    CsvHeaderError,
    ProductRow,
    RowProblem,
    parse_catalogue_csv,
)


def parse(text: bytes | str) -> list:
    data = text.encode() if isinstance(text, str) else text
    return list(parse_catalogue_csv(data, default_currency="EUR"))


def test_full_row_is_typed_and_normalised():
    [row] = parse(
        "SKU,Title,Price,currency,brand,category,tags,attributes,attr:size,in_stock,group_id,images\n"
        'M-1,Red mug,12.5,usd,Hearth,Home >Kitchen >  Mugs,red|mug|red,"{""colour"": ""red""}",'
        "L,no,G-1,a.jpg|b.jpg|a.jpg\n"
    )
    assert row == ProductRow(
        line=2,
        sku="M-1",
        title="Red mug",
        price=Decimal("12.5"),
        currency="USD",
        brand="Hearth",
        category_path="Home > Kitchen > Mugs",
        tags=["red", "mug"],
        attributes={"colour": "red", "size": "L"},
        in_stock=False,
        group_id="G-1",
        image_paths=["a.jpg", "b.jpg"],
    )


def test_utf8_bom_is_accepted():
    [row] = parse("\ufeffsku,title,price\nA,Ä mug,1\n".encode())
    assert (row.sku, row.title, row.currency) == ("A", "Ä mug", "EUR")


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        (",No sku,1", "sku", "sku is required"),
        ("A,,1", "title", "title is required"),
        ("A,Mug,", "price", "price is required"),
        ("A,Mug,-1", "price", "price '-1' is not a non-negative amount with at most 2 decimals"),
        (
            "A,Mug,1.999",
            "price",
            "price '1.999' is not a non-negative amount with at most 2 decimals",
        ),
        ("A,Mug,abc", "price", "price 'abc' is not a non-negative amount with at most 2 decimals"),
    ],
)
def test_bad_rows_are_reported_with_line_and_column(line, column, message):
    [problem] = parse(f"sku,title,price\n{line}\n")
    assert problem == RowProblem(2, message, column, line.split(",")[0])


def test_invalid_utf8_and_nul_are_reported_per_field_and_other_rows_kept():
    data = b"sku,title,price\nA,Good,1\nB,Bad \xff\xfe title,2\nC,Nul \x00 here,3\nD,Fine,4\n"
    items = parse(data)
    assert [type(item).__name__ for item in items] == [
        "ProductRow",
        "RowProblem",
        "RowProblem",
        "ProductRow",
    ]
    assert items[1] == RowProblem(3, "title contains bytes that are not valid UTF-8", "title", "B")
    assert items[2] == RowProblem(4, "title contains a NUL byte", "title", "C")
    assert [items[0].sku, items[3].sku] == ["A", "D"]


def test_duplicate_sku_in_one_file_keeps_the_first():
    items = parse("sku,title,price\nA,First,1\nB,Other,2\nA,Second,3\n")
    assert [item.title for item in items if isinstance(item, ProductRow)] == ["First", "Other"]
    assert items[2] == RowProblem(
        4, "SKU 'A' already appeared on line 2; this row is ignored", "sku", "A"
    )


def test_unknown_columns_warn_once_on_line_one():
    items = parse("sku,title,price,colour\nA,Mug,1,red\n")
    assert items[0] == RowProblem(
        1, "unknown column 'colour' is ignored", "colour", fatal_for_row=False
    )
    assert items[1].sku == "A"


def test_line_numbers_count_physical_lines_of_quoted_multiline_fields():
    items = parse('sku,title,price,description\nA,Mug,1,"two\nlines"\nB,,2,x\n')
    assert items[0].description == "two\nlines"
    assert items[1] == RowProblem(4, "title is required", "title", "B")


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ("A,Mug,1,[1],", "attributes", "attributes is not a JSON object: got list"),
        (
            "A,Mug,1,{bad,",
            "attributes",
            "attributes is not a JSON object: Expecting property name enclosed in double quotes",
        ),
        ("A,Mug,1,,maybe", "in_stock", "in_stock 'maybe' is not one of true/false, yes/no, 1/0"),
    ],
)
def test_attribute_and_boolean_errors(cells, column, message):
    [problem] = parse(f"sku,title,price,attributes,in_stock\n{cells}\n")
    assert (problem.line, problem.column, problem.message) == (2, column, message)


def test_missing_required_columns_rejects_the_file():
    with pytest.raises(CsvHeaderError, match=r"missing required column\(s\): title, price"):
        parse("sku,name\nA,Mug\n")


def test_too_many_fields_is_a_row_error():
    [problem] = parse("sku,title,price\nA,Mug,1,extra\n")
    assert problem.message == "row has 4 fields but the header has 3"


def test_a_currency_that_upper_cases_into_three_letters_is_refused():
    """ "ß".upper() is "SS": "ßA" must not pass as "SSA"."""
    data = "sku,title,price,currency\nA,Mug,1.00,ßA\n".encode()

    (problem,) = parse(data)

    assert isinstance(problem, RowProblem) and problem.column == "currency"


def test_an_ignored_columns_cells_cost_no_row():
    """An unknown column is ignored, yet a long cell or a bad byte in it rejected the row."""
    long_html = "<p>" + "x" * 100_001 + "</p>"
    data = f"sku,title,price,body_html,notes\nM-1,Mug,5,{long_html},caf".encode() + b"\xe9\n"

    *warnings, row = parse(data)

    assert [(w.line, w.column) for w in warnings] == [(1, "body_html"), (1, "notes")]
    assert isinstance(row, ProductRow) and row.sku == "M-1"


def test_a_sku_and_a_category_are_measured_as_stored_not_as_written():
    """Checked as written, a decomposed SKU and a path written with many spaces around ">"
    were refused although what is stored fits (the API's PUT took the same SKU)."""
    decomposed = "CAFE\u0301-" * 12 + "ABC"  # 63 characters composed, 75 as written
    assert len(decomposed) > 64
    spaced = "Home" + " " * 990 + ">Kitchen"

    [row] = parse(f"sku,title,price,category\n{decomposed},Mug,5,{spaced}\n")

    assert isinstance(row, ProductRow), row
    assert (len(row.sku), row.category_path) == (63, "Home > Kitchen")
