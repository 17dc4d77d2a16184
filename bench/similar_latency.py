"""Serving speed of similar products: HNSW recall, API latency, exact-scan crossover, 1M vectors.

One run measures, on a synthetic catalogue written with COPY (no image files: serving never
reads them):

  setup      HNSW build time, index size and memory (random unit vectors: a clustered set, the
             active version, and a uniform one, the worst case for any ANN index)
  recall     HNSW Recall@10 against the exact scan, same 200 queries, ef_search 40 and the default
  API        `GET /api/v1/products/<sku>/similar/?k=10` served by gunicorn (2 workers):
             uncached peak (wrk, a new SKU per request), p50/p99 at about half of it (wrk with
             one connection, and an open-loop Python generator at exactly half),
             cached (one SKU) vs the trivial `GET /api/v1/model-versions/`, a 1 %
             category filter (exact k checked on every response), and where the time goes
             (in-process: SQL time vs Django/DRF/Python, per kind of statement)
  crossover  `nearest_products(allowed=...)`: exact scan vs as called vs a forced HNSW walk, for
             filters keeping 0.1 %-50 % of the products
  large      (--full) 1M vectors of one more version: the HNSW build as the app runs it (cancelled
             after --large-build-limit s, progress kept), rebuilt with more memory; p99, recall

Runs against its own database (`prodsim_bench_latency` on the embedded server, flushed at start,
dropped at the end unless --keep) and its own Valkey database (flushed at start and end), so
development data and caches are never touched.

Needs `wrk` on the PATH (Debian: `apt-get install -y wrk`).

    .venv/bin/python bench/similar_latency.py                # quick: 20k products, ~5 min
    .venv/bin/python bench/similar_latency.py --full         # 100k + 1M vectors, ~45 min
    .venv/bin/python bench/similar_latency.py --products 5000 --duration 5 --no-doc   # smoke
"""

import argparse
import asyncio
import datetime
import http.client
import json
import math
import os
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

import numpy as np
from _report import (
    REPO_ROOT,
    ensure_repo_on_path,
    log,
    machine_info,
    markdown_table,
    print_json,
    write_section,
)

SECTION = "similar-latency"
DATABASE_NAME = "prodsim_bench_latency"
CACHE_DB = 9  # a Valkey database of its own (development uses 0, tests 1)
# DRF's throttle keeps every request time of the window in one cached list; a per-second window
# keeps that list short at benchmark rates (a per-minute one grows to thousands of entries).
API_RATE = "1000000/s"
DIM = 256
K = 10
DEPARTMENTS, KINDS = 10, 10  # 100 leaf categories: `category=<leaf>` keeps 1 % of products
BRANDS = 20
GROUP_SIZE = 2  # variants per group_id (the similar query excludes the source's variants)
CLUSTER_SIZE = 100  # products per cluster in the "clustered" vector set
CLUSTER_NOISE = 0.7  # cos(member, centre) ≈ 1/√(1+σ²) ≈ 0.82
RECALL_QUERIES = 200
LARGE_QUERIES = 500
LARGE_RECALL_QUERIES = 30
CROSSOVER_FRACTIONS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
COPY_CHUNK = 100_000
SKU_STRIDE = 7919  # prime: walking SKUs by this step visits every product once before repeating
PAIRS = 8  # cached / trivial wrk runs of 5 s, back to back
WEB_WORKERS = 2  # gunicorn sync workers, as the Procfile (`make run`) runs them on 2 cores
PROFILES = {
    "quick": {"products": 20_000, "large": 0, "duration": 15, "crossover_queries": 30},
    "full": {"products": 100_000, "large": 1_000_000, "duration": 20, "crossover_queries": 50},
}
# The large build first runs as the app runs it (PRODSIM_INDEX_BUILD_MEMORY); past this many
# seconds it is cancelled (progress and spill point kept) and rebuilt with LARGE_BUILD_MEMORY.
LARGE_BUILD_LIMIT_S = 300  # the 512MB default spills at ~312k vectors, ~3 min in
LARGE_BUILD_MEMORY = "3GB"  # ≈ 1.8 KB per 256-d vector in pgvector's in-memory graph
TARGETS = {
    "p50_ms": 10.0,
    "p99_ms": 30.0,
    "cached_ratio": 0.8,
    "recall": 0.95,
    "filtered_p99_ms": 50.0,
    "large_p99_ms": 50.0,
}
VERSION_USES = {
    "uniform": "ready, served in the stress rows only; iid uniform on the sphere (worst case for "
    "any ANN index: HNSW recall falls far below target, so it is no valid serving configuration)",
    "clustered": f"active; clusters of {CLUSTER_SIZE} products around random centres "
    f"(σ = {CLUSTER_NOISE}): well separated, the easy case; real embeddings lie between",
}
PG_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)
ERROR_NO_WRK = "wrk is not on the PATH (Debian: apt-get install -y wrk)"
ERROR_EXTERNAL_DATABASE = (
    "DATABASE_URL or REDIS_URL is set: this benchmark only runs on the embedded servers, where it "
    "creates (and flushes) its own '{name}' database and Valkey database {cache_db}."
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="100k products, then 1M vectors")
    parser.add_argument("--products", type=int, help="catalogue size (quick 20000, full 100000)")
    parser.add_argument("--large", type=int, help="vectors of the large version (0: skip)")
    parser.add_argument("--duration", type=int, help="seconds per load phase (quick 15, full 20)")
    parser.add_argument("--crossover-queries", type=int, help="queries per filter and arm")
    parser.add_argument(
        "--large-build-limit",
        type=int,
        default=LARGE_BUILD_LIMIT_S,
        help="seconds; a longer large HNSW build with the app's PRODSIM_INDEX_BUILD_MEMORY is "
        "cancelled (its progress reported) and rebuilt with --large-build-memory (0: no limit)",
    )
    parser.add_argument("--large-build-memory", default=LARGE_BUILD_MEMORY)
    parser.add_argument(
        "--workers",
        type=int,
        default=WEB_WORKERS,
        help="gunicorn sync workers (default: as the Procfile runs them)",
    )
    parser.add_argument("--database", default=DATABASE_NAME)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    profile = PROFILES["full" if args.full else "quick"]
    for name, value in profile.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.profile = "full" if args.full else "quick"
    return args


# --- Django on a separate database and cache ----------------------------------------------------
def django_setup(database: str, work_dir: Path) -> None:
    if os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL"):
        sys.exit(ERROR_EXTERNAL_DATABASE.format(name=database, cache_db=CACHE_DB))
    os.environ.update(
        {
            "PRODSIM_DATABASE_NAME": database,
            "PRODSIM_MEDIA_ROOT": str(work_dir / "media"),
            "PRODSIM_MODELS_ROOT": str(work_dir / "models"),
            "PRODSIM_API_RATE": API_RATE,
            "PRODSIM_OFFLINE": "1",
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prodsim_site.settings")
    os.environ.setdefault("PRODSIM_LOG_LEVEL", "WARNING")
    ensure_repo_on_path()
    from prodsim_site.embedded import paths
    from prodsim_site.embedded.bootstrap import start_embedded_services

    start_embedded_services()  # both servers up; creates the database if missing
    # From here on (this process and the gunicorn it starts) the cache is our own database.
    os.environ["REDIS_URL"] = paths.valkey_url(db=CACHE_DB)
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command

    assert settings.DATABASES["default"]["NAME"] == database, settings.DATABASES["default"]
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)  # the bench database only
    # flush empties the tables but keeps per-version HNSW indexes, and restarts version ids:
    # a kept index would make hnsw_index_build a no-op for the new version of the same id.
    for (name,) in sql(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'similarity_productembedding' "
        "AND indexname LIKE 'similarity\\_pe\\_%'"
    ):
        sql(f"DROP INDEX {name}")
    cache.clear()  # FLUSHDB of CACHE_DB only


def raw_connection():
    """The psycopg connection under Django's (autocommit outside atomic blocks)."""
    from django.db import connection

    connection.ensure_connection()
    return connection.connection


def sql(statement: str, params=None) -> list:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def pg_setting(name: str) -> str:
    return sql(f"SHOW {name}")[0][0]


# --- catalogue and vectors, written with COPY ---------------------------------------------------
def sku(product_id: int) -> str:
    return f"BL-{product_id:07d}"


def leaf_paths() -> list[str]:
    return [f"Dept {d} > Kind {d}{k}" for d in range(DEPARTMENTS) for k in range(KINDS)]


def categories_create() -> dict[int, int]:
    """Departments and their leaves; returns leaf index (0..99) → category id."""
    from catalog.models import Category

    leaves = {}
    for d in range(DEPARTMENTS):
        parent = Category.objects.create(name=f"Dept {d}", path=f"Dept {d}", slug=f"dept-{d}")
        for k in range(KINDS):
            leaf = Category.objects.create(
                name=f"Kind {d}{k}",
                parent=parent,
                path=f"Dept {d} > Kind {d}{k}",
                slug=f"dept-{d}-kind-{d}{k}",
            )
            leaves[d * KINDS + k] = leaf.pk
    return leaves


def _copy(statement: str, chunks) -> None:
    with raw_connection().cursor() as cursor, cursor.copy(statement) as copy:
        for chunk in chunks:
            copy.write(chunk)


def products_copy(
    first: int, count: int, leaves: dict[int, int], seed: int, stamp: str, *, images: bool = True
) -> None:
    """Products first..first+count-1 (id = SKU number), with one primary image row each."""

    def product_lines():
        for start in range(first, first + count, COPY_CHUNK):
            ids = range(start, min(start + COPY_CHUNK, first + count))
            rng = np.random.default_rng(seed + start)
            prices = rng.integers(100, 100_000, len(ids)) / 100
            stock = rng.random(len(ids)) < 0.9
            yield "".join(
                f"{i}\t{sku(i)}\tBench product {i}\t\tBrand {i % BRANDS}\t{price:.2f}\tEUR\t{{}}"
                f"\t{{}}\t{'t' if in_stock else 'f'}\tg{i // GROUP_SIZE}\tt\t{stamp}\t{stamp}"
                f"\t{leaves[i % len(leaves)]}\n"
                for i, price, in_stock in zip(ids, prices, stock, strict=True)
            ).encode()

    def image_lines():
        for start in range(first, first + count, COPY_CHUNK):
            ids = range(start, min(start + COPY_CHUNK, first + count))
            yield "".join(
                f"{i}\tproducts/{i % 256:02x}/{i:064x}.jpg\t{i:064x}\t400\t533\t0\tt\t\t{stamp}"
                f"\t{i}\n"
                for i in ids
            ).encode()

    _copy(
        "COPY catalog_product (id, sku, title, description, brand, price, currency, tags, "
        "attributes, in_stock, group_id, is_active, created_at, updated_at, category_id) "
        "FROM STDIN",
        product_lines(),
    )
    if images:
        _copy(
            "COPY catalog_productimage (id, file, sha256, width, height, position, is_primary, "
            "source_name, created_at, product_id) FROM STDIN",
            image_lines(),
        )
    for table in ("catalog_product", "catalog_productimage"):
        sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )


def unit_vectors(kind: str, first: int, count: int, seed: int, total: int) -> np.ndarray:
    """float32 (count, DIM) unit vectors of products first..first+count-1 (deterministic)."""
    rng = np.random.default_rng([seed, first, 1 if kind == "uniform" else 2])
    vectors = rng.standard_normal((count, DIM), dtype=np.float32)
    if kind == "clustered":
        clusters = max(1, total // CLUSTER_SIZE)
        centres = np.random.default_rng([seed, 99]).standard_normal((clusters, DIM))
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        members = rng.integers(0, clusters, count)
        vectors = centres[members].astype(np.float32) + CLUSTER_NOISE * vectors / math.sqrt(DIM)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _pg_micros(moment: datetime.datetime) -> int:
    return (moment - PG_EPOCH) // datetime.timedelta(microseconds=1)


def vector_rows(version_id: int, owner_ids, vectors, moment, *, image_rows: bool) -> bytes:
    """Binary COPY tuples: image rows (version, image, sha, vector, created_at) or product rows
    (version, product, vector, image_count, updated_at); pgvector's binary form is int16 dim,
    int16 unused, dim × float4, all big-endian."""
    fields = [("n", ">i2"), ("l1", ">i4"), ("version", ">i8"), ("l2", ">i4"), ("owner", ">i8")]
    if image_rows:
        fields += [("l3", ">i4"), ("sha", "S64")]
    fields += [("lv", ">i4"), ("dim", ">i2"), ("unused", ">i2"), ("vector", ">f4", (DIM,))]
    if not image_rows:
        fields += [("l4", ">i4"), ("image_count", ">i2")]
    fields += [("l5", ">i4"), ("stamp", ">i8")]
    rows = np.zeros(len(owner_ids), dtype=fields)
    rows["n"] = 5
    rows["l1"] = rows["l2"] = rows["l5"] = 8
    rows["version"], rows["owner"] = version_id, owner_ids
    rows["lv"], rows["dim"], rows["vector"] = 4 + 4 * DIM, DIM, vectors
    if image_rows:
        rows["l3"], rows["sha"] = 64, [f"{i:064x}".encode() for i in owner_ids]
    else:
        rows["l4"], rows["image_count"] = 2, 1
    rows["stamp"] = _pg_micros(moment)
    return rows.tobytes()


def vectors_copy(version, kind: str, first: int, count: int, seed: int, *, images: bool) -> None:
    """Product vectors (and, with images, the same vectors as image vectors) of one version."""
    moment = datetime.datetime.now(datetime.UTC)
    total = first + count - 1

    def chunks(image_rows: bool):
        yield COPY_HEADER
        for start in range(first, first + count, COPY_CHUNK):
            size = min(COPY_CHUNK, first + count - start)
            vectors = unit_vectors(kind, start, size, seed, total)
            ids = np.arange(start, start + size)
            yield vector_rows(version.pk, ids, vectors, moment, image_rows=image_rows)
        yield COPY_TRAILER

    if images:
        _copy(
            "COPY similarity_imageembedding (model_version_id, image_id, image_sha256, "
            "embedding, created_at) FROM STDIN WITH (FORMAT BINARY)",
            chunks(True),
        )
    _copy(
        "COPY similarity_productembedding (model_version_id, product_id, embedding, image_count, "
        "updated_at) FROM STDIN WITH (FORMAT BINARY)",
        chunks(False),
    )


def version_create(name: str, *, active: bool):
    from similarity.models import ModelVersion

    return ModelVersion.objects.create(
        status=ModelVersion.Status.ACTIVE if active else ModelVersion.Status.READY,
        backbone=name,
        weights="none",
        input_size=224,
        embedding_dim=DIM,
        metric=ModelVersion.Metric.COSINE,
        artifact_dir="",
    )


def vacuum_analyze() -> None:
    for table in (
        "catalog_category",
        "catalog_product",
        "catalog_productimage",
        "similarity_imageembedding",
        "similarity_productembedding",
    ):
        sql(f"VACUUM (ANALYZE) {table}")


# --- HNSW build, watched ------------------------------------------------------------------------
class BuildWatch:
    """Peak memory (PSS) of the building backend and its parallel workers, pgvector's notices
    and progress lines, sampled from the side while `hnsw_index_build` runs."""

    def __init__(self):
        self.notices: list[str] = []
        self.peak_pss_mb = 0.0
        self.progress: list[tuple[int, int]] = []  # (seconds, tuples done), every 10 s
        self._stop = threading.Event()
        self._backend = sql("SELECT pg_backend_pid()")[0][0]

    def __enter__(self):
        raw_connection().add_notice_handler(self._notice)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        raw_connection().remove_notice_handler(self._notice)

    def _notice(self, diagnostic) -> None:
        self.notices.append(diagnostic.message_primary or "")

    def _processes(self):
        import psutil

        for process in psutil.process_iter(["pid", "cmdline"]):
            cmdline = " ".join(process.info["cmdline"] or [])
            if process.info["pid"] == self._backend or f"for PID {self._backend}" in cmdline:
                yield process

    def _sample(self) -> None:
        import psutil
        import psycopg
        from django.db import connection

        settings = connection.settings_dict
        with psycopg.connect(
            host=settings["HOST"], user=settings["USER"], dbname=settings["NAME"], autocommit=True
        ) as side:
            started = time.monotonic()
            while not self._stop.wait(1.0):
                total = 0.0
                for process in self._processes():
                    try:
                        total += process.memory_full_info().pss / 2**20
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
                self.peak_pss_mb = max(self.peak_pss_mb, total)
                elapsed = int(time.monotonic() - started)
                if elapsed // 10 > len(self.progress):
                    row = side.execute(
                        "SELECT phase, tuples_done FROM pg_stat_progress_create_index "
                        "WHERE pid = %s",
                        [self._backend],
                    ).fetchone()
                    self.progress.append((elapsed, row[1] if row else -1))
                    if len(self.progress) % 6 == 0:
                        log(f"  build progress {row} after {elapsed} s; memory {total:.0f} MB")


def index_build(version, limit_s: int = 0) -> dict:
    """`hnsw_index_build` timed and watched; with limit_s, cancelled after that many seconds."""
    from django.db.utils import OperationalError

    from similarity import vector_store

    started = time.monotonic()
    cancelled = False
    sql(f"SET statement_timeout = '{int(limit_s)}s'")  # 0 s: no limit
    try:
        with BuildWatch() as watch:
            vector_store.hnsw_index_build(version=version)  # autocommit here: CONCURRENTLY
    except OperationalError as exc:
        if "statement timeout" not in str(exc):
            raise  # Ctrl-C (psycopg cancels the query) or a real error: stop the run
        cancelled = True
        log(f"  build cancelled after {time.monotonic() - started:.0f} s: {exc}")
    finally:
        sql("RESET statement_timeout")
        sql("RESET maintenance_work_mem")  # the build sets it and, cancelled, leaves it set
    build = {
        "seconds": round(time.monotonic() - started, 1),
        "cancelled": cancelled,
        "peak_pss_mb": round(watch.peak_pss_mb),
        "notices": [n for n in watch.notices if "hnsw" in n.lower()],
        "progress": watch.progress[5::6],  # every minute
    }
    if cancelled:
        vector_store.hnsw_index_drop(version=version)  # the invalid leftover
    else:
        name = vector_store.index_name(version)
        build["index_mb"] = round(
            sql("SELECT pg_relation_size(%s::regclass)", [name])[0][0] / 2**20, 1
        )
    log(f"  v{version.pk} ({version.backbone}) index: {build}")
    return build


def extrapolated_build_s(build: dict, total: int) -> int | None:
    """Seconds a cancelled build would have needed at its rate of the last 10 minutes after
    the graph spilled out of memory (a lower bound: inserts get slower as the graph grows)."""
    spill = re.search(r"after (\d+) tuples", " ".join(build["notices"]))
    first = int(spill.group(1)) if spill else 0
    progress = [(s, done) for s, done in build["progress"] if done > first]
    if len(progress) < 2:
        return None
    (s0, d0), (s1, d1) = progress[max(0, len(progress) - 11)], progress[-1]
    if d1 <= d0:
        return None
    return round(s1 + (total - d1) * (s1 - s0) / (d1 - d0))


# --- in-process vector queries ------------------------------------------------------------------
def timed_nearest(version, vector, k: int, exclude: int, **kwargs) -> tuple[list[int], float]:
    from similarity import vector_store

    started = time.perf_counter()
    found = vector_store.nearest_products(
        version=version, vector=vector, k=k, exclude_product_ids=[exclude], **kwargs
    )
    return [n.product_id for n in found], (time.perf_counter() - started) * 1000


def percentiles(values: list[float]) -> dict:
    ordered = np.asarray(values, dtype=float)
    return {
        "n": len(values),
        "p50_ms": round(float(np.percentile(ordered, 50)), 2),
        "p99_ms": round(float(np.percentile(ordered, 99)), 2),
        "mean_ms": round(float(ordered.mean()), 2),
    }


def query_vectors(version, product_ids) -> list[tuple[int, np.ndarray]]:
    from similarity import vector_store

    return [
        (pid, vector_store.product_vector(version=version, product_id=pid)) for pid in product_ids
    ]


def recall_measure(version, queries) -> dict:
    """Recall@10 of the index walk against the exact scan (same SQL, index scans off)."""
    from similarity import vector_store

    exact_ms, rows = [], {}
    truth = {}
    for pid, vector in queries:
        truth[pid], ms = timed_nearest(version, vector, K, pid, exact=True)
        exact_ms.append(ms)
    for ef in sorted({40, vector_store.DEFAULT_EF_SEARCH}):
        hits, times = 0, []
        for pid, vector in queries:
            found, ms = timed_nearest(version, vector, K, pid, ef_search=ef)
            hits += len(set(found) & set(truth[pid]))
            times.append(ms)
        rows[ef] = {"recall_at_10": round(hits / (K * len(queries)), 4), **percentiles(times)}
    result = {"queries": len(queries), "exact": percentiles(exact_ms), "ef_search": rows}
    log(f"  v{version.pk} ({version.backbone}) recall: {result}")
    return result


# --- where an API request's time goes (in-process, no HTTP) -------------------------------------
class SqlClock:
    """execute_wrapper: time inside cursor.execute per kind of statement."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @staticmethod
    def label(statement: str) -> str:
        text = " ".join(statement.split())
        if "set_config" in text:
            return "set_config (ef_search / iterative scan / indexscan)"
        if text.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")):
            return "transaction control"
        if text.startswith("WITH source AS") and "candidate AS" in text:
            return "ranking_candidates (source vectors + vector search + signals + facts)"
        if "ORDER BY (embedding::vector" in text or "AS distance" in text:
            return "nearest_products (vector search)"
        tables = re.findall(r'FROM "?(\w+)', text)
        return f"{text.split()[0]} {tables[0] if tables else ''}".strip()

    def __call__(self, execute, statement, params, many, context):
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            label = self.label(statement)
            self.seconds[label] += time.perf_counter() - started
            self.calls[label] += 1


def breakdown_measure(key: str, paths: list[str], cache_state: str | None) -> dict:
    """Full Django stack in-process (test Client): request time vs time inside SQL execute.

    cache_state: the X-Cache every answer must carry (None: not a similar-items endpoint)."""
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    clock, totals, views = SqlClock(), [], []
    with connection.execute_wrapper(clock):
        for path in paths:
            started = time.perf_counter()
            response = client.get(path)
            totals.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content[:300]
            assert response.get("X-Cache") == cache_state, response.get("X-Cache")
            timing = response.get("Server-Timing", "dur=nan")
            views.append(float(timing.split("dur=")[1]))
    count = len(paths)
    sql_ms = 1000 * sum(clock.seconds.values()) / count
    return {
        "requests": count,
        "total_ms": round(statistics.mean(totals), 2),
        "total_p50_ms": round(statistics.median(totals), 2),
        "view_ms": round(statistics.mean(views), 2),
        "sql_ms": round(sql_ms, 2),
        "python_ms": round(statistics.mean(totals) - sql_ms, 2),
        "queries_per_request": round(sum(clock.calls.values()) / count, 1),
        "sql_by_kind": {
            label: {"ms": round(1000 * seconds / count, 2), "calls": clock.calls[label] / count}
            for label, seconds in sorted(clock.seconds.items(), key=lambda item: -item[1])
        },
    }


def breakdowns(key: str, products: int, rng) -> dict:
    def similar(product: int, suffix: str = "") -> str:
        return f"/api/v1/products/{sku(product)}/similar/?k={K}{suffix}"

    ids = rng.choice(np.arange(2, products + 1), 60, replace=False).tolist()
    leaf = f"&category={quote(leaf_paths()[3])}"
    result = {
        "unfiltered": breakdown_measure(key, [similar(i) for i in ids[:30]], "miss"),
        "1 % category": breakdown_measure(key, [similar(i, leaf) for i in ids[30:]], "miss"),
        "cached (1 SKU)": breakdown_measure(key, [similar(ids[0])] * 30, "hit"),
        "model-versions (trivial)": breakdown_measure(key, ["/api/v1/model-versions/"] * 30, None),
    }
    log(f"  breakdown: {result}")
    return result


# --- HTTP: gunicorn, wrk and an open-loop generator ---------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with the project's WSGI app on a free loopback port, stopped on exit."""

    def __init__(self, work_dir: Path, workers: int = WEB_WORKERS, worker_class: str = "sync"):
        self.port = free_port()
        self.log_path = work_dir / "gunicorn.log"
        self.command = [
            sys.executable,
            "-m",
            "gunicorn",
            "prodsim_site.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ]

    def __enter__(self):
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in __exit__)
        self.process = subprocess.Popen(
            self.command,
            cwd=REPO_ROOT,
            env=dict(os.environ, PRODSIM_NO_EMBEDDED_START="1"),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get(self.port, "/health/")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not come up: {self.log_path.read_text()[-2000:]}")

    def __exit__(self, *exc):
        self.process.terminate()  # the master stops its workers
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)  # our own session: the master and its workers only
            self.process.wait()
        self._log.close()


async def async_get(port: int, path: str, key: str) -> tuple[int, dict, bytes]:
    """GET on a new connection (as gunicorn's sync workers close each one); lower-case headers."""
    loop = asyncio.get_running_loop()
    with socket.socket() as sock:  # raw socket calls: a fraction of asyncio streams' overhead
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(
            sock,
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Api-Key {key}\r\n"
            "Connection: close\r\n\r\n".encode(),
        )
        chunks = []
        while chunk := await loop.sock_recv(sock, 65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in headers.items()}, body


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


WRK_SCRIPT = """
threads = {}
counter = 0
hits = 0
errors = 0
local n, stride, offset = %(n)d, %(stride)d, %(offset)d
local auth = "%(auth)s"
local suffixes = {%(suffixes)s}
local fixed = %(fixed)s

function setup(thread) table.insert(threads, thread) end

function request()
  counter = counter + 1
  if fixed ~= "" then return wrk.format("GET", fixed, {["Authorization"] = auth}) end
  local product = (offset + counter * stride) %% n + 1
  local suffix = suffixes[(counter %% #suffixes) + 1]
  local path = string.format("/api/v1/products/BL-%%07d/similar/?k=%(k)d%%s", product, suffix)
  return wrk.format("GET", path, {["Authorization"] = auth})
end

function response(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
  if headers["X-Cache"] == "hit" then hits = hits + 1 end
end

%(pacing)s
function done(summary, latency, requests)
  local h, e = 0, 0
  for _, t in ipairs(threads) do h = h + t:get("hits"); e = e + t:get("errors") end
  io.write(string.format("BENCH requests=%%d hits=%%d errors=%%d p50_us=%%d p99_us=%%d\\n",
    summary.requests, h, e, latency:percentile(50), latency:percentile(99)))
end
"""


# wrk at a fixed rate: each connection waits an exponential think time before each request
# (wrk calls delay() first); with think times far above the latency the arrivals are nearly
# Poisson, as in an open loop, and the latency is timed in C. Needs keep-alive connections.
WRK_PACING = """
local think_ms = %(think_ms).3f
function delay() return -math.log(1 - math.random()) * think_ms end
"""
PACED_CONNECTIONS = 32


def wrk_figures(script: Path, port: int, *, connections: int, seconds: int) -> tuple[dict, str]:
    """Run wrk on one thread with `script` (a Lua script that prints a BENCH line of counts and
    latencies) against the local server; its figures, and the command with the script elided."""
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = dict(re.findall(r"(\w+)=(\d+)", output.split("BENCH", 1)[1]))
    result = {
        "connections": connections,
        "seconds": seconds,
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(figures["requests"]),
        "cache_hits": int(figures["hits"]),
        "errors": int(figures["errors"]),
        "p50_ms": int(figures["p50_us"]) / 1000,
        "p99_ms": int(figures["p99_us"]) / 1000,
        "socket_errors": (re.search(r"Socket errors: (.*)", output) or [None, ""])[1],
        "load_avg": round(os.getloadavg()[0], 2),
    }
    return result, shlex.join(["wrk", *command[1:7], "<script>", command[-1]])


class Load:
    """Requests against the served app: wrk for closed-loop peaks, Python for fixed rates."""

    def __init__(self, port: int, key: str, products: int, work_dir: Path, seed: int):
        self.port, self.key, self.products = port, key, products
        self.work_dir = work_dir
        self.rng = np.random.default_rng(seed)
        self.commands: list[str] = []
        assert math.gcd(SKU_STRIDE, products) == 1

    def wrk(
        self,
        *,
        connections: int,
        seconds: int,
        suffixes=("",),
        fixed: str = "",
        think_ms: float = 0.0,
    ) -> dict:
        script = self.work_dir / f"wrk-{len(self.commands)}.lua"
        script.write_text(
            WRK_SCRIPT
            % {
                "n": self.products,
                "stride": SKU_STRIDE,
                "offset": int(self.rng.integers(self.products)),
                "auth": f"Api-Key {self.key}",
                "suffixes": ", ".join(json.dumps(s) for s in suffixes),
                "fixed": json.dumps(fixed),
                "k": K,
                "pacing": WRK_PACING % {"think_ms": think_ms} if think_ms > 0 else "",
            }
        )
        result, command = wrk_figures(script, self.port, connections=connections, seconds=seconds)
        self.commands.append(command)
        log(f"  wrk {fixed or 'similar' + (suffixes[0] and ' filtered')}: {result}")
        return result

    def paced(self, *, rate: float, seconds: int, service_ms: float, suffixes=("",)) -> dict:
        """wrk at about `rate` requests/s: PACED_CONNECTIONS keep-alive connections, each
        sending after an exponential think time whose mean makes conns / (think + service) =
        rate. The achieved rate is measured and reported."""
        think_ms = max(1.0, PACED_CONNECTIONS * 1000 / rate - service_ms)
        result = self.wrk(
            connections=PACED_CONNECTIONS, seconds=seconds, suffixes=suffixes, think_ms=think_ms
        )
        return {"rate_per_s": round(rate, 1), "think_ms": round(think_ms, 1), **result}

    def open_loop(self, *, rate: float, seconds: int, suffixes=("",), check_k=False) -> dict:
        """Requests at fixed times (rate/s) whatever the answers do; latency counts from the
        scheduled time, so queueing behind slow answers is measured (no coordinated omission).

        One asyncio thread on raw sockets, the lightest Python client (it replaced a pool of
        32 threads); its own work still shares the cores and is inside its figures, which is why
        the wrk one-connection row, timed in C, stands beside it."""
        count = max(1, int(rate * seconds))
        offset = int(self.rng.integers(self.products))
        results: list[tuple] = [()] * count
        start = time.perf_counter() + 0.5

        async def one(i: int) -> None:
            product = (offset + i * SKU_STRIDE) % self.products + 1
            path = f"/api/v1/products/{sku(product)}/similar/?k={K}{suffixes[i % len(suffixes)]}"
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            sent = time.perf_counter()
            try:
                status, response_headers, body = await async_get(self.port, path, self.key)
            except OSError:  # refused or reset: counted as an error, like a non-2xx answer
                status, response_headers, body = 0, {}, b""
            done = time.perf_counter()
            latency, late = (done - scheduled) * 1000, (sent - scheduled) * 1000
            view = float(response_headers.get("server-timing", "dur=nan").split("dur=")[1])
            k_returned = None
            if check_k and status == 200:
                payload = json.loads(body)
                k_returned = min(payload["k_returned"], len(payload["results"]))
            results[i] = (
                latency,
                status,
                response_headers.get("x-cache"),
                view,
                k_returned,
                (done - sent) * 1000,
                late,
            )

        async def all_requests() -> None:
            await asyncio.gather(*(one(i) for i in range(count)))

        asyncio.run(all_requests())
        elapsed = time.perf_counter() - start
        latencies = [r[0] for r in results]
        result = {
            "rate_per_s": round(rate, 1),
            "achieved_per_s": round(count / elapsed, 1),
            **percentiles(latencies),
            "from_send": percentiles([r[5] for r in results]),
            "send_lateness": percentiles([r[6] for r in results]),
            "server_view": percentiles([r[3] for r in results]),
            "errors": sum(r[1] != 200 for r in results),
            "cache_hits": sum(r[2] == "hit" for r in results),
            "load_avg": round(os.getloadavg()[0], 2),
        }
        if check_k:
            result["k_exact"] = sum(r[4] == K for r in results)
        log(f"  open loop {suffixes[0] or 'unfiltered'}: {result}")
        return result


def api_measure(args, work_dir: Path, key: str, stress_version) -> dict:
    """The API phases on the active (clustered) version; then `stress_version` (uniform) serves
    the uncached peak and half-peak phases once more."""
    from django.core.cache import cache

    from similarity.services.versions import model_version_activate

    filters = tuple(f"&category={quote(path)}" for path in leaf_paths())
    phases: dict = {}
    with Server(work_dir, args.workers) as server:
        load = Load(server.port, key, args.products, work_dir, args.seed)
        load.wrk(connections=4, seconds=5)  # warm-up: workers import, connect, fill caches
        peaks = []
        for connections in (2, 4, 8):
            # The SKU order repeats, so a phase would otherwise hit lists the last one cached.
            cache.clear()
            peaks.append(load.wrk(connections=connections, seconds=args.duration))
        best = max(peaks, key=lambda row: row["requests_per_s"])
        phases["uncached_peak"] = peaks
        cache.clear()
        # One wrk connection keeps one of the two workers busy: about half the peak, timed in C.
        phases["uncached_one_connection"] = load.wrk(connections=1, seconds=2 * args.duration)
        cache.clear()
        phases["uncached_half"] = load.open_loop(
            rate=best["requests_per_s"] / 2, seconds=2 * args.duration
        )
        cache.clear()
        phases["filtered_peak"] = load.wrk(
            connections=best["connections"], seconds=args.duration, suffixes=filters
        )
        cache.clear()
        phases["filtered_half"] = load.open_loop(
            rate=phases["filtered_peak"]["requests_per_s"] / 2,
            seconds=2 * args.duration,
            suffixes=filters,
            check_k=True,
        )
        cached_path = f"/api/v1/products/{sku(1)}/similar/?k={K}"
        get(server.port, cached_path, {"Authorization": f"Api-Key {key}"})  # fills the entry
        # Short back-to-back pairs: the other load on the machine swings within a minute, and
        # a pair sees (nearly) the same load; the ratio is the median of the pairs' ratios.
        cached, trivial = [], []
        for _ in range(PAIRS):
            for runs, path in ((cached, cached_path), (trivial, "/api/v1/model-versions/")):
                runs.append(load.wrk(connections=best["connections"], seconds=5, fixed=path))
        phases["cached"], phases["trivial"] = cached, trivial
        phases["cached_ratio"] = round(
            statistics.median(
                c["requests_per_s"] / t["requests_per_s"]
                for c, t in zip(cached, trivial, strict=True)
            ),
            3,
        )
        phases["health"] = load.wrk(
            connections=best["connections"], seconds=args.duration, fixed="/health/"
        )
        serving = model_version_activate(version=stress_version)  # bumps the serving generation
        stress = []
        for connections in (2, 4):
            cache.clear()
            stress.append(load.wrk(connections=connections, seconds=args.duration))
        phases["stress_peak"] = max(stress, key=lambda row: row["requests_per_s"])
        cache.clear()
        phases["stress_half"] = load.open_loop(
            rate=phases["stress_peak"]["requests_per_s"] / 2, seconds=2 * args.duration
        )
        phases["stress_version"] = serving.pk
        phases["wrk_commands"] = sorted(set(load.commands))
        phases["server_command"] = shlex.join(["python", *server.command[1:]])
    return phases


# --- the exact-scan crossover -------------------------------------------------------------------
def walk_statement(version, vector, allowed, exclude: int, *, limit: int, force_walk: bool):
    """nearest_products' statement, from vector_store's own builder.

    force_walk filters on `(product_id + 0)`, so the btree on (version, product) cannot serve
    it and the planner has only the HNSW walk or a full scan left: what the index path would
    cost if the planner took it (with `allowed`, it picks the btree; see the plans)."""
    from similarity import vector_store

    return vector_store.nearest_products_statement(
        version=version,
        vector=vector,
        k=limit,
        exclude_product_ids=[exclude],
        allowed=allowed,
        force_walk=force_walk,
    )


def forced_walk(version, vector, k: int, exclude: int, allowed) -> tuple[list[int], float]:
    from similarity import vector_store

    statement = walk_statement(version, vector, allowed, exclude, limit=k, force_walk=True)
    started = time.perf_counter()
    found = vector_store.neighbours_fetch(statement, k=k)
    return [n.product_id for n in found], (time.perf_counter() - started) * 1000


def plan_of(version, vector, allowed, *, exact: bool = False, force_walk: bool = False) -> str:
    """The vector table's scan node in the plan of the arm (EXPLAIN, same session settings)."""
    from django.db import connection, transaction

    statement = walk_statement(version, vector, allowed, 0, limit=50, force_walk=force_walk)
    with transaction.atomic(), connection.cursor() as cursor:
        if exact:
            cursor.execute("SELECT set_config('enable_indexscan', 'off', true)")
        else:
            cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
        cursor.execute("EXPLAIN " + statement.sql, statement.params)
        lines = [row[0].strip(" ->") for row in cursor.fetchall()]
    scans = [line for line in lines if "Scan" in line and "similarity_productembedding" in line]
    return re.sub(
        r"\s+\(cost.*| on similarity_productembedding", "", scans[0] if scans else lines[0]
    )


def crossover_arm(version, queries, allowed, k: int) -> dict:
    """Three arms on the same queries, interleaved: the exact scan, nearest_products as the
    similar query calls it (exact=False: the planner's choice) and the forced HNSW walk;
    `walk_as_served` adds the exact rerun `_candidates` makes when a walk returns < k rows."""
    times = defaultdict(list)
    short = 0
    for pid, vector in queries:
        times["as_called"].append(timed_nearest(version, vector, k, pid, allowed=allowed)[1])
        found, walk = forced_walk(version, vector, k, pid, allowed)
        _, scan = timed_nearest(version, vector, k, pid, allowed=allowed, exact=True)
        times["exact"].append(scan)
        times["walk"].append(walk)
        rerun = len(found) < k
        short += rerun
        times["walk_as_served"].append(walk + (scan if rerun else 0.0))
    vector = queries[0][1]
    plans = {
        "exact": plan_of(version, vector, allowed, exact=True),
        "as_called": plan_of(version, vector, allowed),
        "walk": plan_of(version, vector, allowed, force_walk=True),
    }
    return {
        **{arm: percentiles(ms) for arm, ms in times.items()},
        "walk_short": short,
        "plans": plans,
    }


def crossover_measure(version, products: int, queries) -> dict:
    from django.conf import settings

    from catalog import selectors as catalog_selectors
    from catalog.models import Product
    from similarity import vector_store

    k = max(settings.PRODSIM_FUSION_CANDIDATES, K)  # what _candidates asks the index for
    rows = []
    for fraction in CROSSOVER_FRACTIONS:
        cut = max(1, round(fraction * products))
        # An id range: ids were dealt independently of the vectors, so the filter is
        # uncorrelated with the neighbourhoods (the hard case for a filtered index walk).
        allowed = Product.objects.filter(is_active=True, pk__lte=cut)
        row = {"fraction": fraction, "allowed": cut, **crossover_arm(version, queries, allowed, k)}
        rows.append(row)
        log(f"  crossover {fraction:.1%} ({cut}): {row}")
    leaf = catalog_selectors.ProductFilter(category_paths=(leaf_paths()[0],))
    matching = catalog_selectors.products_matching(product_filter=leaf)
    category = {"allowed": matching.count(), **crossover_arm(version, queries, matching, k)}
    # What similar_products_for passes when no filter narrows: all active products but the
    # source (and its variants).
    everything = catalog_selectors.products_matching(
        product_filter=catalog_selectors.ProductFilter()
    )
    unfiltered = {
        "allowed_none": percentiles([timed_nearest(version, v, k, pid)[1] for pid, v in queries]),
        "allowed_all_active": percentiles(
            [timed_nearest(version, v, k, pid, allowed=everything)[1] for pid, v in queries]
        ),
        "plan_allowed_all_active": plan_of(version, queries[0][1], everything),
    }
    log(f"  crossover category 1 %: {category}; unfiltered: {unfiltered}")
    return {
        "k": k,
        "ef_search": vector_store.DEFAULT_EF_SEARCH,
        "rows": rows,
        "category_leaf": category,
        "unfiltered": unfiltered,
        "crossover_products": crossover_point(rows),
    }


def crossover_point(rows: list[dict]) -> dict:
    """Allowed-set size where the exact and index-as-served medians meet: log-linear
    interpolation between the last size where exact wins and the first where it loses."""

    def gap(row):  # > 0: exact is faster
        return math.log(row["walk_as_served"]["p50_ms"] / row["exact"]["p50_ms"])

    for before, after in zip(rows, rows[1:], strict=False):
        if gap(before) >= 0 > gap(after):
            t = gap(before) / (gap(before) - gap(after))
            low, high = math.log(before["allowed"]), math.log(after["allowed"])
            return {"products": round(math.exp(low + t * (high - low))), "text": "crossing at"}
    if all(gap(row) >= 0 for row in rows):
        return {"products": rows[-1]["allowed"], "text": "exact faster up to at least"}
    if all(gap(row) < 0 for row in rows):
        return {"products": rows[0]["allowed"], "text": "index faster down to"}
    return {"products": None, "text": "no single crossing (noisy): see the table"}


# --- the large version --------------------------------------------------------------------------
def large_measure(args, leaves, stamp: str) -> dict:
    from django.test import override_settings

    from similarity.models import ProductEmbedding

    log(f"large: {args.large} vectors (filler products {args.products + 1}..{args.large})")
    started = time.monotonic()
    if args.large > args.products:
        products_copy(
            args.products + 1, args.large - args.products, leaves, args.seed, stamp, images=False
        )
    version = version_create("bench-large-uniform", active=False)
    vectors_copy(version, "uniform", 1, args.large, args.seed + 1, images=False)
    sql("VACUUM (ANALYZE) similarity_productembedding")
    load_s = time.monotonic() - started
    log(f"  loaded in {load_s:.0f} s; building the index")
    build = index_build(version, limit_s=args.large_build_limit)
    result = {
        "vectors": ProductEmbedding.objects.filter(model_version=version).count(),
        "load_s": round(load_s, 1),
        "build": build,
    }
    if build["cancelled"]:
        result["extrapolated_build_s"] = extrapolated_build_s(build, args.large)
        log(f"  rebuilding with maintenance_work_mem {args.large_build_memory}")
        with override_settings(PRODSIM_INDEX_BUILD_MEMORY=args.large_build_memory):
            result["rebuild"] = index_build(version)
        result["rebuild"]["memory"] = args.large_build_memory
    return result | large_queries(version, args.large, args.seed)


def large_queries(version, count: int, seed: int) -> dict:
    """p50/p99 of LARGE_QUERIES random queries (k = 10, default ef_search) and their recall."""
    rng = np.random.default_rng(seed + 3)
    ids = rng.choice(np.arange(1, count + 1), LARGE_QUERIES, replace=False).tolist()
    queries = query_vectors(version, ids)
    for pid, vector in queries[:20]:  # warm the index pages
        timed_nearest(version, vector, K, pid)
    times = [timed_nearest(version, vector, K, pid)[1] for pid, vector in queries]
    table_mb = sql("SELECT pg_total_relation_size('similarity_productembedding')")[0][0] / 2**20
    return {
        "latency": percentiles(times),
        "recall": recall_measure(version, queries[:LARGE_RECALL_QUERIES]),
        "table_mb": round(table_mb),
        "version": version.pk,
    }


# --- report -------------------------------------------------------------------------------------
def row(figure: str, measured, target: str = "report", ok: bool | None = None, ref: str = ""):
    verdict = "–" if ok is None else ("**yes**" if ok else "**no**")
    return [figure, measured, target, verdict, ref]


def mean_rate(runs: list[dict]) -> float:
    return statistics.mean(run["requests_per_s"] for run in runs)


def api_rows(api: dict, in_process: dict) -> list[list]:
    best = max(api["uncached_peak"], key=lambda run: run["requests_per_s"])
    half, filtered = api["uncached_half"], api["filtered_half"]
    one = api["uncached_one_connection"]
    share = one["requests_per_s"] / best["requests_per_s"]
    cached, trivial, ratio = (
        mean_rate(api["cached"]),
        mean_rate(api["trivial"]),
        api["cached_ratio"],
    )
    at = f"at half peak, {half['rate_per_s']} req/s"
    return [
        row(
            "uncached peak (wrk)",
            f"{best['requests_per_s']:.0f} req/s",
            ref=(
                f"best of 2/4/8 connections ({best['connections']}); `/health/` "
                f"{api['health']['requests_per_s']:.0f} req/s"
            ),
        ),
        row(
            f"uncached p50 / p99, wrk with 1 connection: {one['requests_per_s']:.0f} req/s "
            f"({share:.0%} of peak)",
            f"{one['p50_ms']} / {one['p99_ms']} ms",
            f"≤ {TARGETS['p50_ms']:.0f} / {TARGETS['p99_ms']:.0f} ms",
            one["p50_ms"] <= TARGETS["p50_ms"] and one["p99_ms"] <= TARGETS["p99_ms"],
            "closed loop: a request leaves when the last one is answered (no queueing), timed "
            f"in C; X-Cache hits {one['cache_hits']}",
        ),
        row(
            f"uncached p50 {at}, open loop",
            f"{half['p50_ms']} ms",
            f"≤ {TARGETS['p50_ms']:.0f} ms",
            half["p50_ms"] <= TARGETS["p50_ms"],
            f"from the actual send {half['from_send']['p50_ms']} ms (sends late by p50 "
            f"{half['send_lateness']['p50_ms']} ms); view (Server-Timing) p50 "
            f"{half['server_view']['p50_ms']} ms",
        ),
        row(
            f"uncached p99 {at}, open loop",
            f"{half['p99_ms']} ms",
            f"≤ {TARGETS['p99_ms']:.0f} ms",
            half["p99_ms"] <= TARGETS["p99_ms"],
            f"from the actual send {half['from_send']['p99_ms']} ms; view p99 "
            f"{half['server_view']['p99_ms']} ms; X-Cache hits {half['cache_hits']}",
        ),
        row(
            "cached ÷ trivial throughput",
            f"{ratio:.2f}",
            f"≥ {TARGETS['cached_ratio']}",
            ratio >= TARGETS["cached_ratio"],
            f"median of {len(api['cached'])} back-to-back 5 s wrk pairs; means: cached (1 SKU) "
            f"{cached:.0f} req/s, `GET /api/v1/model-versions/` {trivial:.0f} req/s; in-process "
            f"(no load swings): {in_process['cached (1 SKU)']['total_ms']} ms vs "
            f"{in_process['model-versions (trivial)']['total_ms']} ms per request",
        ),
        row(
            "1 % category filter: responses with exactly k = 10",
            f"{filtered['k_exact']}/{filtered['n']}",
            "all",
            filtered["k_exact"] == filtered["n"] and not filtered["errors"],
            f"filtered peak {api['filtered_peak']['requests_per_s']:.0f} req/s",
        ),
        row(
            f"1 % category filter p99 at {filtered['rate_per_s']} req/s (half its peak)",
            f"{filtered['p99_ms']} ms",
            f"≤ {TARGETS['filtered_p99_ms']:.0f} ms",
            filtered["p99_ms"] <= TARGETS["filtered_p99_ms"],
            f"p50 {filtered['p50_ms']} ms; view p99 {filtered['server_view']['p99_ms']} ms",
        ),
        *stress_rows(api),
    ]


def stress_rows(api: dict) -> list[list]:
    """The uniform version served (stress only: its HNSW recall misses the target by far)."""
    if "stress_half" not in api:
        return []
    peak, half = api["stress_peak"], api["stress_half"]
    return [
        row(
            "stress, uniform vectors: uncached peak (wrk)",
            f"{peak['requests_per_s']:.0f} req/s",
            ref=f"{peak['connections']} connections",
        ),
        row(
            f"stress, uniform vectors: uncached p50 / p99 at {half['rate_per_s']} req/s",
            f"{half['p50_ms']} / {half['p99_ms']} ms",
            ref=(
                f"view p50 / p99 {half['server_view']['p50_ms']} / "
                f"{half['server_view']['p99_ms']} ms; not a valid configuration (recall rows)"
            ),
        ),
    ]


def summary_rows(f: dict) -> list[list]:
    from similarity.selectors import similar

    build, cross = f["build"], f["crossover"]["crossover_products"]
    rows = [
        row(
            f"HNSW build, {f['products']:,} clustered vectors",
            f"{build['seconds']} s",
            ref=(f"index {build['index_mb']} MB, peak PSS {build['peak_pss_mb']} MB"),
        )
    ]
    for kind, recall in f["recall"].items():
        for ef, walk in recall["ef_search"].items():
            rows.append(
                row(
                    f"R@10, ef_search {ef}, {kind} vectors",
                    walk["recall_at_10"],
                    f"≥ {TARGETS['recall']}",
                    walk["recall_at_10"] >= TARGETS["recall"],
                    f"p50 {walk['p50_ms']} ms vs exact scan p50 {recall['exact']['p50_ms']} ms",
                )
            )
    rows += api_rows(f["api"], f["breakdown"])
    rows.append(
        row(
            "exact-scan crossover (allowed products)",
            f"{cross['text']} {cross['products']}",
            ref=f"`EXACT_SCAN_MAX` = {similar.EXACT_SCAN_MAX}",
        )
    )
    if large := f.get("large"):
        rows += large_rows(large, f["memory"])
    return rows


def large_rows(large: dict, memory: dict) -> list[list]:
    build, n = large["build"], f"{large['vectors']:,} vectors"

    def notes(build):
        return "; ".join(build["notices"]) or "no spill notice"

    rows = []
    if build["cancelled"]:
        done = [d for _, d in build["progress"] if d > 0]
        extrapolated = large["extrapolated_build_s"]
        rows.append(
            row(
                f"HNSW build, {n}, app setting (maintenance_work_mem {memory['index_build']})",
                f"cancelled after {build['seconds']:.0f} s"
                + (f" at {done[-1]} tuples" if done else " (before its first progress sample)"),
                ref=(
                    f"≥ {extrapolated} s at its rate after the spill; tuples done per minute "
                    f"{done}; {notes(build)}"
                    if extrapolated
                    else f"too short to see the spill (--large-build-limit); {notes(build)}"
                ),
            )
        )
        build = large["rebuild"]
        n += f", maintenance_work_mem {build['memory']} (bench override)"
    walk, latency = large["recall"]["ef_search"], large["latency"]
    ef = max(walk)
    return rows + [
        row(
            f"HNSW build, {n}",
            f"{build['seconds']:.0f} s",
            ref=f"index {build['index_mb']} MB, peak PSS {build['peak_pss_mb']} MB; {notes(build)}",
        ),
        row(
            f"`nearest_products` p99, {large['vectors']:,} uniform vectors (k = 10, in-process)",
            f"{latency['p99_ms']} ms",
            f"≤ {TARGETS['large_p99_ms']:.0f} ms",
            latency["p99_ms"] <= TARGETS["large_p99_ms"],
            f"p50 {latency['p50_ms']} ms, {latency['n']} queries; R@10 at ef {ef} "
            f"{walk[ef]['recall_at_10']} ({large['recall']['queries']} queries; exact scan p50 "
            f"{large['recall']['exact']['p50_ms']} ms)",
        ),
    ]


def load_table(api: dict) -> str:
    runs = [("uncached", run) for run in api["uncached_peak"]]
    runs += [("uncached, 1 connection", api["uncached_one_connection"])]
    runs += [("1 % filter", api["filtered_peak"]), ("/health/", api["health"])]
    for number, (cached, trivial) in enumerate(zip(api["cached"], api["trivial"], strict=True)):
        runs += [(f"pair {number + 1}: cached (1 SKU)", cached)]
        runs += [(f"pair {number + 1}: model-versions (trivial)", trivial)]
    header = ["wrk run", "conns", "req/s", "p50 ms", "p99 ms", "X-Cache hits", "non-200", "load"]
    return markdown_table(
        header,
        [
            [
                name,
                r["connections"],
                f"{r['requests_per_s']:.0f}",
                r["p50_ms"],
                r["p99_ms"],
                r["cache_hits"],
                r["errors"],
                r["load_avg"],
            ]
            for name, r in runs
        ],
    )


def breakdown_tables(breakdown: dict) -> str:
    header = ["in-process request", "total ms", "view ms", "SQL ms", "Python ms", "queries"]
    lines = [
        [
            name,
            b["total_ms"],
            "–" if math.isnan(b["view_ms"]) else b["view_ms"],
            b["sql_ms"],
            b["python_ms"],
            b["queries_per_request"],
        ]
        for name, b in breakdown.items()
    ]
    kinds = breakdown["unfiltered"]["sql_by_kind"]
    top = [[label, v["ms"], v["calls"]] for label, v in list(kinds.items())[:8]]
    cached = breakdown["cached (1 SKU)"]["sql_by_kind"]
    top.append(
        [
            "cached path: "
            + (", ".join(f"{label} ×{v['calls']:g}" for label, v in cached.items()) or "no SQL"),
            "",
            "",
        ]
    )
    return "\n\n".join(
        [
            markdown_table(header, lines),
            markdown_table(["unfiltered: statement", "ms / request", "calls / request"], top),
        ]
    )


def crossover_table(cross: dict) -> str:
    def cells(name, r):
        return [
            name,
            r["allowed"],
            r["exact"]["p50_ms"],
            r["exact"]["p99_ms"],
            r["as_called"]["p50_ms"],
            r["walk"]["p50_ms"],
            r["walk_as_served"]["p50_ms"],
            r["walk_as_served"]["p99_ms"],
            r["walk_short"],
        ]

    lines = [cells(f"id range {r['fraction']:.1%}", r) for r in cross["rows"]]
    lines.append(cells("1 leaf category", cross["category_leaf"]))
    header = [
        "filter",
        "allowed",
        "exact p50",
        "exact p99",
        "as called (exact=False) p50",
        "HNSW walk p50",
        "walk as served p50",
        "walk as served p99",
        "walks short of k",
    ]
    plans = cross["rows"][-1]["plans"]
    return markdown_table(header, lines) + (
        f"\n\nPlans (vector table): exact `{plans['exact']}`; as called `{plans['as_called']}`; "
        f"forced walk `{plans['walk']}`; unfiltered with `allowed=` all active products "
        f"`{cross['unfiltered']['plan_allowed_all_active']}`."
    )


def section_markdown(f: dict) -> str:
    memory, api, cross = f["memory"], f["api"], f["crossover"]
    unfiltered = cross["unfiltered"]
    versions = "; ".join(f"{kind} ({use})" for kind, use in VERSION_USES.items())
    return f"""Command: `{f["command"]}`

Catalogue: {f["products"]:,} products written with COPY ({DEPARTMENTS * KINDS} leaf categories of
1 % each, {BRANDS} brands, variant groups of {GROUP_SIZE}), one image row each, {DIM}-d unit
vectors, no lexical index (image signal only). Versions: {versions}. Served by
`{api["server_command"]}` with `PRODSIM_API_RATE={API_RATE}`; closed-loop load from wrk
(`{api["wrk_commands"][0]}`), fixed-rate load from an open-loop Python generator
(one asyncio thread on raw sockets, a new connection per request as gunicorn's sync workers close
each one; latency counted from the scheduled send, and also from the actual send). wrk times in C;
the generator's own Python work runs on the same two cores and is inside its figures.
Server, database and load generators share the machine's cores, with other sessions' work
(load column). PostgreSQL
{memory["server_version"]}: shared_buffers {memory["shared_buffers"]}, maintenance_work_mem
{memory["maintenance_work_mem"]} (server) / {memory["index_build"]}
(`PRODSIM_INDEX_BUILD_MEMORY`, set for HNSW builds),
max_parallel_maintenance_workers {memory["max_parallel_maintenance_workers"]}.

{markdown_table(["figure", "measured", "target", "met", "reference (same run)"], summary_rows(f))}

{load_table(api)}

Where an uncached request's time goes (in-process Django test client on the same data; SQL = time
inside `cursor.execute`, Python = the rest: Django, DRF, fusion, vector parsing):

{breakdown_tables(f["breakdown"])}

Exact scan vs HNSW walk with a filter (k = {cross["k"]} as `_candidates` asks,
{cross["rows"][0]["exact"]["n"]} queries per row; the id-range filter is uncorrelated with the
vectors). *exact* = `nearest_products(exact=True)`; *as called* = `exact=False`, what the similar
query runs above `EXACT_SCAN_MAX` (the planner's choice); *HNSW walk* = the same SQL with
`(product_id + 0)` so that only the HNSW index can drive it (pgvector iterative scan, ef_search
{cross["ef_search"]}); *as served* adds the exact rerun `_candidates` makes when a walk returns
fewer than k rows:

{crossover_table(cross)}

Unfiltered walk, k = {cross["k"]}: `allowed=None` p50 {unfiltered["allowed_none"]["p50_ms"]} ms /
p99 {unfiltered["allowed_none"]["p99_ms"]} ms (what `similar_products_for` sends, with the
excluded ids, when no filter narrows); `allowed=` all active products (what it sent before) p50
{unfiltered["allowed_all_active"]["p50_ms"]} ms / p99 {unfiltered["allowed_all_active"]["p99_ms"]}
ms. 1-min load average at the end: {f["load_avg_end"]}."""


# --- main ---------------------------------------------------------------------------------------
def catalogue_build(args) -> tuple[dict, dict]:
    leaves = categories_create()
    stamp = datetime.datetime.now(datetime.UTC).isoformat()
    started = time.monotonic()
    products_copy(1, args.products, leaves, args.seed, stamp)
    versions = {
        "uniform": version_create("bench-uniform", active=False),
        "clustered": version_create("bench-clustered", active=True),
    }
    for kind, version in versions.items():
        vectors_copy(version, kind, 1, args.products, args.seed, images=(kind == "uniform"))
    vacuum_analyze()
    log(
        f"catalogue of {args.products} products and vectors written in "
        f"{time.monotonic() - started:.0f} s"
    )
    return {"leaves": leaves, "stamp": stamp}, versions


def drop_database(database: str) -> None:
    import psycopg
    from django.core.cache import cache
    from django.db import connections

    cache.clear()
    settings = connections["default"].settings_dict
    connections.close_all()
    with psycopg.connect(
        host=settings["HOST"], user=settings["USER"], dbname="postgres", autocommit=True
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    log(f"dropped database {database} and flushed Valkey database {CACHE_DB}")


def run(args, work_dir: Path, machine: dict, command: str) -> dict:
    from django.conf import settings

    from partners.models import PartnerApiKey
    from similarity.selectors import similar

    catalogue, versions = catalogue_build(args)
    figures = {
        "profile": args.profile,
        "products": args.products,
        "command": command,
        "exact_scan_max": similar.EXACT_SCAN_MAX,
    }
    figures["memory"] = {
        name: pg_setting(name)
        for name in (
            "server_version",
            "shared_buffers",
            "maintenance_work_mem",
            "max_parallel_maintenance_workers",
        )
    } | {"index_build": settings.PRODSIM_INDEX_BUILD_MEMORY}
    figures["build"] = index_build(versions["clustered"])
    figures["build_uniform"] = index_build(versions["uniform"])
    sql("VACUUM (ANALYZE) similarity_productembedding")
    rng = np.random.default_rng(args.seed + 2)
    ids = rng.choice(np.arange(1, args.products + 1), RECALL_QUERIES, replace=False).tolist()
    figures["recall"] = {
        kind: recall_measure(version, query_vectors(version, ids))
        for kind, version in versions.items()
    }
    _, key = PartnerApiKey.objects.create_key(name="bench-similar-latency", scope="read")
    figures["breakdown"] = breakdowns(key, args.products, rng)
    figures["api"] = api_measure(args, work_dir, key, versions["uniform"])
    queries = query_vectors(versions["uniform"], ids[: args.crossover_queries])
    figures["crossover"] = crossover_measure(versions["uniform"], args.products, queries)
    figures["load_avg_end"] = round(os.getloadavg()[0], 2)
    figures["machine"] = machine
    if args.large:
        # The large build can take long on a small machine: document what is measured so far.
        publish(figures, args, machine, final=False)
        figures["large"] = large_measure(args, catalogue["leaves"], catalogue["stamp"])
        figures["load_avg_end"] = round(os.getloadavg()[0], 2)
    return figures


def publish(figures: dict, args, machine: dict, *, final: bool = True) -> None:
    """The section in docs/BENCHMARKS.md (unless --no-doc); the markdown and JSON on stdout."""
    markdown = section_markdown(figures)
    if final:
        print(markdown)
        print_json(SECTION, figures)
    if not args.no_doc:
        path = write_section(SECTION, markdown, machine=machine)
        log(f"wrote section {SECTION!r} of {path.relative_to(REPO_ROOT)} ({final=})")


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit(ERROR_NO_WRK)
    machine = machine_info()
    log(f"machine: {machine}")
    command = shlex.join([".venv/bin/python", "bench/similar_latency.py", *sys.argv[1:]])
    work_dir = Path(tempfile.mkdtemp(prefix="bench-similar-latency-"))
    started = time.monotonic()
    try:
        django_setup(args.database, work_dir)
        figures = run(args, work_dir, machine, command)
    finally:
        if "django" in sys.modules and not args.keep:
            drop_database(args.database)
        shutil.rmtree(work_dir, ignore_errors=True)
    publish(figures, args, machine)
    log(f"done in {time.monotonic() - started:.0f} s")
    return figures


if __name__ == "__main__":
    main()
