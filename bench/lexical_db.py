"""The lexical index in PostgreSQL: a full rebuild, an incremental refresh, and match latency.

Works in its own database (`prodsim_bench_lexical` on the embedded server, flushed first). N
synthetic products (`lexical_scale.catalogue`, seeded) are inserted, then timed:

  rebuild   `lexical_index_rebuild(tune=True)`: tuning, counting, IDF, vectors written with
            the sparse HNSW index maintained row by row (pgvector), the switch
  refresh   1 % of the products get a new title; `product_texts_refresh` over every product
            id (what an import of the whole catalogue would hand it): only those re-vectorised
  match     what `POST /api/v1/match/` runs per request (query vector, HNSW search over the
            sparse index, the candidates' signals, the products' rows), for damaged titles of
            random products; p50 / p99 over the queries, one at a time

    nice -n 5 .venv/bin/python bench/lexical_db.py --products 100000
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import (
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


def setup(work_dir: Path) -> None:
    os.environ.update(
        {
            "PRODSIM_DATABASE_NAME": DATABASE,
            "PRODSIM_OFFLINE": "1",
            "PRODSIM_MEDIA_ROOT": str(work_dir / "media"),
            "PRODSIM_MODELS_ROOT": str(work_dir / "models"),
            "DJANGO_SETTINGS_MODULE": "prodsim_site.settings",
        }
    )
    from prodsim_site.embedded.bootstrap import start_embedded_services

    start_embedded_services()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)


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


def match_latency(columns: dict, queries: int) -> dict:
    from catalog import selectors as catalog_selectors
    from similarity import selectors

    rng = random.Random(7)
    timings, found = [], 0
    for _ in range(queries):
        i = rng.randrange(len(columns["title"]))
        words = columns["title"][i].split()
        fields = {"title": " ".join(words[: max(2, len(words) - 2)]), "brand": columns["brand"][i]}
        started = time.perf_counter()
        hits = selectors.search_products(query=fields["title"], limit=10, fields=fields) or []
        rows = catalog_selectors.products_by_ids(ids=[hit.product_id for hit in hits])
        timings.append((time.perf_counter() - started) * 1000)
        found += any(rows[hit.product_id].sku == f"P{i}" for hit in hits if hit.product_id in rows)
    return {
        "queries": queries,
        "p50_ms": round(float(np.percentile(timings, 50)), 1),
        "p99_ms": round(float(np.percentile(timings, 99)), 1),
        "found_in_top_10": round(found / queries, 3),
    }


def measure(size: int, queries: int) -> dict:
    from catalog.models import Product
    from similarity.services.lexical import lexical_index_rebuild, product_texts_refresh

    columns = catalogue(size, 0.5)
    started = time.monotonic()
    insert(columns)
    log(f"{size:,} products inserted in {time.monotonic() - started:.0f} s")
    started = time.monotonic()
    index = lexical_index_rebuild(tune=True)
    rebuild = time.monotonic() - started
    log(f"rebuild {rebuild:.0f} s; weights {index.config['fields']}")
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    changed = ids[::100]
    Product.objects.filter(pk__in=changed).update(title="Renamed product")
    started = time.monotonic()
    refreshed = product_texts_refresh(product_ids=ids)
    refresh = time.monotonic() - started
    return {
        "products": size,
        "rebuild_seconds": round(rebuild, 1),
        "tuning": index.tuning.get("note"),
        "refresh_products": refreshed,
        "refresh_seconds": round(refresh, 1),
        "match": match_latency(columns, queries),
        "load_after": round(os.getloadavg()[0], 2),
    }


def section_markdown(row: dict) -> str:
    match = row["match"]
    table = markdown_table(
        [
            "products",
            "rebuild s",
            "refresh s (products)",
            "match p50 ms",
            "match p99 ms",
            "target p99 ms",
            "own product in top 10",
        ],
        [
            [
                f"{row['products']:,}",
                row["rebuild_seconds"],
                f"{row['refresh_seconds']} ({row['refresh_products']:,})",
                match["p50_ms"],
                match["p99_ms"],
                TARGET_P99_MS,
                match["found_in_top_10"],
            ]
        ],
    )
    return "\n\n".join(
        [
            "### Lexical index in PostgreSQL (`bench/lexical_db.py`)",
            "Synthetic products (as `lexical_scale`), one process, `nice -n 5`, embedded "
            "PostgreSQL on the same shared machine. Rebuild = `lexical_index_rebuild(tune=True)` "
            "including writing every vector with the sparse HNSW index maintained; refresh = "
            "`product_texts_refresh` over every id after 1 % of titles changed; match = the work "
            f"of one `/match` request, {match['queries']} damaged titles one at a time. "
            f"Load average after: {row['load_after']}. Weights: {row['tuning']}.",
            table,
        ]
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    machine = machine_info()
    with tempfile.TemporaryDirectory() as work_dir:
        setup(Path(work_dir))
        row = measure(args.products, args.queries)
    print_json(SECTION, row)
    log(str(row))
    if not args.no_doc:
        write_section(SECTION, section_markdown(row), machine=machine)
    return row


if __name__ == "__main__":
    sys.exit(main() and 0)
