"""Helpers shared by the benchmark scripts: machine description, docs section, JSON line.

No TensorFlow import here (versions come from package metadata), so `--help` stays instant.
Each script rewrites only its own `<!-- bench:NAME:start -->` ... `<!-- bench:NAME:end -->`
section of docs/BENCHMARKS.md, so the scripts can run in any order and at different times.
"""

import datetime
import fcntl
import json
import os
import platform
import re
import sys
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# run_all.py --smoke points this elsewhere (a temp file), so the smoke test never touches docs/.
BENCHMARKS_FILE = Path(os.environ.get("PRODSIM_BENCH_DOCS") or REPO_ROOT / "docs" / "BENCHMARKS.md")
# Set by run_all.py: "quick" (make bench) sections get their own markers, so a quick run never
# overwrites the figures of a full run (bench-full) and both stay readable side by side.
PROFILE = os.environ.get("PRODSIM_BENCH_PROFILE", "")
JSON_PREFIX = "BENCH_JSON "
PACKAGES = {
    "tensorflow": "TensorFlow",  # installed as tensorflow or tensorflow-cpu
    "keras": "Keras",
    "numpy": "NumPy",
    "pillow": "Pillow",
    "ai-edge-litert": "LiteRT",  # the TFLite runtime that serves exported models
    "django": "Django",
    "faiss-cpu": "faiss",  # the in-process ANN peer (bench only)
}
INTRO = """# Benchmarks

Figures written by the scripts in `bench/` (see `bench/README.md`). Each section is rewritten by
its script on every run and names the machine and software it was measured with; edit the text
outside the markers freely, never inside them.
"""


def ensure_repo_on_path() -> None:
    """Let `python bench/<script>.py` import the project's packages from any working dir."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def django_on_bench_database(database: str, work_dir: Path, *, flush: bool = True) -> None:
    """Start the embedded servers, point Django at `database` (created if missing) with media and
    model files under `work_dir`, migrate, and empty it unless `flush` is False. The development
    database is never touched: settings.py reads these variables once, at import."""
    if os.environ.get("DATABASE_URL"):
        sys.exit(
            f"DATABASE_URL is set: this benchmark runs only on the embedded server ({database})"
        )
    os.environ.update(
        {
            "PRODSIM_DATABASE_NAME": database,
            "PRODSIM_OFFLINE": "1",
            "PRODSIM_MEDIA_ROOT": str(work_dir / "media"),
            "PRODSIM_MODELS_ROOT": str(work_dir / "models"),
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prodsim_site.settings")
    ensure_repo_on_path()
    from prodsim_site.embedded.bootstrap import start_embedded_services

    start_embedded_services()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if flush:
        call_command("flush", interactive=False, verbosity=0)  # the bench database only


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return 0.0


def _version(package: str) -> str:
    for distribution in (package, f"{package}-cpu"):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def machine_info() -> dict:
    """CPU model, usable cores, RAM, load average now, Python and library versions, UTC date."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "ram_gb": _ram_gb(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        **{key: _version(key) for key in PACKAGES},
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machine_line(info: dict) -> str:
    # A machine dict recorded before a package joined PACKAGES simply lacks it.
    versions = ", ".join(f"{label} {info[key]}" for key, label in PACKAGES.items() if key in info)
    return (
        f"*Machine:* {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM, no GPU; "
        f"Python {info['python']}, {versions}. *Run:* {info['date']}, "
        f"1-min load average at start {info['load_avg_1m']}."
    )


def load_now_line() -> str:
    """The load averages now (a run's end), read as these 2-core machines need them read."""
    loads = " / ".join(f"{load:.2f}" for load in os.getloadavg())
    return (
        f"Load average (1/5/15 min) at the end of the run: {loads}; on these 2 cores a load "
        "above 2 means the timings include waiting for a core."
    )


def section_name(name: str) -> str:
    """The marker name a section is written under in this profile (see PROFILE)."""
    return f"{name}-{PROFILE}" if PROFILE and PROFILE != "full" else name


def _markers(name: str) -> tuple[str, str]:
    name = section_name(name)
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def write_section(name: str, markdown: str, *, machine: dict | None = None) -> Path:
    """Rewrite (or append) the section NAME of docs/BENCHMARKS.md with `markdown`.

    The machine line goes first in the section (after its heading, if the markdown starts with
    one); pass `machine` to describe the machine as it was when the run started (its load
    average), else it is read now.
    """
    start, end = _markers(name)
    machine_text = machine_line(machine or machine_info())
    if PROFILE and PROFILE != "full":
        machine_text += f" *Profile:* {PROFILE} (`run_all.py`; smaller inputs than the full run)."
    heading, _, rest = markdown.strip().partition("\n")
    if heading.startswith("#"):  # the section's own heading stays on top
        content = f"{heading}\n\n{machine_text}\n\n{rest.strip()}"
    else:
        content = f"{machine_text}\n\n{markdown.strip()}"
    body = f"{start}\n{content}\n{end}"
    BENCHMARKS_FILE.parent.mkdir(parents=True, exist_ok=True)
    with _docs_lock():
        _replace_section(start, end, body)
    return BENCHMARKS_FILE


@contextmanager
def _docs_lock():
    """Serialise writers (benchmarks of several sessions finish at any time): read, replace and
    write the file under an exclusive lock on its folder, so no section update is lost."""
    descriptor = os.open(BENCHMARKS_FILE.parent, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _replace_section(start: str, end: str, body: str) -> None:
    text = BENCHMARKS_FILE.read_text() if BENCHMARKS_FILE.exists() else INTRO
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: body, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    partial = BENCHMARKS_FILE.with_suffix(".md.partial")
    partial.write_text(text)
    partial.replace(BENCHMARKS_FILE)  # atomic: a crash never leaves a half-written file


def print_json(name: str, figures: dict) -> None:
    """One machine-readable line on stdout: `BENCH_JSON {"benchmark": NAME, ...}`."""
    print(JSON_PREFIX + json.dumps({"benchmark": name, **figures}, default=str), flush=True)


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def log(message: str) -> None:
    """Progress on stderr with a timestamp, so stdout holds only figures and the JSON line."""
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


def spread(values) -> dict:
    """Median and range of repeated measurements: {"median", "min", "max", "n", "runs"}."""
    ordered = sorted(float(v) for v in values)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {
        "median": median,
        "min": ordered[0],
        "max": ordered[-1],
        "n": len(ordered),
        "runs": [float(v) for v in values],
    }


def fmt_spread(stats: dict, digits: int = 1) -> str:
    """`median (min–max)`, the form every repeated figure takes in the tables."""
    return f"{stats['median']:.{digits}f} ({stats['min']:.{digits}f}–{stats['max']:.{digits}f})"
