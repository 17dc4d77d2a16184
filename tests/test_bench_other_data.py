"""The quality benches run on files of the dev sets' kind that cover other months or columns.

prodsim is measured on held-out sets of the same kind (later months of the shop, other product
pairs), so the benches take their split from the file they are given, not from the dev file's
dates, and read a matching table's columns by name.
"""

import csv
import datetime as dt
import gzip
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "bench"))

import _online_retail as online_retail  # noqa: E402

HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice"]
HEADER += ["CustomerID", "Country"]
BENCH_ENV = ("PRODSIM_BENCH_DOCS", "PRODSIM_BENCH_PROFILE", "PRODSIM_DATABASE_NAME")
embedded_only = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL")),
    reason="the benchmarks run only on the embedded servers (DATABASE_URL/REDIS_URL is set)",
)


def months(last: str, **given) -> online_retail.Split:
    args = {"test_from": None, "test_until": None} | given
    return online_retail.Split.of(dt.datetime.fromisoformat(last), type("Args", (), args))


def test_the_dev_file_gets_the_protocols_months():
    split = months("2011-08-31 17:00:00")
    assert (split.test_from, split.test_until) == (dt.date(2011, 7, 1), dt.date(2011, 9, 1))
    assert split.validation_from(1) == dt.date(2011, 6, 1)  # sequence_quality's June
    assert split.validation_from(2) == dt.date(2011, 5, 1)  # the signals' and study's May/June
    assert split.months(split.test_from, split.test_until) == online_retail.PROTOCOL_TEST_MONTHS


@pytest.mark.parametrize(
    ("last", "test_from", "test_until", "label"),
    [
        ("2011-12-09 12:50:00", "2011-11-01", "2012-01-01", "2011-11/12"),  # a part month counts
        ("2012-01-15 09:00:00", "2011-12-01", "2012-02-01", "2011-12 to 2012-01"),
        ("2012-03-01 00:00:00", "2012-02-01", "2012-04-01", "2012-02/03"),
    ],
)
def test_another_file_is_tested_on_its_own_last_two_months(last, test_from, test_until, label):
    split = months(last)
    assert (str(split.test_from), str(split.test_until)) == (test_from, test_until)
    assert split.months(split.test_from, split.test_until) == label
    assert split.seconds(split.test_from) == int(
        dt.datetime.fromisoformat(test_from).replace(tzinfo=dt.UTC).timestamp()
    )


def test_given_months_win_over_the_files():
    split = months("2011-12-09 12:50:00", test_from=dt.date(2011, 10, 1))
    assert (split.test_from, split.test_until) == (dt.date(2011, 10, 1), dt.date(2012, 1, 1))
    split = months("2011-12-09", test_until=dt.date(2011, 12, 10))
    assert (split.test_from, split.test_until) == (dt.date(2011, 10, 1), dt.date(2011, 12, 10))


def test_order_lines_keep_the_protocols_rows_in_either_date_style(tmp_path):
    path = tmp_path / "orders.csv.gz"
    with gzip.open(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerow(["1", "A", "MUG", "2", "12/1/2010 8:26", "1", "17850.0", "UK"])
        writer.writerow(["2", "J", "JUG", "1", "2010-12-02 09:00:00", "1", "", "UK"])
        writer.writerow(["C3", "A", "MUG", "-2", "2010-12-03 09:00:00", "1", "17850.0", "UK"])
        writer.writerow(["4", "POST", "POSTAGE", "1", "2010-12-03 09:00:00", "18", "", "UK"])
        writer.writerow(["5", "J", "JUG", "0", "2010-12-04 09:00:00", "1", "", "UK"])
    kept = list(online_retail.order_lines(path))
    assert [(row["InvoiceNo"], row["InvoiceDate"]) for row in kept] == [
        ("1", "2010-12-01 08:26:00"),
        ("2", "2010-12-02 09:00:00"),
    ]


def test_the_data_argument_takes_a_file_or_the_folder_holding_one(tmp_path):
    assert online_retail.data_file(tmp_path / "missing") is None
    assert online_retail.data_file(tmp_path) is None
    (tmp_path / "later.csv").write_text(",".join(HEADER) + "\n")
    assert online_retail.data_file(tmp_path) == tmp_path / "later.csv"
    (tmp_path / "other.csv.gz").write_bytes(b"")
    with pytest.raises(SystemExit, match="several order-line files"):
        online_retail.data_file(tmp_path)
    assert online_retail.data_file(tmp_path / "later.csv") == tmp_path / "later.csv"


def write_shop(path: Path) -> None:
    """Forty customers reordering from their own six favourites, 2012-01 to mid June, in the
    UCI original's US date style, as a plain CSV."""
    rng, rows, invoice = random.Random(0), [], 600_000
    start = dt.datetime(2012, 1, 5, 9)
    for customer in range(20, 820, 20):
        favourites, day = rng.sample(range(40), 6), rng.randrange(14)
        while day < 160:
            invoice += 1
            when = start + dt.timedelta(days=day, hours=rng.randrange(8))
            for item in {*rng.sample(favourites, 3), rng.randrange(40)}:
                rows.append(
                    [invoice, f"P{item:03d}", f"PRODUCT {item % 7} NUMBER {item}", 3]
                    + [when.strftime("%m/%d/%Y %H:%M"), "1.25", f"{customer}.0", "UK"]
                )
            day += rng.randrange(7, 21)
    rows.sort(key=lambda row: dt.datetime.strptime(row[4], "%m/%d/%Y %H:%M"))
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)


def run_bench(script: str, *args: str, docs: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in BENCH_ENV}
    env["PRODSIM_BENCH_DOCS"] = str(docs)
    completed = subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = [line for line in completed.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    assert len(lines) == 1, completed.stdout[-2000:]
    return json.loads(lines[0].removeprefix("BENCH_JSON "))


def test_next_purchase_signals_split_a_later_file_by_its_own_months(tmp_path):
    write_shop(tmp_path / "orders.csv")
    docs = tmp_path / "BENCHMARKS.md"
    figures = run_bench("next_purchase_signals.py", "--data", str(tmp_path), docs=docs)
    assert figures["cuts"] == {
        "valid": ["2012-03-01", "2012-03/04"],
        "test": ["2012-05-01", "2012-05/06"],
    }
    assert figures["customers"]["valid"] > 30 and figures["customers"]["test"] > 30
    # Each customer reorders their own favourites: counting repeats beats popularity.
    rows = figures["rows"]
    assert rows["own repeats"]["test"]["recall"] > rows["popular"]["test"]["recall"]
    assert "before 2012-05-01 → 2012-05/06" in docs.read_text()


@embedded_only
def test_bought_together_quality_imports_a_later_file_and_tests_its_last_months(tmp_path):
    write_shop(tmp_path / "orders.csv")
    figures = run_bench(
        "behaviour_quality.py",
        "--data",
        str(tmp_path / "orders.csv"),
        "--no-doc",
        docs=tmp_path / "BENCHMARKS.md",
    )
    assert figures["products"] == 40
    assert figures["train_rejected"] == figures["test_rejected"] == 0
    assert figures["test_lines"] > 0 and figures["train_lines"] > figures["test_lines"]
    assert figures["offline"]["test_orders"] > 0
    assert not (tmp_path / "BENCHMARKS.md").exists()


def write_pairs(folder: Path, matches_style: str) -> None:
    """Amazon-Google's columns: title and manufacturer, Latin-1, queries without the brand; the
    matches as the dev sets write them or as DeepMatcher's labelled pairs (non-matches too)."""
    rng = random.Random(1)
    kinds = ["Stereo Speaker", "Ink Cartridge", "USB Cable", "Laptop Bag", "Desk Lamp"]
    catalogue = [
        [i, f"{brand} {rng.choice(kinds)} {brand[:2].upper()}-{rng.randrange(1000, 9999)}", brand]
        for i, brand in enumerate(rng.choice(["Acme", "Globex", "Initech"]) for _ in range(200))
    ]
    picked = rng.sample(range(200), 40)
    queries = [[j, catalogue[i][1].split(" ", 1)[1] + " Café", ""] for j, i in enumerate(picked)]
    folder.mkdir()
    for name, rows in (("tableB.csv", catalogue), ("tableA.csv", queries)):
        with open(folder / name, "w", newline="", encoding="latin-1") as handle:
            csv.writer(handle).writerows([["id", "title", "manufacturer", "price"], *rows])
    with open(folder / "matches.csv", "w", newline="") as handle:
        if matches_style == "dev":
            csv.writer(handle).writerows([["tableA_id", "tableB_id"], *enumerate(picked)])
        else:
            wrong = [(j, (i + 1) % 200, 0) for j, i in enumerate(picked)]
            labelled = [(j, i, 1) for j, i in enumerate(picked)] + wrong
            csv.writer(handle).writerows([["ltable_id", "rtable_id", "label"], *labelled])


@pytest.mark.parametrize("matches_style", ["dev", "deepmatcher"])
def test_text_matching_reads_another_tables_columns_by_name(tmp_path, matches_style):
    write_pairs(tmp_path / "amazon-google", matches_style)
    docs = tmp_path / "BENCHMARKS.md"
    figures = run_bench("text_matching.py", "--data", str(tmp_path / "amazon-google"), docs=docs)
    result = figures["amazon-google"]
    assert result["columns"] == {"title": "title", "brand": "manufacturer"}
    assert result["queries"] == 40 and result["catalogue"] == 200
    assert result["rows"]["prodsim"]["recall_at_10"] > 0.5
    assert not docs.exists()  # docs/BENCHMARKS.md holds the dev sets' figures only
