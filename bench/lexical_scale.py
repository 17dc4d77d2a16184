"""Scale of the lexical index: fit the IDF and vectorise N synthetic products, in process.

The catalogue is generated (seeded): titles of 4–10 words from a Zipf-distributed vocabulary
of 30,000 made-up words, a brand of 3,000, a model code, a category path of 600 and a
description of 15–60 words (`--description-share` of products have one). Timed: counting,
the IDF fit and weighing every product, exactly as `lexical_index_rebuild` does before it
writes, including each row's sketch; peak resident memory of the
process (each size runs in a child process of its own, so peak memory is per size).

    nice -n 5 .venv/bin/python bench/lexical_scale.py --sizes 100000,1000000
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

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

ensure_repo_on_path()

from similarity.ml import lexical  # noqa: E402
from similarity.ml.lexical.sketch import sketch_rows  # noqa: E402

SECTION = "lexical-scale"
SEED = 20261204
TARGET_SECONDS = {100_000: 60, 1_000_000: 600}
SYLLABLES = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]


def vocabulary(size: int, rng: np.random.Generator) -> np.ndarray:
    parts = rng.integers(0, len(SYLLABLES), size=(size, 3))
    lengths = rng.integers(2, 4, size=size)
    return np.array(
        ["".join(SYLLABLES[p] for p in row[:n]) for row, n in zip(parts, lengths, strict=True)]
    )


def catalogue(size: int, description_share: float, seed: int = SEED) -> lexical.Columns:
    """Seeded synthetic columns (title, brand, model, category, description) of `size` rows."""
    rng = np.random.default_rng(seed)
    words, brands = vocabulary(30_000, rng), vocabulary(3_000, rng)
    categories = [
        f"{a} / {b}" for a, b in zip(vocabulary(600, rng), vocabulary(600, rng), strict=True)
    ]

    def phrase(low: int, high: int) -> list[str]:
        counts = rng.integers(low, high + 1, size=size)
        ids = np.minimum(rng.zipf(1.3, size=int(counts.sum())) - 1, len(words) - 1)
        flat, ends = words[ids], np.cumsum(counts)
        return [" ".join(flat[e - c : e]) for e, c in zip(ends, counts, strict=True)]

    codes = rng.integers(0, 36**6, size=size)
    has_description = rng.random(size) < description_share
    return {
        "title": phrase(4, 10),
        "brand": [brands[i] for i in rng.integers(0, len(brands), size=size)],
        "model": [np.base_repr(int(c), 36).lower() + "-x" for c in codes],
        "category": [categories[i] for i in rng.integers(0, len(categories), size=size)],
        "description": [
            d if keep else "" for d, keep in zip(phrase(15, 60), has_description, strict=True)
        ],
    }


def build(columns: lexical.Columns) -> dict:
    """Time the IDF fit and the batched vectorising of every row (what a rebuild computes)."""
    config = lexical.LexicalConfig()
    size = len(columns["title"])
    started = time.monotonic()
    batches = lexical.catalogue_counts(columns, config)
    count_seconds = time.monotonic() - started
    idf = lexical.idf_of_batches(batches)
    idf_seconds = time.monotonic() - started
    nonzeros = 0
    for counts in batches:
        matrix = lexical.combine(
            lexical.field_vectors(counts, idf, config), config.fields, catalogue=True
        )
        nonzeros += matrix.nnz
        sketch_rows(matrix)  # the rebuild's COPY writes each vector with its sketch
    total = time.monotonic() - started
    return {
        "products": size,
        "count_seconds": round(count_seconds, 1),
        "idf_seconds": round(idf_seconds - count_seconds, 1),
        "weigh_seconds": round(total - idf_seconds, 1),
        "total_seconds": round(total, 1),
        "products_per_second": round(size / total),
        "nonzeros_per_product": round(nonzeros / size, 1),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "load_before": round(os.getloadavg()[0], 2),
    }


def section_markdown(rows: list[dict], machine: dict) -> str:
    header = [
        "products",
        "count s",
        "IDF fit s",
        "weigh + sketch s",
        "total s",
        "target s",
        "products/s",
        "non-zeros/product",
        "peak RSS GB",
        "load avg before",
    ]
    lines = [
        [
            f"{r['products']:,}",
            r["count_seconds"],
            r["idf_seconds"],
            r["weigh_seconds"],
            r["total_seconds"],
            TARGET_SECONDS.get(r["products"], "—"),
            f"{r['products_per_second']:,}",
            r["nonzeros_per_product"],
            r["peak_rss_gb"],
            r["load_before"],
        ]
        for r in rows
    ]
    return "\n\n".join(
        [
            "### Lexical index build at scale (`bench/lexical_scale.py`)",
            "Synthetic catalogues (generated, seeded; see the script). One process, `nice -n 5`, "
            "on "
            "a machine shared with other work (load average in the table), each size in its own "
            "process. Timed, as `lexical_index_rebuild` computes before writing: counting every "
            "product's hashed features once (batches of 20,000), fitting the IDF, then weighing, "
            "normalising and sketching each row (what the COPY writes beside it). Peak RSS "
            "includes the catalogue's own strings. Writing and indexing in PostgreSQL: "
            "*lexical-db*.",
            markdown_table(header, lines),
        ]
    )


def one_size(size: int, description_share: float) -> dict:
    """Measure one size in a child process (its own peak memory); the child prints JSON."""
    command = [sys.executable, __file__, "--child", str(size)]
    command += ["--description-share", str(description_share)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith(JSON_PREFIX))
    return json.loads(line.removeprefix(JSON_PREFIX))["row"]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--description-share", type=float, default=0.5)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        columns = catalogue(args.child, args.description_share)
        print_json(SECTION, {"row": build(columns)})
        return {}
    machine = machine_info()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows.append(one_size(size, args.description_share))
        log(str(rows[-1]))
    figures = {"rows": rows}
    print_json(SECTION, figures)
    if not args.no_doc:
        write_section(SECTION, section_markdown(rows, machine), machine=machine)
    return figures


if __name__ == "__main__":
    main()
