"""Speed target: end-to-end `reembed` throughput vs the bare forward pass of the same artifact.

For each backbone (random-init weights: speed does not depend on them) one run measures:

  bare forward  `TfliteEmbedder.embed` on preloaded uint8 batches of 64 (the ceiling)
  naive peer    `keras_model.predict(batch)` in a loop on the same images
  end-to-end    `similarity.services.reembed.reembed(only_missing=False, batch_size=64)`:
                storage read + decode + preprocess + inference + vector upsert + product refresh
                + job progress rows, on N generated 400×533 JPEG product photos

Target: end-to-end ÷ bare forward ≥ 0.8. Rounds alternate bare / end-to-end / bare, so each
end-to-end run is compared with the bare rate measured around it (other work on the machine
moves both). The end-to-end runs are timed with light wrappers (a clock read per call) around
their stages, so the same runs also say where the time goes.

Runs against its own database (`prodsim_bench`, created on the embedded server) with media and
model artifacts in a temporary folder, so development data is never touched; the database is
flushed at every start, and Celery runs eagerly in this process so nothing reaches the shared
broker.

    .venv/bin/python bench/embed_throughput.py                        # ~12 min on 2 cores
    .venv/bin/python bench/embed_throughput.py --images 500 --backbones mobilenet_v3_small
    .venv/bin/python bench/embed_throughput.py --what-if --rounds 1 \
        --backbones mobilenet_v2,mobilenet_v3_small                   # which change would help
    .venv/bin/python bench/embed_throughput.py --memory-images 20000 \
        --backbones mobilenet_v3_small                                # RSS every 1000 images
"""

import argparse
import fcntl
import io
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path

import numpy as np
from _report import (
    JSON_PREFIX,
    ensure_repo_on_path,
    log,
    machine_info,
    markdown_table,
    print_json,
    write_section,
)

SECTION = "embed-throughput"
MEMORY_SECTION = "embed-memory"
WHAT_IF_SECTION = "embed-throughput-what-if"
BACKBONES = ("mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "small_cnn")
DATABASE_NAME = "prodsim_bench"
INPUT_SIZE = 224
EMBEDDING_DIM = 256
BATCH_SIZE = 64  # reembed's default batch, used by every path here
PHOTO_SIZE = (400, 533)  # width × height of the clothing dataset's product photos
JPEG_QUALITY = 90  # what catalog.images re-encodes to anyway
TARGET_RATIO = 0.8
MEMORY_SAMPLE_EVERY = 1000
# Stages of the end-to-end run, in the order of the report's table.
READ_STAGE = "decode threads: read stored file"
DECODE_STAGE = "decode threads: load_image (decode + preprocess)"
INFERENCE_STAGE = "main: inference (TFLite embed)"
UPSERT_STAGE = "main: image vector upsert"
REFRESH_STAGE = "main: product vector refresh"
STACK_STAGE = "main: rest of _write_batch (np.stack, filtering)"
WRITE_STAGE = "main: _write_batch total"
PROGRESS_STAGE = "main: job progress row update"
LIST_STAGE = "main: list images to embed"
WAIT_STAGE = "main: other (waiting for decoded images, job start/finish)"
STAGES = (
    READ_STAGE,
    DECODE_STAGE,
    INFERENCE_STAGE,
    UPSERT_STAGE,
    REFRESH_STAGE,
    STACK_STAGE,
    WRITE_STAGE,
    PROGRESS_STAGE,
    LIST_STAGE,
    WAIT_STAGE,
)
ERROR_DATABASE_BUSY = (
    "another embed_throughput run is using the '{name}' database (it flushes it at start); wait "
    "for it, or pass --database with another name"
)
_HELD_LOCKS: list = []
ERROR_EXTERNAL_DATABASE = (
    "DATABASE_URL is set: this benchmark only runs on the embedded server, where it creates its "
    "own '{name}' database (it flushes that database, so it must never point at real data)."
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2000, help="catalogue images (default 2000)")
    parser.add_argument("--images-per-product", type=int, default=2)
    parser.add_argument("--backbones", default=",".join(BACKBONES))
    parser.add_argument(
        "--forward-images", type=int, default=640, help="preloaded images for the bare forward"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="end-to-end runs per backbone, each between two bare"
    )
    parser.add_argument(
        "--what-if",
        action="store_true",
        help="also time reembed with one thing changed at a time (bench-only monkeypatches: "
        "decode and TFLite threads, a stored 224-px derivative); its own docs section",
    )
    parser.add_argument(
        "--naive-images", type=int, default=512, help="images for the keras predict loop"
    )
    parser.add_argument(
        "--memory-images",
        type=int,
        default=0,
        help="memory mode instead of throughput: a catalogue of N images, one reembed with the "
        "first backbone, RSS sampled every 1000 images (e.g. 20000)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile one end-to-end run per backbone"
    )
    parser.add_argument("--database", default=DATABASE_NAME)
    parser.add_argument(
        "--report-from",
        type=Path,
        default=None,
        help="only rewrite the docs section(s) from the BENCH_JSON line of an earlier run's log",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--models",
        type=int,
        default=1,
        help="models side by side in the exported graph, as a version of refit_models=N "
        "serves (the default training's is 2)",
    )
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    args.backbones = [name.strip() for name in args.backbones.split(",") if name.strip()]
    unknown = set(args.backbones) - set(BACKBONES)
    if unknown:
        parser.error(f"unknown backbones {sorted(unknown)}; choose from {BACKBONES}")
    return args


# --- Django on a separate database --------------------------------------------------------------
def database_lock(database: str) -> None:
    """Claim `database` for this process, or exit: a second run would flush it mid-measurement."""
    handle = open(Path(tempfile.gettempdir()) / f"prodsim-bench-{database}.lock", "w")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(ERROR_DATABASE_BUSY.format(name=database))
    _HELD_LOCKS.append(handle)  # released when the process exits


def django_setup(database: str, work_dir: Path) -> None:
    """Embedded services up, settings pointed at `database` and temporary media, migrated."""
    if os.environ.get("DATABASE_URL"):
        sys.exit(ERROR_EXTERNAL_DATABASE.format(name=database))
    database_lock(database)
    # Environment first: settings.py reads these once, at import.
    os.environ["PRODSIM_DATABASE_NAME"] = database
    os.environ["PRODSIM_MEDIA_ROOT"] = str(work_dir / "media")
    os.environ["PRODSIM_MODELS_ROOT"] = str(work_dir / "models")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prodsim_site.settings")
    os.environ.setdefault("PRODSIM_LOG_LEVEL", "WARNING")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    ensure_repo_on_path()
    from prodsim_site.embedded.bootstrap import start_embedded_services

    start_embedded_services()  # creates the database if missing (postgres._ensure_database)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from prodsim_site.celery import app as celery_app

    # Whatever catalogue writes enqueue (text refresh, embedding) runs here, on the bench
    # database, instead of reaching the shared broker, where the development workers would
    # apply bench product ids to the development database.
    celery_app.conf.update(task_always_eager=True, broker_url="memory://localhost/")

    assert settings.DATABASES["default"]["NAME"] == database, settings.DATABASES["default"]
    assert Path(settings.MEDIA_ROOT) == work_dir / "media", settings.MEDIA_ROOT
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)  # the bench database only


# --- catalogue ----------------------------------------------------------------------------------
def product_photo(rng: np.random.Generator) -> bytes:
    """A 400×533 JPEG 'product photo': a patterned garment-like polygon on a light background,
    with photo grain (≈40 KB, like the clothing dataset's ≈30 KB photos)."""
    from PIL import Image, ImageDraw

    width, height = PHOTO_SIZE
    image = Image.new("RGB", PHOTO_SIZE, tuple(int(v) for v in rng.integers(228, 256, 3)))
    draw = ImageDraw.Draw(image)
    cx, cy = width / 2 + rng.normal(0, 15), height / 2 + rng.normal(0, 20)
    angles = np.sort(rng.uniform(0, 2 * math.pi, int(rng.integers(5, 10))))
    radii = rng.uniform(90, 170, len(angles))
    outline = [
        (cx + r * math.cos(a), cy + 1.3 * r * math.sin(a))
        for a, r in zip(angles, radii, strict=True)
    ]
    draw.polygon(outline, fill=tuple(int(v) for v in rng.integers(0, 230, 3)))
    accent = tuple(int(v) for v in rng.integers(0, 256, 3))
    for y in range(int(cy - 150), int(cy + 150), int(rng.integers(8, 30))):
        end = (cx + 120, y + int(rng.integers(-10, 10)))
        draw.line([(cx - 120, y), end], fill=accent, width=int(rng.integers(1, 5)))
    grain = rng.integers(-4, 5, size=(height, width, 1), dtype=np.int16)
    pixels = np.clip(np.asarray(image, dtype=np.int16) + grain, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def catalogue_build(*, images: int, per_product: int, seed: int, start: int = 0) -> None:
    """Import `images` generated photos through `product_upsert`, `per_product` per product."""
    from catalog.images import prepare_image
    from catalog.importers import ProductRow
    from catalog.services import product_upsert
    from catalog.services.products import ImageToAttach

    rng = np.random.default_rng(seed + start)
    started = time.monotonic()
    first_product = start // per_product
    for number in range(first_product, first_product + math.ceil(images / per_product)):
        sku = f"BENCH-{number:06d}"
        attached = [
            ImageToAttach(
                prepare_image(product_photo(rng), max_bytes=10**7, max_pixels=10**7),
                f"{sku}-{view}.jpg",
            )
            for view in range(per_product)
        ]
        category = f"Bench > Kind {number % 10}"
        row = ProductRow(
            line=2,
            sku=sku,
            title=f"Bench product {number}",
            price=Decimal("10"),
            currency="EUR",
            category_path=category,
            group_id=f"group-{number // 3}",
        )
        product_upsert(row=row, images=attached)
        done = (number - first_product + 1) * per_product
        if done % 500 == 0:
            log(f"  imported {done}/{images} images ({done / (time.monotonic() - started):.0f}/s)")
    log(f"catalogue: {images} images imported in {time.monotonic() - started:.0f} s")


# --- model versions -----------------------------------------------------------------------------
def version_export(name: str, check_images: np.ndarray, models_root: Path, models: int = 1):
    """Random-init embedding model (`models` side by side) → exported artifact → a ready
    ModelVersion row."""
    from similarity.ml.backbones import build_backbone, build_embedding_model
    from similarity.ml.export import export_model
    from similarity.ml.side_by_side import side_by_side
    from similarity.models import ModelVersion

    started = time.monotonic()
    backbones = [build_backbone(name, input_size=INPUT_SIZE, weights="none") for _ in range(models)]
    backbone = backbones[0]
    model = side_by_side(
        [build_embedding_model(each, embedding_dim=EMBEDDING_DIM) for each in backbones]
    )
    directory = models_root / f"bench-{name}"
    export_model(
        model,
        directory=directory,
        metadata={"benchmark": SECTION, "backbone": name, "weights": "none"},
        check_images=check_images,
    )
    version = ModelVersion.objects.create(
        status=ModelVersion.Status.READY,
        backbone=name,
        weights="none",
        weights_used=backbone.weights_used,
        input_size=INPUT_SIZE,
        embedding_dim=EMBEDDING_DIM,
        params={"refit_models": models},
        artifact_dir=str(directory),
    )
    log(f"{name}: built and exported in {time.monotonic() - started:.0f} s (v{version.pk})")
    return version, model


# --- the three measurements ---------------------------------------------------------------------
def preload(records, count: int) -> tuple[np.ndarray, list[bytes]]:
    """The first `count` catalogue images, read and preprocessed (uint8) like reembed does."""
    from catalog import selectors as catalog_selectors
    from similarity.ml.preprocessing import load_image

    raw = [catalog_selectors.image_read(file_name=r.file_name) for r in records[:count]]
    return np.stack([load_image(data, size=INPUT_SIZE) for data in raw]), raw


def batches(images: np.ndarray):
    for start in range(0, len(images), BATCH_SIZE):
        yield images[start : start + BATCH_SIZE]


def bare_forward(artifact_dir: str, images: np.ndarray) -> dict:
    """TfliteEmbedder.embed on preloaded batches of 64 (after one warm-up batch): images/s and
    this process's CPU milliseconds per image (all threads)."""
    import psutil

    from similarity.ml.embedder import load_embedder

    embedder = load_embedder(Path(artifact_dir))
    embedder.embed(images[:BATCH_SIZE])
    cpu_before = _cpu_seconds(psutil.Process())
    started = time.perf_counter()
    for batch in batches(images):
        embedder.embed(batch)
    wall = time.perf_counter() - started
    cpu = _cpu_seconds(psutil.Process()) - cpu_before
    return {"images_per_s": len(images) / wall, "cpu_ms_per_image": 1000 * cpu / len(images)}


def _cpu_seconds(process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def naive_predict(model, images: np.ndarray) -> float:
    """images/s of a plain `model.predict(batch)` loop (after one warm-up batch)."""
    model.predict(images[:BATCH_SIZE].astype(np.float32), verbose=0)
    started = time.perf_counter()
    for batch in batches(images):
        model.predict(batch.astype(np.float32), verbose=0)
    return len(images) / (time.perf_counter() - started)


class StageClock:
    """Wall seconds per stage of the end-to-end run, from wrappers around module functions.

    Decoding runs in reembed's thread pool, so its total is thread-seconds (it overlaps the main
    thread); every other stage runs on the main thread, one after another.
    """

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, owner: object, attribute: str, stage: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(stage, time.perf_counter() - started)

        setattr(owner, attribute, timed)
        self._undo.append((owner, attribute, original))

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] += seconds
            self.calls[stage] += 1

    def restore(self) -> None:
        for owner, attribute, original in reversed(self._undo):
            setattr(owner, attribute, original)
        self._undo.clear()


def instrument(clock: StageClock, embedder) -> None:
    from catalog import selectors as catalog_selectors
    from similarity import vector_store
    from similarity.services import embedding, reembed

    clock.wrap(catalog_selectors, "image_read", READ_STAGE)
    clock.wrap(embedding, "load_image", DECODE_STAGE)
    clock.wrap(embedding, "_write_batch", WRITE_STAGE)
    clock.wrap(embedder, "embed", INFERENCE_STAGE)
    clock.wrap(vector_store, "image_embeddings_upsert", UPSERT_STAGE)
    clock.wrap(vector_store, "product_embeddings_refresh", REFRESH_STAGE)
    clock.wrap(reembed, "images_to_embed", LIST_STAGE)
    original_images_embed = reembed.images_embed

    def images_embed_with_timed_progress(*, progress, **kwargs):
        def timed_progress(state):
            started = time.perf_counter()
            try:
                progress(state)
            finally:
                clock.add(PROGRESS_STAGE, time.perf_counter() - started)

        return original_images_embed(progress=timed_progress, **kwargs)

    reembed.images_embed = images_embed_with_timed_progress
    clock._undo.append((reembed, "images_embed", original_images_embed))


def end_to_end(version, *, profile: bool = False, sample_every: int = 0) -> dict:
    """One timed `reembed(only_missing=False)` with stage clocks and RSS before/after."""
    import psutil

    from similarity.services import embedding
    from similarity.services.reembed import reembed

    process = psutil.Process()
    # Loaded outside the clock (a worker caches it); looked up through the embedding module, so
    # a what-if variant that replaces it there is the instance the clocks wrap.
    embedder = embedding.get_embedder(version.artifact_dir)
    clock = StageClock()
    instrument(clock, embedder)
    samples: list[tuple[int, float]] = []
    next_sample = [sample_every]

    def progress(state) -> None:
        if sample_every and state.done >= next_sample[0]:
            samples.append((state.done, process.memory_info().rss / 2**20))
            next_sample[0] += sample_every
        if state.done % (BATCH_SIZE * 10) == 0 or state.done == state.total:
            log(f"  reembed {state.done}/{state.total} ({state.images_per_s} img/s)")

    rss_before = process.memory_info().rss / 2**20
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu_before = _cpu_seconds(process)
    started = time.perf_counter()
    try:
        state = reembed(
            version=version, only_missing=False, batch_size=BATCH_SIZE, progress=progress
        )
    finally:
        wall = time.perf_counter() - started
        if profiler:
            profiler.disable()
        clock.restore()
    cpu = _cpu_seconds(process) - cpu_before
    rss_after = process.memory_info().rss / 2**20
    stages = dict(clock.seconds)
    stages[STACK_STAGE] = stages.get(WRITE_STAGE, 0.0) - sum(
        stages.get(stage, 0.0) for stage in (INFERENCE_STAGE, UPSERT_STAGE, REFRESH_STAGE)
    )
    stages[WAIT_STAGE] = wall - sum(
        stages.get(stage, 0.0) for stage in (WRITE_STAGE, PROGRESS_STAGE, LIST_STAGE)
    )
    result = {
        "images": state.done,
        "failed": state.failed,
        "wall_s": round(wall, 2),
        "images_per_s": round(state.done / wall, 1),
        "cpu_ms_per_image": round(1000 * cpu / max(state.done, 1), 2),
        "rss_before_mb": round(rss_before),
        "rss_after_mb": round(rss_after),
        "stages_s": {stage: round(stages[stage], 2) for stage in STAGES if stage in stages},
        "samples": samples,
    }
    if profiler:
        result["profile"] = profile_summary(profiler)
    return result


def profile_summary(profiler, top: int = 25) -> str:
    import pstats

    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(top)
    return buffer.getvalue()


def decode_rates(raw: list[bytes]) -> dict:
    """images/s of `load_image` alone: one thread, and reembed's two decode threads."""
    from similarity.ml.preprocessing import load_image
    from similarity.services.embedding import DECODE_THREADS

    def decode(data):
        return load_image(data, size=INPUT_SIZE)

    started = time.perf_counter()
    for data in raw:
        decode(data)
    single = len(raw) / (time.perf_counter() - started)
    started = time.perf_counter()
    with ThreadPoolExecutor(DECODE_THREADS) as pool:
        list(pool.map(decode, raw))
    threaded = len(raw) / (time.perf_counter() - started)
    return {"one_thread": round(single, 1), f"{DECODE_THREADS}_threads": round(threaded, 1)}


def decode_steps(raw: list[bytes], repeats: int = 2) -> dict:
    """ms per image, one thread, best of `repeats` passes: `load_image` whole, and its decode
    step alone (`preprocessing.decoding.decode`: open, size check, JPEG draft, load, orient).

    Each is timed as whole calls in its own loop (timing the steps inside one loop skews them).
    """
    from similarity.ml import preprocessing as pre
    from similarity.ml.preprocessing.decoding import decode

    def decode_only(data: bytes) -> None:
        with decode(data, size=INPUT_SIZE, mode="pad"):
            pass

    functions = {
        "load_image": lambda data: pre.load_image(data, size=INPUT_SIZE),
        "decode": decode_only,
    }
    best = {name: math.inf for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            started = time.perf_counter()
            for data in raw:
                function(data)
            best[name] = min(best[name], 1000 * (time.perf_counter() - started) / len(raw))
    return {
        "load_image total": round(best["load_image"], 2),
        "of which JPEG decode (open, draft, load, orient)": round(best["decode"], 2),
        "of which RGB, resize, pad": round(best["load_image"] - best["decode"], 2),
    }


def measure_backbone(name: str, preloaded: np.ndarray, models_root: Path, args) -> dict:
    """Naive peer, then rounds of bare / end-to-end / bare: each end-to-end run is compared
    with the mean of the two bare runs around it, which evens out the machine's other load."""
    version, model = version_export(name, preloaded[:4], models_root, args.models)
    naive = naive_predict(model, preloaded[: args.naive_images])
    log(f"{name}: keras predict loop {naive:.1f} img/s")
    bares = [bare_forward(version.artifact_dir, preloaded)]
    log(f"{name}: bare TFLite forward {bares[-1]['images_per_s']:.1f} img/s")
    runs = []
    for number in range(args.rounds):
        runs.append(end_to_end(version))
        bares.append(bare_forward(version.artifact_dir, preloaded))
        log(
            f"{name}: round {number + 1}: end-to-end {runs[-1]['images_per_s']} img/s, then bare "
            f"{bares[-1]['images_per_s']:.1f} img/s; stages {runs[-1]['stages_s']}"
        )
    ratios = [
        run["images_per_s"] / ((bares[i]["images_per_s"] + bares[i + 1]["images_per_s"]) / 2)
        for i, run in enumerate(runs)
    ]
    row = {
        "backbone": name,
        "version": version,
        "bare_forward_images_per_s": round(float(np.mean([b["images_per_s"] for b in bares])), 1),
        "bare_forward_runs": [round(b["images_per_s"], 1) for b in bares],
        "bare_cpu_ms_per_image": round(float(np.mean([b["cpu_ms_per_image"] for b in bares])), 2),
        "keras_predict_images_per_s": round(naive, 1),
        "end_to_end": _mean_run(runs),
        "end_to_end_runs": [run["images_per_s"] for run in runs],
        "ratios": [round(value, 3) for value in ratios],
        "ratio": round(float(np.mean(ratios)), 3),
    }
    if args.profile:
        row["profile"] = end_to_end(version, profile=True)["profile"]
        print(f"\ncProfile of reembed with {name} (cumulative):\n{row['profile']}")
    return row


def _mean_run(runs: list[dict]) -> dict:
    """The end-to-end runs of one backbone: mean rates and stage seconds, first/last RSS."""
    stages = {
        stage: float(np.mean([run["stages_s"].get(stage, 0.0) for run in runs])) for stage in STAGES
    }
    return {
        "images": runs[0]["images"],
        "failed": runs[0]["failed"],
        "wall_s": round(float(np.mean([run["wall_s"] for run in runs])), 2),
        "images_per_s": round(float(np.mean([run["images_per_s"] for run in runs])), 1),
        "cpu_ms_per_image": round(float(np.mean([run["cpu_ms_per_image"] for run in runs])), 2),
        "rss_before_mb": runs[0]["rss_before_mb"],
        "rss_after_mb": runs[-1]["rss_after_mb"],
        "stages_s": {stage: round(value, 2) for stage, value in stages.items()},
    }


# --- what-if variants (bench-only monkeypatches; they change nothing in the project) ----------
@contextmanager
def patched(owner: object, attribute: str, value) -> Iterator[None]:
    original = getattr(owner, attribute)
    setattr(owner, attribute, value)
    try:
        yield
    finally:
        setattr(owner, attribute, original)


def what_if_variants(artifact_dir: str) -> dict:
    """name → a context manager that changes one thing in reembed's pipeline for one run."""
    from similarity.ml.artifacts import TFLITE_FILE
    from similarity.ml.embedder import TfliteEmbedder
    from similarity.services import embedding

    one_thread = TfliteEmbedder(Path(artifact_dir) / TFLITE_FILE, threads=1)

    def tflite_one_thread():
        return patched(embedding, "get_embedder", lambda directory: one_thread)

    def both():
        stack = ExitStack()
        stack.enter_context(patched(embedding, "DECODE_THREADS", 1))
        stack.enter_context(tflite_one_thread())
        return stack

    return {
        "1 decode thread (TFLite 2)": lambda: patched(embedding, "DECODE_THREADS", 1),
        "TFLite 1 thread (2 decode threads)": tflite_one_thread,
        "1 decode thread + TFLite 1 thread": both,
        "stored 224-px derivative (simulated)": small_derivatives,
    }


def small_derivatives():
    """Serve every stored photo as a JPEG already scaled for pad mode (longer side 224), as if
    the import had stored such a derivative: reembed then decodes ~1/4 of the pixels."""
    from catalog import selectors as catalog_selectors

    files = {
        record.file_name: _shrunk_jpeg(catalog_selectors.image_read(file_name=record.file_name))
        for record in catalog_selectors.image_records()
    }
    return patched(catalog_selectors, "image_read", lambda *, file_name: files[file_name])


def _shrunk_jpeg(data: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def measure_what_if(row: dict, preloaded: np.ndarray) -> list[dict]:
    version = row["version"]
    results = [
        {
            "variant": "as is (reembed today)",
            "images_per_s": row["end_to_end"]["images_per_s"],
            "ratio": row["ratio"],
            "cpu_ms_per_image": row["end_to_end"]["cpu_ms_per_image"],
        }
    ]
    before = bare_forward(version.artifact_dir, preloaded)["images_per_s"]
    for variant, change in what_if_variants(version.artifact_dir).items():
        with change():
            run = end_to_end(version)
        after = bare_forward(version.artifact_dir, preloaded)["images_per_s"]
        ratio = run["images_per_s"] / ((before + after) / 2)
        log(f"{row['backbone']}: what-if {variant}: {run['images_per_s']} img/s, ratio {ratio:.2f}")
        results.append(
            {
                "variant": variant,
                "images_per_s": run["images_per_s"],
                "ratio": round(ratio, 3),
                "cpu_ms_per_image": run["cpu_ms_per_image"],
                "stages_s": run["stages_s"],
            }
        )
        before = after
    return results


# --- report -------------------------------------------------------------------------------------
def throughput_table(rows: list[dict]) -> str:
    header = [
        "backbone",
        "bare TFLite forward img/s (runs)",
        "keras predict loop img/s",
        "end-to-end reembed img/s (runs)",
        "end-to-end ÷ bare (per round)",
        f"≥ {TARGET_RATIO}",
        "CPU ms/img bare → end-to-end",
        "CPU ratio",
        "RSS before → after (MB)",
    ]
    lines = []
    for row in rows:
        e2e = row["end_to_end"]
        lines.append(
            [
                row["backbone"],
                f"{row['bare_forward_images_per_s']} ({_joined(row['bare_forward_runs'])})",
                row["keras_predict_images_per_s"],
                f"{e2e['images_per_s']} ({_joined(row['end_to_end_runs'])})",
                f"**{row['ratio']:.2f}** ({', '.join(f'{r:.2f}' for r in row['ratios'])})",
                "yes" if row["ratio"] >= TARGET_RATIO else "no",
                f"{row['bare_cpu_ms_per_image']} → {e2e['cpu_ms_per_image']}",
                f"{row['bare_cpu_ms_per_image'] / e2e['cpu_ms_per_image']:.2f}",
                f"{e2e['rss_before_mb']} → {e2e['rss_after_mb']}",
            ]
        )
    return markdown_table(header, lines)


def _joined(values: list) -> str:
    return ", ".join(str(value) for value in values)


def what_if_table(what_if: dict[str, list[dict]]) -> str:
    variants = list(next(iter(what_if.values())))
    header = ["reembed variant", *[f"{name}: img/s (÷ bare)" for name in what_if]]
    lines = []
    for index, variant in enumerate(variants):
        cells = [
            f"{results[index]['images_per_s']} ({results[index]['ratio']:.2f})"
            for results in what_if.values()
        ]
        lines.append([variant["variant"], *cells])
    return markdown_table(header, lines)


def stages_table(rows: list[dict]) -> str:
    stages = [s for s in STAGES if any(s in row["end_to_end"]["stages_s"] for row in rows)]
    header = ["stage (seconds)", *[row["backbone"] for row in rows]]
    lines = [
        [stage, *[row["end_to_end"]["stages_s"].get(stage, "") for row in rows]] for stage in stages
    ]
    lines.append(
        ["end-to-end wall (mean of rounds)", *[row["end_to_end"]["wall_s"] for row in rows]]
    )
    lines.append(
        [
            "bare forward of the same images (from the bare rate)",
            *[
                round(row["end_to_end"]["images"] / row["bare_forward_images_per_s"], 2)
                for row in rows
            ],
        ]
    )
    return markdown_table(header, lines)


NOISE_NOTE = (
    "Timings are noisy: other developers' test suites, benchmarks and training jobs shared the "
    "2 cores during this run (see the bare-forward runs in brackets)."
)


def section_markdown(figures: dict) -> str:
    catalogue, decode, steps = (
        figures["catalogue"],
        figures["decode_images_per_s"],
        figures["decode_ms_per_image"],
    )
    rows = figures["rows"]
    threads = ", ".join(f"{key.replace('_', ' ')} {value} img/s" for key, value in decode.items())
    step_text = ", ".join(f"{step} {ms}" for step, ms in steps.items())
    return "\n".join(
        [
            "### Embedding throughput: `reembed` vs the bare forward (`bench/embed_throughput.py`)",
            "",
            f"Command: `{figures['command']}`",
            "",
            f"Catalogue: {catalogue['images']} generated {PHOTO_SIZE[0]}×{PHOTO_SIZE[1]} JPEG "
            f"photos (≈{catalogue['mean_kb']} KB each), {catalogue['per_product']} per product, "
            "imported through `product_upsert` into the separate `prodsim_bench` database. "
            "Random-init weights, input 224, 256-d per model "
            f"({figures.get('models', 1)} side by side), exported with `export_model`; "
            "batches of 64. "
            "Bare forward = `TfliteEmbedder.embed` on preloaded uint8 batches; end-to-end = "
            "`reembed(only_missing=False)` (storage read, decode, preprocess, inference, vector "
            "upsert, product refresh, job rows). Rounds alternate bare / end-to-end / bare, and "
            "each round's ratio divides by the mean of the bare runs around it. CPU ms are this "
            "process's per image, all threads (PostgreSQL's own CPU not included); their ratio "
            "(bare ÷ end-to-end) is what the throughput ratio tends to when the process is "
            "CPU-bound, and it moves far less with the machine's other load than wall clocks do.",
            "",
            throughput_table(rows),
            "",
            "Where the end-to-end time goes (seconds per run, mean of the rounds; decode-thread "
            "stages are thread-seconds that overlap the main thread, which runs the rest in "
            "sequence):",
            "",
            stages_table(rows),
            "",
            f"Decoding alone (`load_image`, 224 px, pad, preprocessing "
            f"v{figures.get('preprocessing_version', '?')}): {threads}. "
            f"Per image, one thread, in ms: {step_text}.",
            "",
            NOISE_NOTE,
        ]
    )


def what_if_markdown(figures: dict) -> str:
    return "\n".join(
        [
            "### Embedding throughput: what would help (`bench/embed_throughput.py --what-if`)",
            "",
            f"Command: `{figures['command']}`",
            "",
            "The end-to-end `reembed` with one pipeline setting changed at a time, by bench-only "
            "monkeypatches (nothing in the project changes): reembed's decode pool "
            "(`embedding.DECODE_THREADS`, 2 today) and the TFLite interpreter's threads "
            "(`os.cpu_count()` = 2 today); and `catalog.selectors.image_read` serving a JPEG "
            "already scaled to 224 px on its longer side, as if the import stored that "
            "derivative too (built before the clock starts). Ratios are to the bare forward "
            "measured around each "
            f"run. {figures['catalogue']['images']} generated photos, preprocessing "
            f"v{figures.get('preprocessing_version', '?')}.",
            "",
            what_if_table(figures["what_if"]),
            "",
            NOISE_NOTE,
        ]
    )


def memory_markdown(figures: dict) -> str:
    samples = figures["samples"]
    rss = [mb for _, mb in samples]
    lines = [[done, f"{mb:.0f}"] for done, mb in samples]
    growth = rss[-1] - rss[0] if len(rss) > 1 else 0.0
    return "\n".join(
        [
            "### Memory over a long `reembed` (`bench/embed_throughput.py --memory-images N`)",
            "",
            f"Command: `{figures['command']}`",
            "",
            f"One `reembed` of {figures['images']} generated photos with {figures['backbone']} "
            f"({figures['images_per_s']} img/s); RSS before {figures['rss_before_mb']} MB, after "
            f"{figures['rss_after_mb']} MB; from the first to the last sample {growth:+.0f} MB. "
            "Default runs skip this mode (`--memory-images N` turns it on).",
            "",
            markdown_table(["images done", "RSS (MB)"], lines),
        ]
    )


# --- main ---------------------------------------------------------------------------------------
def mean_file_kb(records, media_root: Path) -> float:
    sizes = [(media_root / record.file_name).stat().st_size for record in records[:200]]
    return round(float(np.mean(sizes)) / 1024, 1)


def run_memory(args, work_dir: Path, command: str, machine: dict) -> dict:
    from catalog import selectors as catalog_selectors

    log(f"memory mode: importing {args.memory_images} images")
    catalogue_build(images=args.memory_images, per_product=args.images_per_product, seed=args.seed)
    records = catalog_selectors.image_records()
    preloaded, _ = preload(records, 8)
    version, _ = version_export(args.backbones[0], preloaded[:4], work_dir / "models", args.models)
    result = end_to_end(version, sample_every=MEMORY_SAMPLE_EVERY)
    for done, mb in result["samples"]:
        print(f"{done:>7} images  RSS {mb:7.0f} MB")
    figures = {"mode": "memory", "backbone": args.backbones[0], **result}
    figures.update(command=command, machine=machine)
    print_json(MEMORY_SECTION, figures)
    if not args.no_doc:
        write_docs(figures)
    return figures


def run_throughput(args, work_dir: Path, command: str, machine: dict) -> dict:
    from django.conf import settings

    from catalog import selectors as catalog_selectors

    log(f"importing {args.images} generated product photos")
    catalogue_build(images=args.images, per_product=args.images_per_product, seed=args.seed)
    records = catalog_selectors.image_records()
    catalogue = {
        "images": len(records),
        "per_product": args.images_per_product,
        "mean_kb": mean_file_kb(records, Path(settings.MEDIA_ROOT)),
    }
    preloaded, raw = preload(records, min(args.forward_images, len(records)))
    decode = decode_rates(raw[:512])
    steps = decode_steps(raw[:128])
    log(f"decode rates {decode}; per-image steps (ms) {steps}")
    rows, what_if = [], {}
    for name in args.backbones:
        row = measure_backbone(name, preloaded, work_dir / "models", args)
        if args.what_if:
            what_if[name] = measure_what_if(row, preloaded)
        del row["version"]
        rows.append(row)
    print("\n" + throughput_table(rows) + "\n\n" + stages_table(rows))
    from similarity.ml.preprocessing import PREPROCESSING_VERSION, RESAMPLE

    figures = {
        "preprocessing_version": PREPROCESSING_VERSION,
        "resample": RESAMPLE.name,
        "catalogue": catalogue,
        "decode_images_per_s": decode,
        "decode_ms_per_image": steps,
        "rows": rows,
        "command": command,
        "models": args.models,
        "machine": machine,
    }
    if what_if:
        figures["what_if"] = what_if
        print("\n" + what_if_table(what_if))
    print_json(SECTION, figures)
    if not args.no_doc:
        write_docs(figures)
    return figures


def write_docs(figures: dict) -> None:
    """The section(s) of one run: a what-if run writes only its own, a memory run its own."""
    if figures.get("mode") == "memory":
        write_section(MEMORY_SECTION, memory_markdown(figures), machine=figures["machine"])
        log(f"wrote section {MEMORY_SECTION!r} of docs/BENCHMARKS.md")
    elif "what_if" in figures:
        write_section(WHAT_IF_SECTION, what_if_markdown(figures), machine=figures["machine"])
        log(f"wrote section {WHAT_IF_SECTION!r} of docs/BENCHMARKS.md")
    else:
        write_section(SECTION, section_markdown(figures), machine=figures["machine"])
        log(f"wrote section {SECTION!r} of docs/BENCHMARKS.md")


def figures_from_log(log_file: Path) -> dict:
    for line in reversed(log_file.read_text().splitlines()):
        if line.startswith(JSON_PREFIX):
            return json.loads(line[len(JSON_PREFIX) :])
    sys.exit(f"no {JSON_PREFIX.strip()} line in {log_file}")


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.report_from:
        figures = figures_from_log(args.report_from)
        write_docs(figures)
        return figures
    machine = machine_info()
    log(f"machine: {machine}")
    command = shlex.join([".venv/bin/python", "bench/embed_throughput.py", *sys.argv[1:]])
    work_dir = Path(tempfile.mkdtemp(prefix="bench-embed-"))
    started = time.monotonic()
    try:
        django_setup(args.database, work_dir)
        if args.memory_images:
            figures = run_memory(args, work_dir, command, machine)
        else:
            figures = run_throughput(args, work_dir, command, machine)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    log(f"done in {time.monotonic() - started:.0f} s")
    return figures


if __name__ == "__main__":
    main()
