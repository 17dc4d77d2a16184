"""Run every benchmark, one after the other (they would only slow each other down on 2 cores).

    .venv/bin/python bench/run_all.py           # quick profile (make bench, ~25 min on 2 cores):
                                                # small inputs, writes the *-quick sections
    .venv/bin/python bench/run_all.py --full    # scale profile (make bench-full, hours): the
                                                # documented runs, writes the main sections
    .venv/bin/python bench/run_all.py --smoke --output /tmp/b.md   # seconds: the harness on
                                                # tiny inputs (tests/test_bench_smoke.py)

Sections of docs/BENCHMARKS.md are profile-specific (`<!-- bench:NAME-quick:start -->` for the
quick profile), so a quick run never overwrites the full run's figures. Benchmarks whose data
(../shared/data) is missing are skipped with a note; wrk missing skips the API load. The
end-to-end reembed rate measured by embed_throughput.py is handed to vector_search.py, which
projects reembed time at each catalogue size from it.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _report import JSON_PREFIX, log

BENCH_DIR = Path(__file__).resolve().parent
SHARED_DATA = BENCH_DIR.parents[1] / "shared" / "data"
CLOTHING = SHARED_DATA / "clothing-dataset-small"
GROCERY = SHARED_DATA / "grocery-packages"
# Quick grocery run: small input, 2 short epochs; it shows the harness runs, not the quality.
QUICK_GROCERY = ["--set", "input_size=96", "--set", "epochs=2", "--set", "steps_per_epoch=4"]
WALMART_AMAZON = SHARED_DATA / "amazon-walmart"
REEMBED_BACKBONE = "mobilenet_v2"  # the backbone the clothing quality target is met with

# Quick training: a 600-image subset and 2 epochs (the sections say so). Backbones other than
# MobileNetV2 (the only one with ImageNet weights here) get the two references and their own
# trained row, without the TFLite re-check.
QUICK_TRAINING = ["--set", "epochs=2", "--limit-train", "600"]  # 1 warm-up epoch: the default
OTHER_ROWS = "histogram,frozen,trained"
OTHER_BACKBONES = ("mobilenet_v3_small", "efficientnet_b0", "small_cnn")

# (script, arguments) per profile, in running order; "{pid}" makes database names unique, so
# concurrent smoke tests of several developers never share a database.
PLANS = {
    "smoke": [
        ("vector_search.py", ["--smoke", "--database", "prodsim_bench_smoke_vectors_{pid}"]),
        (
            "serving.py",
            ["--smoke", "--only", "filtered", "--database", "prodsim_bench_smoke_serving_{pid}"],
        ),
        ("behaviour_serving.py", ["--smoke", "--database", "prodsim_bench_smoke_behaviour_{pid}"]),
    ],
    "quick": [
        (
            "embed_throughput.py",
            [
                "--images",
                "300",
                "--forward-images",
                "256",
                "--naive-images",
                "128",
                "--rounds",
                "3",
            ],
        ),
        ("vector_search.py", ["--quick"]),
        ("serving.py", ["--quick"]),
        ("similar_latency.py", ["--duration", "8"]),
        ("behaviour_serving.py", []),
        ("event_import.py", ["--events", "200000", "--rounds", "1"]),
        ("behaviour_quality.py", []),
        ("sequence_quality.py", ["--epochs", "4"]),
        ("next_purchase_signals.py", []),
        ("quality_clothing.py", QUICK_TRAINING),
        ("quality_grocery.py", QUICK_GROCERY),
        *[
            ("quality_clothing.py", [*QUICK_TRAINING, "--backbone", name, "--rows", OTHER_ROWS])
            for name in OTHER_BACKBONES
        ],
        ("text_matching.py", []),
        ("lexical_scale.py", ["--sizes", "20000"]),
        ("fusion_demo.py", ["--per-category", "12"]),
        ("job_heartbeat.py", []),
        ("ab_statistics.py", ["--reps", "500"]),
    ],
    "full": [
        ("embed_throughput.py", []),
        ("vector_search.py", ["--full"]),
        ("serving.py", []),
        ("similar_latency.py", ["--full"]),
        ("behaviour_serving.py", ["--full"]),
        ("behaviour_serving.py", ["--full", "--lists-only"]),
        ("event_import.py", []),
        ("behaviour_quality.py", []),
        ("sequence_quality.py", []),
        ("next_purchase_signals.py", []),
        ("quality_clothing.py", []),
        ("quality_grocery.py", []),
        *[
            ("quality_clothing.py", ["--backbone", name, "--rows", OTHER_ROWS])
            for name in OTHER_BACKBONES
        ],
        ("text_matching.py", []),
        ("lexical_scale.py", ["--sizes", "100000,1000000"]),
        ("lexical_db.py", ["--products", "5000"]),
        ("fusion_demo.py", []),
        ("job_heartbeat.py", []),
        ("ab_statistics.py", []),
    ],
}


def skip_reason(script: str) -> str | None:
    """Why a benchmark cannot run here (missing data or tool), or None."""
    if script == "quality_clothing.py" and not (CLOTHING / "train").is_dir():
        return f"clothing-dataset-small is not at {CLOTHING}"
    if (
        script in ("behaviour_quality.py", "sequence_quality.py", "next_purchase_signals.py")
        and not (SHARED_DATA / "online-retail").is_dir()
    ):
        return f"online-retail is not at {SHARED_DATA / 'online-retail'}"
    if script == "text_matching.py" and not (WALMART_AMAZON / "tableB.csv").is_file():
        return f"the Walmart–Amazon data is not at {WALMART_AMAZON}"
    if script == "similar_latency.py" and not shutil.which("wrk"):
        return "wrk is not on the PATH (Debian: apt-get install -y wrk)"
    return None  # serving.py skips only its API part without wrk, and says so itself


def reembed_rate(stdout: str) -> tuple[float, str] | None:
    """Median end-to-end reembed img/s of REEMBED_BACKBONE from embed_throughput's JSON line."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(JSON_PREFIX):
            rows = json.loads(line[len(JSON_PREFIX) :]).get("rows", [])
            for row in sorted(rows, key=lambda r: r["backbone"] != REEMBED_BACKBONE):
                runs = sorted(row["end_to_end_runs"])
                return runs[len(runs) // 2], row["backbone"]
    return None


def run(script: str, arguments: list[str], env: dict) -> tuple[int, str]:
    """Run one benchmark, its stdout echoed and kept (for the JSON line)."""
    command = [sys.executable, str(BENCH_DIR / script), *arguments]
    log("running " + " ".join(command[1:]))
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=BENCH_DIR.parent, env=env, stdout=subprocess.PIPE, text=True
    )
    lines = []
    for line in process.stdout:
        sys.stdout.write(line)
        lines.append(line)
    code = process.wait()
    log(f"{script} finished with exit code {code} after {time.monotonic() - started:.0f} s")
    return code, "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--full", action="store_true", help="the scale profile (hours)")
    group.add_argument("--smoke", action="store_true", help="tiny inputs (seconds)")
    parser.add_argument(
        "--output", type=Path, help="write the sections here instead of docs/BENCHMARKS.md"
    )
    parser.add_argument("--only", help="comma-separated scripts of the plan to run")
    args = parser.parse_args(argv)
    profile = "full" if args.full else "smoke" if args.smoke else "quick"
    env = dict(os.environ, PRODSIM_BENCH_PROFILE=profile)
    if args.output:
        env["PRODSIM_BENCH_DOCS"] = str(args.output.resolve())
    only = set(args.only.split(",")) if args.only else None
    failures, skipped, rate = [], [], None
    for script, arguments in PLANS[profile]:
        if only and script not in only:
            continue
        if reason := skip_reason(script):
            log(f"skipping {script}: {reason}")
            skipped.append(f"{script} ({reason})")
            continue
        arguments = [a.replace("{pid}", str(os.getpid())) for a in arguments]
        if script == "vector_search.py" and rate:
            arguments += ["--reembed-rate", str(rate[0]), "--reembed-backbone", rate[1]]
        code, stdout = run(script, arguments, env)
        if code:
            failures.append(script)
        elif script == "embed_throughput.py":
            rate = reembed_rate(stdout)
    log(f"profile {profile}: skipped {skipped or 'none'}; failed {failures or 'none'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
