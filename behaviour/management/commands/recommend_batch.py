import os
import stat
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from behaviour.selectors.recommendations.batch import recommendations_batch
from similarity.api.serializers import MAX_K
from similarity.selectors import SimilarQuery

ERROR_OUTPUT_FOLDER = "--output {path} is a folder; name the CSV file to write"


class Command(BaseCommand):
    help = (
        "Recommended for you, for a list of visitors at once (an e-mail campaign, a nightly "
        "feed): reads visitor ids (a CSV's first column, as the shop sends them with its events; "
        "'-' for standard input) and writes visitor_id, rank, sku, title, score, tier, why. "
        "Each visitor is answered as the API would answer them now. Refused lines are listed by "
        "number on standard error; --output is written whole or not at all."
    )

    def add_arguments(self, parser):
        parser.add_argument("visitors", help="file of visitor ids, or '-'")
        parser.add_argument("--output", default="-", help="CSV file to write (default: stdout)")
        parser.add_argument("--k", type=int, default=10, help=f"per visitor, 1–{MAX_K}")
        parser.add_argument("--in-stock", action="store_true", help="only products in stock")
        parser.add_argument(
            "--header",
            action="store_true",
            help="skip the first line (a header named visitor_id, visitor, customer_id or "
            "customer is skipped anyway)",
        )

    def handle(self, *args, visitors, output, k, in_stock, header, **options):
        if not 1 <= k <= MAX_K:
            raise CommandError(f"--k must lie between 1 and {MAX_K}; got {k}")
        if output != "-" and Path(output).is_dir():  # found only at the rename, after the work
            raise CommandError(ERROR_OUTPUT_FOLDER.format(path=output))
        query = SimilarQuery(k=k, in_stock_only=in_stock, with_images=False)
        source = sys.stdin if visitors == "-" else _open(visitors)
        try:
            with source:
                if output == "-":
                    summary = recommendations_batch(
                        lines=source, out=self.stdout, query=query, header=header
                    )
                else:
                    summary = _write_whole(Path(output), source, query, header)
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"{visitors} is not UTF-8 text ({exc.reason} at byte {exc.start} of a read): "
                "save it as UTF-8 and run again"
            ) from None
        for number, why in summary.refused:
            self.stderr.write(f"line {number}: {why}")
        self.stderr.write(
            f"{summary.visitors} visitors answered ({summary.without_history} without events: "
            f"trending), {summary.rows} recommendations, {len(summary.refused)} lines refused"
        )


def _open(path: str):
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None


def _write_whole(path: Path, source, query: SimilarQuery, header: bool):
    """Write beside `path`, then rename: a run that fails leaves no half-written file. The file
    gets the mode a plain write would give it (the old file's, else the umask's), not mkstemp's
    private one, as another system's user often reads a feed."""
    try:
        handle, staged = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            summary = recommendations_batch(lines=source, out=out, query=query, header=header)
        os.chmod(staged, _mode_for(path))
        os.replace(staged, path)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
    return summary


def _mode_for(path: Path) -> int:
    if path.exists():
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
