"""Run every benchmark, one after the other (they would only slow each other down on 2 cores).

    .venv/bin/python bench/run_all.py          # quick smoke run (~10 min), docs untouched
    .venv/bin/python bench/run_all.py --full   # the documented runs (~45 min), rewrites
                                               # docs/BENCHMARKS.md

The quality benchmark needs ../shared/data/clothing-dataset-small; without it, it is skipped
with a note instead of failing the run. Extra arguments after `--` go to both scripts.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

from _report import log

BENCH_DIR = Path(__file__).resolve().parent
QUICK = {
    "quality_clothing.py": ["--epochs", "2", "--warmup-epochs", "1", "--limit-train", "600"],
    "embed_throughput.py": [
        "--images",
        "300",
        "--forward-images",
        "256",
        "--naive-images",
        "128",
        "--rounds",
        "1",
        "--no-doc",
    ],
}


def dataset_present() -> bool:
    from quality_clothing import DEFAULT_DATA

    return (DEFAULT_DATA / "train").is_dir() and (DEFAULT_DATA / "test").is_dir()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the documented (slow) runs")
    args = parser.parse_args()
    failures = []
    for script, quick in QUICK.items():
        if script == "quality_clothing.py" and not dataset_present():
            log(f"skipping {script}: clothing-dataset-small is not there (see its --data)")
            continue
        command = [sys.executable, str(BENCH_DIR / script), *([] if args.full else quick)]
        log("running " + " ".join(command[1:]))
        started = time.monotonic()
        code = subprocess.call(command, cwd=BENCH_DIR.parent)
        log(f"{script} finished with exit code {code} after {time.monotonic() - started:.0f} s")
        if code:
            failures.append(script)
    if failures:
        log(f"failed: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
