"""The online-retail order lines: which file, which rows, and which months each split asks for.

The data README's protocol names months (learn to 2011-06-30, test 2011-07/08): the dev file's
last two. Files of the same kind cover other months, so the benches read the split from the file
they are given: the test period is its last two calendar months and the learning period all
before; each bench's validation split sits the same way inside the learning period, a month or
two earlier. `--test-from` / `--test-until` name other months. On the dev file this is the
protocol's split to the day.
"""

import argparse
import csv
import datetime as dt
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "online-retail"
DEV_FILE = "transactions-2010-12-to-2011-08.csv.gz"
# The README's fees, discounts and adjustments: not products.
FEES = {"POST", "M", "DOT", "BANK CHARGES", "AMAZONFEE", "C2", "D", "CRUK", "PADS", "B", "S"}
TEST_MONTHS = 2
PROTOCOL_TEST_MONTHS = "2011-07/08"  # the README's baselines are figures for these months
# The UCI original writes "12/1/2010 8:26"; the shared copy ISO "2010-12-01 08:26:00".
US_STYLE = "%m/%d/%Y %H:%M"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        default=DATA,
        help="an online-retail order-line file (.csv or .csv.gz) or the folder holding it",
    )
    parser.add_argument("--test-from", type=dt.date.fromisoformat, help="default: the file's")
    parser.add_argument("--test-until", type=dt.date.fromisoformat, help="last two months")


def data_file(path: Path) -> Path | None:
    """The order-line file at `path`: the file itself, or the one in the folder (the dev file's
    name first when the folder holds several). None when there is none."""
    if path.is_file():
        return path
    if not path.is_dir():
        return None
    if (path / DEV_FILE).is_file():
        return path / DEV_FILE
    found = sorted([*path.glob("*.csv.gz"), *path.glob("*.csv")])
    if len(found) > 1:
        names = ", ".join(f.name for f in found)
        raise SystemExit(f"{path} holds several order-line files ({names}): pass --data FILE")
    return found[0] if found else None


def order_time(text: str) -> dt.datetime:
    """An InvoiceDate as a naive datetime (the shop's local time, as the file writes it)."""
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return dt.datetime.strptime(text.strip(), US_STYLE)


def order_lines(path: Path, limit: int = 0) -> Iterator[dict]:
    """The protocol's order lines (no cancellations, no quantity ≤ 0, no fees), in file order,
    InvoiceDate rewritten in ISO form. `limit` N > 0 reads only the file's first N rows."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            if limit and number >= limit:
                return
            if row["InvoiceNo"].startswith("C") or row["StockCode"] in FEES:
                continue
            if float(row["Quantity"]) <= 0:
                continue
            row["InvoiceDate"] = order_time(row["InvoiceDate"]).isoformat(sep=" ")
            yield row


def months_before(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` calendar months before `day`'s."""
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Split:
    """The test period [test_from, test_until); the learning period is everything before."""

    test_from: dt.date
    test_until: dt.date

    @classmethod
    def of(cls, last_order: dt.datetime, args: argparse.Namespace) -> "Split":
        """The arguments' months, else the last TEST_MONTHS calendar months up to last_order."""
        until = args.test_until or months_before(last_order.date(), -1)
        return cls(args.test_from or months_before(until, TEST_MONTHS), until)

    def __str__(self) -> str:
        return f"learn before {self.test_from}, test {self.test_from} to {self.test_until} (excl.)"

    def validation_from(self, months: int) -> dt.date:
        """Where a validation split `months` long, ending where the test period starts, begins."""
        return months_before(self.test_from, months)

    @staticmethod
    def utc(day: dt.date) -> dt.datetime:
        """Midnight of `day`, read as UTC like the order times."""
        return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)

    @classmethod
    def seconds(cls, day: dt.date) -> int:
        """Midnight of `day` as seconds since the epoch."""
        return int(cls.utc(day).timestamp())

    @staticmethod
    def months(start: dt.date, until: dt.date) -> str:
        """The months' label: "2011-07/08" for [2011-07-01, 2011-09-01), "2011-06" for one."""
        last = months_before(until, 1) if until.day == 1 else until
        if (last.year, last.month) == (start.year, start.month):
            return f"{start:%Y-%m}"
        if last.year == start.year:
            return f"{start:%Y-%m}/{last:%m}"
        return f"{start:%Y-%m} to {last:%Y-%m}"
