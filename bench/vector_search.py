"""Vector search against its limits and peers, and how it scales with the catalogue.

On seeded random-but-clustered 256-d unit vectors (clusters of 100 around random centres, the
shape of similar_latency.py's clustered set), at each catalogue size:

  pgvector HNSW   prodsim's configuration, read from vector_store (m, ef_construction,
                  ef_search, iterative scan, cosine opclass) and PRODSIM_INDEX_BUILD_MEMORY
  PG exact        the same SQL with index scans off (what the app runs for small subsets)
  NumPy exact     one float32 matrix-vector product per query on one BLAS thread: the
                  memory-bandwidth limit of an exact search on one core
  faiss HNSW      faiss-cpu IndexHNSWFlat with the same m / ef_construction / ef_search,
                  in-process (the peer: no SQL, no client round trip)

Recall@10 against the NumPy exact top 10, p50/p99 query latency (k = 10, one query at a time,
median and range over --repeats passes), build time (median and range over --repeats builds),
index and table size. The sizes double as the scaling series (PNG plot in docs/).

Runs in its own throwaway database (`prodsim_bench_vectors` on the embedded server, plain
tables, no prodsim schema), dropped at the end.

    .venv/bin/python bench/vector_search.py                # 10k, 100k (~6 min on 2 cores)
    .venv/bin/python bench/vector_search.py --full         # 10k, 100k, 1M (~1.5 h)
    .venv/bin/python bench/vector_search.py --quick        # 10k, 20k, 100k, fewer queries
    .venv/bin/python bench/vector_search.py --smoke --no-plot   # seconds: harness check
"""

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

# One BLAS thread for the NumPy scan, set before NumPy loads: a threaded matrix-vector product
# on 2 cores already busy with other sessions' work stalls (12 ms instead of 0.4 ms at 20k,
# measured), and one thread per query is what every other arm gets.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from _report import (  # noqa: E402
    BENCHMARKS_FILE,
    ensure_repo_on_path,
    fmt_spread,
    log,
    machine_info,
    markdown_table,
    print_json,
    section_name,
    spread,
    write_section,
)
from similar_latency import (  # noqa: E402
    CLUSTER_NOISE,
    CLUSTER_SIZE,
    COPY_HEADER,
    COPY_TRAILER,
)

SECTION = "vector-search"
DATABASE_NAME = "prodsim_bench_vectors"
DIM = 256
K = 10
COPY_CHUNK = 50_000
PROFILES = {
    # sizes: the scaling series; peers: the size the peer table is read at.
    "smoke": {"sizes": (1_000, 2_000), "peers": 2_000, "queries": 20, "repeats": 3},
    "quick": {"sizes": (10_000, 20_000, 100_000), "peers": 20_000, "queries": 100, "repeats": 3},
    "default": {"sizes": (10_000, 100_000), "peers": 100_000, "queries": 200, "repeats": 3},
    "full": {
        "sizes": (10_000, 100_000, 1_000_000),
        "peers": 1_000_000,
        "queries": 200,
        "repeats": 3,
    },
}
# A 1M HNSW graph needs ~3 GB of maintenance_work_mem to build without spilling (see
# similar_latency.py); below that the app's 512MB build takes over an hour.
LARGE_BUILD_MEMORY = {1_000_000: "3GB"}
PLOT_FILE = BENCHMARKS_FILE.parent / "bench_scaling.png"  # beside the docs it belongs to


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    for name in ("smoke", "quick", "full"):
        group.add_argument(f"--{name}", action="store_true", help=f"the {name} profile")
    parser.add_argument("--sizes", help="comma-separated catalogue sizes (overrides the profile)")
    parser.add_argument("--queries", type=int, help="queries per pass")
    parser.add_argument("--repeats", type=int, help="builds and query passes (≥ 3 for a spread)")
    parser.add_argument("--database", default=DATABASE_NAME)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--reembed-rate",
        type=float,
        default=None,
        help="end-to-end reembed img/s measured by embed_throughput.py in the same run "
        "(run_all.py passes it): the scaling table projects reembed time from it",
    )
    parser.add_argument("--reembed-backbone", default="", help="the backbone of --reembed-rate")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/BENCHMARKS.md")
    parser.add_argument("--no-plot", action="store_true", help="do not write the PNG plot")
    args = parser.parse_args(argv)
    args.profile = next((p for p in ("smoke", "quick", "full") if getattr(args, p)), "default")
    profile = PROFILES[args.profile]
    args.sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else profile["sizes"]
    args.peers = profile["peers"] if profile["peers"] in args.sizes else max(args.sizes)
    args.queries = args.queries or profile["queries"]
    args.repeats = args.repeats or profile["repeats"]
    return args


# --- data ---------------------------------------------------------------------------------------
def clustered_vectors(count: int, total: int, seed: int, stream: int) -> np.ndarray:
    """float32 (count, DIM) unit vectors around the total // CLUSTER_SIZE centres of a catalogue
    of `total` (the same centres for every stream: stream 0 = the catalogue, 1 = queries)."""
    clusters = max(1, total // CLUSTER_SIZE)
    centres = np.random.default_rng([seed, total, 99]).standard_normal((clusters, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    rng = np.random.default_rng([seed, total, stream])
    vectors = np.empty((count, DIM), dtype=np.float32)
    for start in range(0, count, COPY_CHUNK):  # chunked: 1M × 256 float64 noise would be 2 GB
        size = min(COPY_CHUNK, count - start)
        members = rng.integers(0, clusters, size)
        noise = rng.standard_normal((size, DIM), dtype=np.float32)
        chunk = centres[members].astype(np.float32) + CLUSTER_NOISE * noise / np.sqrt(DIM)
        vectors[start : start + size] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return vectors


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Row indices of each query's k largest inner products (= cosine on unit vectors)."""
    result = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 64):
        scores = queries[start : start + 64] @ vectors.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
        result[start : start + 64] = np.take_along_axis(top, order, axis=1)
    return result


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    hits = sum(len(set(f) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return round(hits / truth.size, 4)


# --- PostgreSQL: a throwaway database with plain tables -----------------------------------------
class Postgres:
    """A connection to the bench database on the embedded server (created here, dropped at
    close); pgvector settings come from prodsim's vector_store and settings."""

    def __init__(self, database: str):
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prodsim_site.settings")
        os.environ.setdefault("PRODSIM_LOG_LEVEL", "WARNING")
        ensure_repo_on_path()
        from prodsim_site.embedded import paths
        from prodsim_site.embedded.bootstrap import start_embedded_services

        if os.environ.get("DATABASE_URL"):
            sys.exit("DATABASE_URL is set: this benchmark runs only on the embedded server")
        start_embedded_services()
        import django

        django.setup()
        import psycopg

        settings = paths.postgres_settings()
        self.params = {"host": settings["HOST"], "port": settings["PORT"], "user": settings["USER"]}
        self.database = database
        with psycopg.connect(**self.params, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{database}"')
        # No server-side prepared statements (as Django's client-side binding): a cached
        # generic plan ignores the per-transaction settings, so the "exact" arm would silently
        # reuse the HNSW plan made by the arm before it.
        self.connection = psycopg.connect(
            **self.params, dbname=database, autocommit=True, prepare_threshold=None
        )
        self.connection.execute("CREATE EXTENSION IF NOT EXISTS vector")

    def execute(self, statement: str, params=None) -> list:
        cursor = self.connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else []

    def close(self) -> None:
        import psycopg

        self.connection.close()
        with psycopg.connect(**self.params, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        log(f"dropped database {self.database}")


def copy_vectors(pg: Postgres, table: str, vectors: np.ndarray) -> None:
    """Binary COPY of (id, vector) rows, ids 0..n-1 (pgvector binary: int16 dim, int16 unused,
    dim × float4, big-endian)."""
    pg.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, embedding vector({DIM}))")
    fields = [("n", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("lv", ">i4"), ("dim", ">i2")]
    fields += [("unused", ">i2"), ("vector", ">f4", (DIM,))]
    statement = f"COPY {table} (id, embedding) FROM STDIN WITH (FORMAT BINARY)"
    with pg.connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(COPY_HEADER)
        for start in range(0, len(vectors), COPY_CHUNK):
            chunk = vectors[start : start + COPY_CHUNK]
            rows = np.zeros(len(chunk), dtype=fields)
            rows["n"], rows["l1"], rows["lv"], rows["dim"] = 2, 8, 4 + 4 * DIM, DIM
            rows["id"] = np.arange(start, start + len(chunk))
            rows["vector"] = chunk
            copy.write(rows.tobytes())
        copy.write(COPY_TRAILER)
    pg.execute(f"VACUUM (ANALYZE) {table}")


def pg_config() -> dict:
    from django.conf import settings

    from similarity import vector_store

    return {
        "m": vector_store.HNSW_M,
        "ef_construction": vector_store.HNSW_EF_CONSTRUCTION,
        "ef_search": max(vector_store.DEFAULT_EF_SEARCH, K),
        "opclass": vector_store.OPCLASSES["cosine"],
        "operator": vector_store.OPERATORS["cosine"],
        "build_memory": settings.PRODSIM_INDEX_BUILD_MEMORY,
    }


def pg_build(pg: Postgres, table: str, config: dict, memory: str) -> dict:
    """CREATE INDEX ... USING hnsw as vector_store.hnsw_index_build writes it; seconds, MB."""
    pg.execute(f"DROP INDEX IF EXISTS {table}_hnsw")
    pg.execute("SELECT set_config('maintenance_work_mem', %s, false)", [memory])
    started = time.perf_counter()
    pg.execute(
        f"CREATE INDEX {table}_hnsw ON {table} USING hnsw (embedding {config['opclass']}) "
        f"WITH (m = {config['m']}, ef_construction = {config['ef_construction']})"
    )
    seconds = time.perf_counter() - started
    pg.execute("RESET maintenance_work_mem")
    size = pg.execute(f"SELECT pg_relation_size('{table}_hnsw')")[0][0]
    return {"seconds": seconds, "index_mb": size / 2**20}


def session_settings(pg: Postgres, config: dict) -> None:
    """What vector_store sets on every connection: one statement per search, no transaction."""
    pg.execute(f"SET hnsw.ef_search = {int(config['ef_search'])}")
    pg.execute("SET hnsw.iterative_scan = relaxed_order")


def _nearest(table: str, config: dict, *, exact: bool) -> str:
    distance = f"embedding {config['operator']} %s::vector({DIM})"
    if exact:
        # vector_store's exact form: OFFSET 0 fences the subquery from the HNSW index, so every
        # row's distance is computed (no planner setting involved).
        return (
            f"SELECT id FROM (SELECT id, {distance} AS distance FROM {table} OFFSET 0) AS scored "
            f"ORDER BY distance LIMIT {K}"
        )
    return f"SELECT id FROM {table} ORDER BY {distance} LIMIT {K}"


def _literal(vector: np.ndarray) -> str:
    return "[" + ",".join(repr(float(v)) for v in vector) + "]"


def pg_plan(pg: Postgres, table: str, config: dict, query: np.ndarray, *, exact: bool) -> str:
    """The plan's scan nodes (EXPLAIN, same session settings): proves which arm is which."""
    explain = "EXPLAIN " + _nearest(table, config, exact=exact)
    lines = [row[0].strip(" ->") for row in pg.execute(explain, [_literal(query)])]
    nodes = [line.split("  (")[0] for line in lines if "Scan" in line or "Gather" in line]
    return " / ".join(nodes)


def pg_queries(pg: Postgres, table: str, config: dict, queries, *, exact: bool):
    """Top k per query as the app asks for it (one statement per query under the session's
    settings, like vector_store._run_nearest); (ids per query, ms per query)."""
    statement = _nearest(table, config, exact=exact)
    found, times = [], []
    for query in queries:
        literal = _literal(query)
        started = time.perf_counter()
        found.append([row[0] for row in pg.execute(statement, [literal])])
        times.append((time.perf_counter() - started) * 1000)
    return found, times


# --- in-process arms ----------------------------------------------------------------------------
def numpy_queries(vectors: np.ndarray, queries) -> tuple[list[list[int]], list[float]]:
    found, times = [], []
    for query in queries:
        started = time.perf_counter()
        scores = vectors @ query
        top = np.argpartition(-scores, K)[:K]
        found.append(top[np.argsort(-scores[top])].tolist())
        times.append((time.perf_counter() - started) * 1000)
    return found, times


def faiss_build(vectors: np.ndarray, config: dict) -> tuple[object, dict]:
    import faiss

    started = time.perf_counter()
    index = faiss.IndexHNSWFlat(DIM, config["m"], faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = config["ef_construction"]
    index.add(vectors)
    seconds = time.perf_counter() - started
    index.hnsw.efSearch = config["ef_search"]
    size = len(faiss.serialize_index(index))
    return index, {"seconds": seconds, "index_mb": size / 2**20}


def faiss_queries(index, queries) -> tuple[list[list[int]], list[float]]:
    found, times = [], []
    for query in queries:
        started = time.perf_counter()
        _, ids = index.search(query[None, :], K)
        found.append(ids[0].tolist())
        times.append((time.perf_counter() - started) * 1000)
    return found, times


# --- one catalogue size -------------------------------------------------------------------------
def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


def passes(run, repeats: int, truth: np.ndarray) -> dict:
    """`run()` → (found, ms) repeated; p50/p99 per pass, then median and range over passes."""
    p50, p99, recalls = [], [], []
    for _ in range(repeats):
        found, times = run()
        p50.append(percentile(times, 50))
        p99.append(percentile(times, 99))
        recalls.append(recall(found, truth))
    return {"p50_ms": spread(p50), "p99_ms": spread(p99), "recall": spread(recalls)}


def measure_size(pg: Postgres, size: int, args, config: dict) -> dict:
    log(f"size {size:,}: generating vectors")
    vectors = clustered_vectors(size, size, args.seed, 0)
    queries = clustered_vectors(args.queries, size, args.seed, 1)
    started = time.perf_counter()
    truth = exact_top_k(vectors, queries)
    truth_s = time.perf_counter() - started
    table = f"bench_vectors_{size}"
    started = time.perf_counter()
    copy_vectors(pg, table, vectors)
    copy_s = time.perf_counter() - started
    table_mb = pg.execute(f"SELECT pg_relation_size('{table}')")[0][0] / 2**20
    memory = LARGE_BUILD_MEMORY.get(size, config["build_memory"])
    arms: dict = {"pgvector HNSW": {}, "faiss HNSW": {}}
    builds = [pg_build(pg, table, config, memory) for _ in range(args.repeats)]
    log(f"  pgvector builds {[round(b['seconds'], 1) for b in builds]} s")
    arms["pgvector HNSW"]["build_s"] = spread([b["seconds"] for b in builds])
    arms["pgvector HNSW"]["index_mb"] = builds[-1]["index_mb"]
    arms["pgvector HNSW"].update(
        passes(lambda: pg_queries(pg, table, config, queries, exact=False), args.repeats, truth)
    )
    log(f"  pgvector HNSW: {arms['pgvector HNSW']['p50_ms']['median']:.2f} ms p50")
    plans = {
        arm: pg_plan(pg, table, config, queries[0], exact=arm == "PG exact") for arm in ARMS[:2]
    }
    log(f"  plans: {plans}")
    arms["PG exact"] = passes(
        lambda: pg_queries(pg, table, config, queries, exact=True), args.repeats, truth
    )
    log(f"  PG exact: {arms['PG exact']['p50_ms']['median']:.2f} ms p50")
    arms["NumPy exact"] = passes(lambda: numpy_queries(vectors, queries), args.repeats, truth)
    arms["NumPy exact"]["gb_per_s"] = (
        vectors.nbytes / 1e9 / (arms["NumPy exact"]["p50_ms"]["median"] / 1000)
    )
    arms["NumPy exact"]["index_mb"] = vectors.nbytes / 2**20
    faiss_builds = []
    for _ in range(args.repeats):
        index, build = faiss_build(vectors, config)
        faiss_builds.append(build)
    arms["faiss HNSW"]["build_s"] = spread([b["seconds"] for b in faiss_builds])
    arms["faiss HNSW"]["index_mb"] = faiss_builds[-1]["index_mb"]
    arms["faiss HNSW"].update(passes(lambda: faiss_queries(index, queries), args.repeats, truth))
    log(f"  faiss HNSW: builds {[round(b['seconds'], 1) for b in faiss_builds]} s")
    pg.execute(f"DROP TABLE {table}")
    return {
        "size": size,
        "queries": args.queries,
        "load_s": round(copy_s, 1),
        "truth_s": round(truth_s, 2),
        "table_mb": round(table_mb, 1),
        "build_memory": memory,
        "plans": plans,
        "arms": arms,
        "load_avg": round(os.getloadavg()[0], 2),
    }


# --- report -------------------------------------------------------------------------------------
ARMS = ("pgvector HNSW", "PG exact", "NumPy exact", "faiss HNSW")


def peers_table(result: dict) -> str:
    arms = result["arms"]
    reference = arms["NumPy exact"]["p50_ms"]["median"]
    rows = []
    for name in ARMS:
        arm = arms[name]
        rows.append(
            [
                name,
                fmt_spread(arm["recall"], 3),
                fmt_spread(arm["p50_ms"], 2),
                fmt_spread(arm["p99_ms"], 2),
                f"{arm['p50_ms']['median'] / reference:.2f}",
                fmt_spread(arm["build_s"]) if "build_s" in arm else "–",
                f"{arm['index_mb']:.1f}" if "index_mb" in arm else "–",
            ]
        )
    header = [
        "engine",
        "Recall@10 vs exact",
        "p50 ms",
        "p99 ms",
        "p50 ÷ NumPy exact p50",
        "build s",
        "index MB",
    ]
    return markdown_table(header, rows)


def scaling_table(results: list[dict], reembed_rate: float | None, backbone: str) -> str:
    rows = []
    for result in results:
        arms = result["arms"]
        hnsw, exact = arms["pgvector HNSW"], arms["PG exact"]
        build = hnsw["build_s"]["median"]
        projected = "–"
        if reembed_rate:
            projected = f"{(result['size'] / reembed_rate + build) / 60:.1f}"
        rows.append(
            [
                f"{result['size']:,}",
                fmt_spread(hnsw["p50_ms"], 2),
                fmt_spread(hnsw["p99_ms"], 2),
                fmt_spread(hnsw["recall"], 3),
                fmt_spread(exact["p50_ms"], 1),
                fmt_spread(arms["NumPy exact"]["p50_ms"], 2),
                fmt_spread(hnsw["build_s"]),
                f"{result['table_mb']:.0f} + {hnsw['index_mb']:.0f}",
                f"{arms['faiss HNSW']['index_mb']:.0f}",
                "HNSW index" if "hnsw" in result["plans"]["pgvector HNSW"] else "seq scan",
                projected,
                result["load_avg"],
            ]
        )
    header = [
        "vectors",
        "HNSW p50 ms",
        "HNSW p99 ms",
        "HNSW R@10",
        "PG exact p50 ms",
        "NumPy exact p50 ms",
        "HNSW build s",
        "PG table + index MB",
        "faiss index MB",
        "planner's choice for the HNSW arm",
        f"reembed min (projected, {backbone or 'n/a'})",
        "load",
    ]
    return markdown_table(header, rows)


def plot(results: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    sizes = [r["size"] for r in results]
    figure, (latency, build) = pyplot.subplots(1, 2, figsize=(8, 3.2), dpi=100)
    for name in ARMS:
        medians = [r["arms"][name]["p50_ms"]["median"] for r in results]
        low = [r["arms"][name]["p50_ms"]["min"] for r in results]
        high = [r["arms"][name]["p50_ms"]["max"] for r in results]
        latency.plot(sizes, medians, marker="o", label=name)
        latency.fill_between(sizes, low, high, alpha=0.2)
    latency.set(xscale="log", yscale="log", xlabel="vectors", ylabel="query p50 ms (k = 10)")
    latency.legend(fontsize=7)
    for name in ("pgvector HNSW", "faiss HNSW"):
        build.plot(
            sizes, [r["arms"][name]["build_s"]["median"] for r in results], marker="o", label=name
        )
    build.set(xscale="log", yscale="log", xlabel="vectors", ylabel="index build s")
    build.legend(fontsize=7)
    figure.suptitle("prodsim vector search scaling (bench/vector_search.py)", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    pyplot.close(figure)
    return path


def section_markdown(figures: dict) -> str:
    config = figures["config"]
    peers = next(r for r in figures["sizes"] if r["size"] == figures["peers_size"])
    plot_line = ""
    if figures.get("plot"):
        plot_line = f"\n\n![vector search scaling]({figures['plot']})"
    reembed = (
        f"Reembed is projected, not measured at these sizes: size ÷ the end-to-end reembed rate "
        f"of `--reembed-rate` ({figures['reembed_rate']:.1f} img/s, "
        f"{figures['reembed_backbone']}, one image per product; reembed memory stays flat) + "
        "the HNSW build measured here. `run_all.py` passes the median rate that "
        "`embed_throughput.py` measured just before in the same run; a command line that "
        "shows the flag got it by hand from such a run's embedding-throughput section."
        if figures.get("reembed_rate")
        else "Reembed time is not projected: no end-to-end rate from `embed_throughput.py` was "
        "passed (`--reembed-rate`; `run_all.py` passes the one it measured)."
    )
    title = "Vector search: pgvector vs exact and faiss, and scaling (`bench/vector_search.py`)"
    return f"""### {title}

Command: `{figures["command"]}`

Data: seeded clustered 256-d unit vectors (clusters of {CLUSTER_SIZE}, noise σ = {CLUSTER_NOISE};
the queries are {figures["queries"]} fresh points from the same clusters, not in the table), in a
throwaway database. pgvector as prodsim configures it (`vector_store`): m = {config["m"]},
ef_construction = {config["ef_construction"]}, ef_search = {config["ef_search"]}, iterative
scan `relaxed_order` (session settings, as `vector_store` sets them per connection),
`{config["opclass"]}`, maintenance_work_mem {config["build_memory"]}
(`PRODSIM_INDEX_BUILD_MEMORY`; 1M: 3GB); the exact arm uses `vector_store`'s `OFFSET 0` fence.
faiss-cpu {figures["faiss"]} `IndexHNSWFlat` with the same m / ef_construction / ef_search.
Every figure is the **median (min–max) of {figures["repeats"]} repeats** (builds, or passes
over the query set); p50/p99 are per pass, one query at a time (PostgreSQL: client round trip
over the Unix socket included; in-process arms: none). Recall@10 is against the NumPy exact top
10. Other sessions' tests and benchmarks were running on the same 2 cores (load column and
machine line).

Peers at {peers["size"]:,} vectors (reference: the exact NumPy scan, one float32 matrix-vector
product per query on one BLAS thread, the limit an exact search meets on one core: it streams
{peers["arms"]["NumPy exact"]["gb_per_s"]:.1f} GB/s of vectors at its median):

{peers_table(peers)}

Plans (EXPLAIN): HNSW arm `{peers["plans"]["pgvector HNSW"]}`; exact arm
`{peers["plans"]["PG exact"]}`. The bench connection turns psycopg's server-side prepared
statements off, as Django's client-side binding does: with them, a cached generic plan outlives
planner settings (an exact arm switched by `enable_indexscan` silently reused the HNSW plan).

Scaling (the same measurements at each size):

{scaling_table(figures["sizes"], figures.get("reembed_rate"), figures.get("reembed_backbone"))}

{reembed}{plot_line}"""


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    machine = machine_info()
    command = shlex.join([".venv/bin/python", "bench/vector_search.py", *(argv or sys.argv[1:])])
    log(f"profile {args.profile}: sizes {args.sizes}, peers at {args.peers}")
    import faiss

    faiss.omp_set_num_threads(machine["cores"])
    pg = Postgres(args.database)
    started = time.monotonic()
    try:
        config = pg_config()
        session_settings(pg, config)
        results = [measure_size(pg, size, args, config) for size in args.sizes]
    finally:
        pg.close()
    figures = {
        "profile": args.profile,
        "command": command,
        "config": config,
        "faiss": faiss.__version__,
        "queries": args.queries,
        "repeats": args.repeats,
        "sizes": results,
        "peers_size": args.peers,
        "reembed_rate": args.reembed_rate,
        "reembed_backbone": args.reembed_backbone,
        "machine": machine,
    }
    if not args.no_plot and len(results) > 1:
        suffix = section_name(SECTION).removeprefix(SECTION)
        path = plot(results, PLOT_FILE.with_name(f"bench_scaling{suffix}.png"))
        figures["plot"] = path.name
        log(f"wrote {path}")
    markdown = section_markdown(figures)
    print(markdown)
    print_json(SECTION, figures)
    if not args.no_doc:
        path = write_section(SECTION, markdown, machine=machine)
        log(f"wrote section {section_name(SECTION)!r} of {path}")
    log(f"done in {time.monotonic() - started:.0f} s")
    return figures


if __name__ == "__main__":
    main()
