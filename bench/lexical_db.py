"""The lexical index in PostgreSQL: full rebuilds, an incremental refresh, and match latency.

Works in its own database (`prodsim_bench_lexical` on the embedded server, flushed first). N
synthetic products (`lexical_scale.catalogue`, seeded) are inserted, then timed:

  rebuild   `lexical_index_rebuild`, twice: first with tuning (no index yet), then with the
            weights carried over (what a drift or `reindex_text` runs). Each: counting, IDF,
            vectors and sketches written by binary COPY, the sketch HNSW built once, the
            switch; the COPY and HNSW parts timed on their own; peak RSS of this process
  refresh   1 % of the products get a new title; `product_texts_refresh` over every product
            id (what an import of the whole catalogue would hand it): only those re-vectorised
  match     what `POST /api/v1/match/` runs per request (query vector, the sketch HNSW's
            candidates ranked by exact cosine, the candidates' signals, the products' rows),
            for damaged titles of random products, one at a time, called in process (no HTTP);
            p50 / p99 of the whole call and of its SQL statements alone (timed around each
            statement by a Django execute wrapper: round trip to the server included)
  exact     for some of those queries, whether the served top 10 equals the exact scan's

    nice -n 5 .venv/bin/python bench/lexical_db.py --products 100000
"""

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from _report import (
    django_on_bench_database,
    ensure_repo_on_path,
    log,
    machine_info,
    markdown_table,
    print_json,
    write_section,
)
from lexical_scale import catalogue

ensure_repo_on_path()

SECTION = "lexical-db"
DATABASE = "prodsim_bench_lexical"
INSERT_BATCH = 5_000
TARGET_P99_MS = 50
TARGET_REBUILD_S = 60  # at 100k products (#19)


def setup(work_dir: Path) -> None:
    django_on_bench_database(DATABASE, work_dir)


def insert(columns: dict) -> None:
    from catalog.models import Product

    size = len(columns["title"])
    for start in range(0, size, INSERT_BATCH):
        Product.objects.bulk_create(
            Product(
                sku=f"P{i}",
                title=columns["title"][i],
                brand=columns["brand"][i],
                tags=[columns["category"][i]],
                attributes={"model": columns["model"][i]},
                description=columns["description"][i],
                price=1,
                currency="EUR",
            )
            for i in range(start, min(start + INSERT_BATCH, size))
        )


def query_fields(columns: dict, rng: random.Random) -> tuple[int, dict]:
    i = rng.randrange(len(columns["title"]))
    words = columns["title"][i].split()
    title = " ".join(words[: max(2, len(words) - 2)])
    return i, {"title": title, "brand": columns["brand"][i]}


@contextmanager
def sql_timer(spent: list[float]):
    """Adds the seconds of every SQL statement run inside to `spent`."""
    from django.db import connection

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append(time.perf_counter() - started)

    with connection.execute_wrapper(timed):
        yield


def match_latency(columns: dict, queries: int) -> dict:
    from catalog import selectors as catalog_selectors
    from similarity import selectors

    rng = random.Random(7)
    timings, sql_timings, found = [], [], 0
    for _ in range(queries):
        i, fields = query_fields(columns, rng)
        spent: list[float] = []
        started = time.perf_counter()
        with sql_timer(spent):
            hits = selectors.search_products(query=fields["title"], limit=10, fields=fields) or []
            rows = catalog_selectors.products_by_ids(ids=[hit.product_id for hit in hits])
        timings.append((time.perf_counter() - started) * 1000)
        sql_timings.append(sum(spent) * 1000)
        found += any(rows[hit.product_id].sku == f"P{i}" for hit in hits if hit.product_id in rows)
    return {
        "queries": queries,
        "p50_ms": round(float(np.percentile(timings, 50)), 1),
        "p99_ms": round(float(np.percentile(timings, 99)), 1),
        "sql_p50_ms": round(float(np.percentile(sql_timings, 50)), 1),
        "sql_p99_ms": round(float(np.percentile(sql_timings, 99)), 1),
        "found_in_top_10": round(found / queries, 3),
        "load": round(os.getloadavg()[0], 2),
    }


def exact_agreement(columns: dict, queries: int) -> dict:
    """Served (sketch HNSW + exact re-rank) top 10 against the exact scan's, same queries:
    as `/match` walks the sketch (its own ef_search) and as similar lists do (the session's)."""
    from similarity import vector_store
    from similarity.selectors import current_lexical_index
    from similarity.selectors.lexical import query_vector

    rng = random.Random(11)
    walks = {"match": vector_store.SKETCH_EF_SEARCH, "similar": vector_store.DEFAULT_EF_SEARCH}
    same_first, overlap = dict.fromkeys(walks, 0), dict.fromkeys(walks, 0.0)
    for _ in range(queries):
        _i, fields = query_fields(columns, rng)
        index, vector = query_vector(fields)
        assert index.pk == current_lexical_index().pk
        exact = vector_store.nearest_texts(index=index, vector=vector, k=10, exact=True)
        for walk, ef_search in walks.items():
            served = vector_store.nearest_texts(
                index=index, vector=vector, k=10, ef_search=ef_search
            )
            same_first[walk] += served[0].product_id == exact[0].product_id
            overlap[walk] += len({n.product_id for n in served} & {n.product_id for n in exact})
    return {
        "queries": queries,
        "top_1_same": round(same_first["match"] / queries, 3),
        "top_10_overlap": round(overlap["match"] / queries / 10, 3),
        "similar_top_1_same": round(same_first["similar"] / queries, 3),
        "similar_top_10_overlap": round(overlap["similar"] / queries / 10, 3),
        "ef_search": walks,
    }


def timed_rebuild(*, tune: bool) -> dict:
    """One `lexical_index_rebuild`, its COPY and HNSW parts timed by wrapping those calls."""
    from similarity import vector_store
    from similarity.ml.lexical import tuning as lexical_tuning
    from similarity.services.lexical import lexical_index_rebuild

    parts = {"copy": 0.0, "hnsw": 0.0, "tuning": 0.0}
    owners = {"copy": vector_store, "hnsw": vector_store, "tuning": lexical_tuning}
    names = {"copy": "product_texts_copy", "hnsw": "lexical_hnsw_build", "tuning": "tune"}
    originals = {part: getattr(owners[part], names[part]) for part in parts}

    def timing(part):
        def wrapper(*args, **kwargs):
            started = time.monotonic()
            try:
                return originals[part](*args, **kwargs)
            finally:
                parts[part] += time.monotonic() - started

        return wrapper

    for part in parts:
        setattr(owners[part], names[part], timing(part))
    load = os.getloadavg()[0]
    started = time.monotonic()
    try:
        index = lexical_index_rebuild(tune=tune)
    finally:
        for part in parts:
            setattr(owners[part], names[part], originals[part])
    total = time.monotonic() - started
    log(f"rebuild (tune={tune}) {total:.1f} s: {parts}; weights {index.config['fields']}")
    return {
        "seconds": round(total, 1),
        "copy_seconds": round(parts["copy"], 1),
        "hnsw_seconds": round(parts["hnsw"], 1),
        "tuning_seconds": round(parts["tuning"], 1),
        "tuning": index.tuning.get("note"),
        "load_before": round(load, 2),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }


def index_sizes() -> dict:
    from django.db import connection

    from similarity import vector_store
    from similarity.selectors import current_lexical_index

    name = vector_store.lexical_hnsw_name(current_lexical_index().pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size('similarity_producttext'), pg_relation_size(%s)",
            [name],
        )
        table, hnsw = cursor.fetchone()
    return {"table_mb": round(table / 2**20), "hnsw_mb": round(hnsw / 2**20)}


def measure(size: int, queries: int, exact_queries: int, *, second_rebuild: bool = True) -> dict:
    from catalog.models import Product
    from similarity.services.lexical import product_texts_refresh

    columns = catalogue(size, 0.5)
    started = time.monotonic()
    insert(columns)
    log(f"{size:,} products inserted in {time.monotonic() - started:.0f} s")
    tuned = timed_rebuild(tune=True)
    carried = timed_rebuild(tune=False) if second_rebuild else None
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    changed = ids[::100]
    Product.objects.filter(pk__in=changed).update(title="Renamed product")
    started = time.monotonic()
    refreshed = product_texts_refresh(product_ids=ids)
    refresh = time.monotonic() - started
    return {
        "products": size,
        "rebuild_tuned": tuned,
        "rebuild": carried,
        "sizes": index_sizes(),
        "refresh_products": refreshed,
        "refresh_seconds": round(refresh, 1),
        "match": match_latency(columns, queries),
        "exact": exact_agreement(columns, exact_queries),
    }


def section_markdown(row: dict) -> str:
    match, exact, sizes = row["match"], row["exact"], row["sizes"]
    rebuilds = markdown_table(
        ["rebuild", "total s", "COPY s", "HNSW build s", "target s", "peak RSS GB", "load before"],
        [
            [
                name,
                r["seconds"],
                r["copy_seconds"],
                r["hnsw_seconds"],
                TARGET_REBUILD_S if name.startswith("weights carried") else "–",
                r["peak_rss_gb"],
                r["load_before"],
            ]
            for name, r in (
                ("first, tuning the weights", row["rebuild_tuned"]),
                ("weights carried over", row["rebuild"]),
            )
        ],
    )
    serving = markdown_table(
        ["match p50 ms", "match p99 ms", "target p99 ms", "SQL p50 ms", "SQL p99 ms", "load"],
        [
            [
                match["p50_ms"],
                match["p99_ms"],
                TARGET_P99_MS,
                match["sql_p50_ms"],
                match["sql_p99_ms"],
                match["load"],
            ]
        ],
    )
    return "\n\n".join(
        [
            "### Lexical index in PostgreSQL (`bench/lexical_db.py`)",
            f"{row['products']:,} synthetic products (as `lexical_scale`), one process, "
            "`nice -n 5`, embedded PostgreSQL on the same shared machine (load averages in the "
            "tables). Rebuild = `lexical_index_rebuild`: counting, IDF, vectors and sketches "
            "written by binary COPY, the sketch HNSW built once (2 parallel workers), the switch. "
            f"Table {sizes['table_mb']} MB, sketch HNSW {sizes['hnsw_mb']} MB.",
            rebuilds,
            f"Incremental refresh after 1 % of titles changed, over every id: "
            f"{row['refresh_seconds']} s ({row['refresh_products']:,} products re-vectorised).",
            "Match = the work of one `/match` request in process (no HTTP), "
            f"{match['queries']} damaged titles one at a time; SQL = the time inside its "
            "statements, round trip to the server included. Own product in the top 10: "
            f"{match['found_in_top_10']}. Against the exact scan on {exact['queries']} of "
            f"them (the sketch walked at ef_search {exact['ef_search']['match']}): same top 1 "
            f"{exact['top_1_same']}, top-10 overlap {exact['top_10_overlap']}; walked at the "
            f"session's {exact['ef_search']['similar']}, as similar lists' one statement does: "
            f"{exact['similar_top_1_same']} and {exact['similar_top_10_overlap']}.",
            serving,
        ]
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--exact-queries", type=int, default=200)
    parser.add_argument(
        "--one-rebuild", action="store_true", help="skip the second rebuild (implies --no-doc)"
    )
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    machine = machine_info()
    with tempfile.TemporaryDirectory() as work_dir:
        setup(Path(work_dir))
        row = measure(
            args.products, args.queries, args.exact_queries, second_rebuild=not args.one_rebuild
        )
    print_json(SECTION, row)
    log(str(row))
    if not (args.no_doc or args.one_rebuild):
        write_section(SECTION, section_markdown(row), machine=machine)
    return row


if __name__ == "__main__":
    sys.exit(main() and 0)
