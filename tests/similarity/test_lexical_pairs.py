"""Tuning the lexical field weights on a shop's own matched records (reindex_text --pairs): bad
lines are reported and left out, the valid ones drive the tuning, and an unusable file stops
the command before anything is rebuilt."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import Product
from similarity.models import LexicalIndex
from similarity.services.lexical import lexical_index_rebuild
from similarity.services.lexical_pairs import MIN_PAIRS, PairsError, matched_pairs_read
from tests.catalog.factories import product, write

pytestmark = pytest.mark.django_db

COLOURS = ("black", "white", "red", "blue", "green")


@pytest.fixture
def catalogue():
    for number in range(30):
        colour = COLOURS[number % len(COLOURS)]
        product(
            sku=f"PC-{number}",
            title=f"Phone case {colour}",
            brand="Casely",
            attributes={"model": f"PC{number:03d}X"},
            description=f"A {colour} case with a soft lining, size {number}",
        )


def pairs_file(tmp_path: Path, lines: list[str]) -> Path:
    return write(tmp_path / "pairs.csv", ("\r\n".join(lines) + "\r\n").encode())


def good_lines(count: int) -> list[str]:
    return [f"PC-{n},case {COLOURS[n % len(COLOURS)]} PC{n:03d}X," for n in range(count)]


def test_bad_lines_are_reported_and_left_out(tmp_path, catalogue):
    path = pairs_file(
        tmp_path,
        ["sku,title,description", *good_lines(MIN_PAIRS), "NOPE,case black,", "PC-1,,"],
    )

    pairs = matched_pairs_read(path)

    assert len(pairs.product_ids) == MIN_PAIRS
    assert pairs.problems == [
        f"line {MIN_PAIRS + 2}: sku 'NOPE' is not a product of the catalogue",
        f"line {MIN_PAIRS + 3}: every field is empty",
    ]
    assert pairs.queries["title"][0] == "case black PC000X"
    assert pairs.queries["brand"] == [""] * MIN_PAIRS  # a field the file lacks stays empty


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["title", "case"], "the header has no sku column"),
        (["sku,colour", "PC-1,black"], "the header names none of the fields"),
        (["sku,title", *good_lines(3)], f"3 valid matched records: at least {MIN_PAIRS}"),
    ],
    ids=["no sku", "no field", "too few"],
)
def test_an_unusable_file_is_refused_with_the_reason(tmp_path, catalogue, lines, message):
    with pytest.raises(PairsError, match=message):
        matched_pairs_read(pairs_file(tmp_path, lines))


def test_the_command_tunes_on_the_valid_pairs(tmp_path, catalogue):
    path = pairs_file(tmp_path, ["sku,title", *good_lines(25), "NOPE,case"])
    out, err = StringIO(), StringIO()

    call_command("reindex_text", "--pairs", str(path), stdout=out, stderr=err)

    index = LexicalIndex.objects.get(is_current=True)
    assert (index.tuning["method"], index.tuning["queries"]) == ("pairs", 25)
    assert "on 25 pairs" in out.getvalue()
    assert "line 27: sku 'NOPE' is not a product of the catalogue (left out)" in err.getvalue()


def test_the_command_stops_before_rebuilding_when_the_file_is_unusable(tmp_path, catalogue):
    path = pairs_file(tmp_path, ["sku,title", *good_lines(2)])

    with pytest.raises(CommandError, match="2 valid matched records"):
        call_command("reindex_text", "--pairs", str(path), stdout=StringIO())

    assert not LexicalIndex.objects.filter(tuning__method="pairs").exists()


def test_a_line_naming_a_withdrawn_product_is_reported_and_left_out(tmp_path, catalogue):
    Product.objects.filter(sku="PC-0").update(is_active=False)
    path = pairs_file(tmp_path, ["sku,title", *good_lines(MIN_PAIRS + 1)])

    pairs = matched_pairs_read(path)

    assert len(pairs.product_ids) == MIN_PAIRS
    assert pairs.problems == ["line 2: sku 'PC-0' is withdrawn"]


@pytest.mark.parametrize(("lines", "withdrawn"), [(25, 10), (MIN_PAIRS, MIN_PAIRS)])
def test_the_command_stops_before_rebuilding_when_withdrawn_products_leave_too_few_lines(
    tmp_path, catalogue, lines, withdrawn
):
    Product.objects.filter(sku__in=[f"PC-{n}" for n in range(withdrawn)]).update(is_active=False)
    path = pairs_file(tmp_path, ["sku,title", *good_lines(lines)])

    with pytest.raises(CommandError, match=f"{lines - withdrawn} valid matched records"):
        call_command("reindex_text", "--pairs", str(path), stdout=StringIO(), stderr=StringIO())

    assert not LexicalIndex.objects.filter(tuning__method="pairs").exists()


def test_products_withdrawn_after_the_file_was_read_stop_the_rebuild_below_the_minimum(
    tmp_path, catalogue
):
    pairs = matched_pairs_read(pairs_file(tmp_path, ["sku,title", *good_lines(MIN_PAIRS)]))
    Product.objects.filter(sku="PC-0").update(is_active=False)

    with pytest.raises(PairsError, match=f"{MIN_PAIRS - 1} valid matched records"):
        lexical_index_rebuild(pairs=pairs)

    assert not LexicalIndex.objects.exists()


def test_the_command_refuses_a_folder_as_the_pairs_file(tmp_path, catalogue):
    with pytest.raises(CommandError, match="is not a file"):
        call_command("reindex_text", "--pairs", str(tmp_path), stdout=StringIO())

    assert not LexicalIndex.objects.filter(tuning__method="pairs").exists()
