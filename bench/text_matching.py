"""Quality target: product-text matching on Walmart–Amazon as retrieval (data README).

Catalogue = the 22,068 products of `tableB.csv`; queries = the 853 `tableA.csv` products that
`matches.csv` pairs with one of them; Recall@K = share of queries whose matching catalogue product
is ranked in the top K by cosine. Text of a record = title + brand + model number (missing values
empty). The rows are measured side by side in one run, each fitted on the catalogue only:

  baseline             character 3–5-gram TF-IDF cosine, exact vocabulary: what scikit-learn's
                       `TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5))` computes
  baseline-sublinear   the same with `sublinear_tf=True`
  prodsim              `similarity.ml.lexical.vectorise` with the default `LexicalConfig()`

The queries are split by a seeded shuffle into halves: `dev`, on which `LexicalConfig` was tuned,
and `held-out`, which no choice looked at. Ties rank the lower catalogue row first. `--ablation`
adds dev-only rows that undo the tuned choices one at a time.

    .venv/bin/python bench/text_matching.py --ablation   # the documented run (~5 min)
    .venv/bin/python bench/text_matching.py --no-doc --rows prodsim
"""

import argparse
import csv
import dataclasses
import math
import sys
import time
from collections import Counter
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

ensure_repo_on_path()

from similarity.ml import lexical  # noqa: E402  (needs the repo on sys.path first)

SECTION = "text-matching"
SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULT_DATA = SHARED / "data" / "amazon-walmart"
SPLIT_SEED = 20240611  # fixed before any tuning; any seed gives halves of 426 and 427
KS = (1, 5, 10)
SPLITS = ("dev", "held-out", "all")
ROWS = ("baseline", "baseline-sublinear", "prodsim")
ROW_TITLES = {
    "baseline": "baseline: char_wb 3–5-gram TF-IDF, exact vocabulary",
    "baseline-sublinear": "baseline with sublinear tf",
    "prodsim": "**prodsim lexical** (hashed, default `LexicalConfig()`)",
}
TARGET = {"recall_at_1": 0.93, "recall_at_10": 0.99}
ISSUE_BASELINE = {"recall_at_1": 0.912, "recall_at_10": 0.992}  # the figures the issue quotes
# Each row undoes one tuned choice (or more, cumulatively), measured on the dev half only.
ABLATION = {
    "n-grams only": {"word_weight": 0.0, "model_number_weight": 0.0},
    "n-grams + words 0.6": {"model_number_weight": 0.0},
    "+ model numbers 1.0, exact codes (the untuned defaults)": {
        "model_number_weight": 1.0,
        "model_number_variants": False,
    },
    "model numbers 0.6, exact codes": {"model_number_variants": False},
    "+ code parts and stems (the default)": {},
    "default with raw tf": {"sublinear_tf": False},
}
ERROR_NO_DATA = (
    "Walmart–Amazon data not found at {path} (expected tableA.csv, tableB.csv, matches.csv). "
    "Pass --data PATH; see /work/shared/data/README.md."
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=SPLIT_SEED, help="dev / held-out split seed")
    parser.add_argument(
        "--rows", default=",".join(ROWS), help=f"comma-separated subset of {','.join(ROWS)}"
    )
    parser.add_argument(
        "--ablation", action="store_true", help="also measure the ablation rows (dev half only)"
    )
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    args.rows = [row.strip() for row in args.rows.split(",") if row.strip()]
    if set(args.rows) - set(ROWS):
        parser.error(f"unknown rows {sorted(set(args.rows) - set(ROWS))}; choose from {ROWS}")
    return args


# --- data ---------------------------------------------------------------------------------------
def record_text(record: dict) -> str:
    """title + brand + model number, the text every row indexes (missing values empty)."""
    return " ".join(record.get(key) or "" for key in ("title", "brand", "modelno"))


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_data(root: Path, seed: int) -> dict:
    """Catalogue texts, query texts, each query's catalogue row, and the dev / held-out masks."""
    catalogue = read_rows(root / "tableB.csv")
    queries = {row["id"]: row for row in read_rows(root / "tableA.csv")}
    row_of = {row["id"]: position for position, row in enumerate(catalogue)}
    matches = sorted(read_rows(root / "matches.csv"), key=lambda pair: int(pair["tableA_id"]))
    dev = np.zeros(len(matches), dtype=bool)
    dev[np.random.default_rng(seed).permutation(len(matches))[: len(matches) // 2]] = True
    return {
        "catalogue": [record_text(row) for row in catalogue],
        "queries": [record_text(queries[pair["tableA_id"]]) for pair in matches],
        "targets": np.array([row_of[pair["tableB_id"]] for pair in matches]),
        "masks": {"dev": dev, "held-out": ~dev, "all": np.ones(len(matches), dtype=bool)},
    }


# --- the baseline -------------------------------------------------------------------------------
def char_wb_ngrams(text: str) -> list[str]:
    """scikit-learn's `char_wb` analyser, ngram_range (3, 5), lowercase, accents kept.

    Each whitespace-separated word is padded with one space each side; a padded word no longer
    than n yields itself once and stops the larger sizes (sklearn's `_char_wb_ngrams`).
    """
    grams = []
    for word in text.lower().split():
        padded = f" {word} "
        for n in (3, 4, 5):
            if len(padded) <= n:
                grams.append(padded)
                break
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


class CharTfidf:
    """TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)): smooth idf, L2 norm.

    The vocabulary is the catalogue's n-grams; a query's unseen n-grams are dropped, as
    `transform` does. Checked against scikit-learn 1.9.1: the same 237,718-n-gram vocabulary
    and the same rank for every query.
    """

    def __init__(self, texts: list[str], *, sublinear_tf: bool = False):
        frequencies: Counter = Counter()
        for text in texts:
            frequencies.update(set(char_wb_ngrams(text)))
        self.columns = {gram: column for column, gram in enumerate(sorted(frequencies))}
        self.sublinear_tf = sublinear_tf
        documents = len(texts)
        self.idf = {
            gram: math.log((1 + documents) / (1 + df)) + 1.0 for gram, df in frequencies.items()
        }

    def vectorise(self, text: str) -> dict[int, float]:
        counts = Counter(gram for gram in char_wb_ngrams(text) if gram in self.columns)
        vector = {
            self.columns[gram]: (1 + math.log(count) if self.sublinear_tf else count)
            * self.idf[gram]
            for gram, count in counts.items()
        }
        norm = math.sqrt(sum(value * value for value in vector.values()))
        return {column: value / norm for column, value in vector.items()} if norm else {}


# --- exact scoring ------------------------------------------------------------------------------
class CsrCatalogue:
    """Sparse catalogue rows as CSR NumPy arrays; `scores(query)` is the exact dot product."""

    def __init__(self, vectors: list[dict[int, float]], dimensions: int):
        lengths = np.array([len(vector) for vector in vectors])
        self.indptr = np.concatenate(([0], np.cumsum(lengths)))
        size = int(self.indptr[-1])
        self.indices = np.fromiter((i for v in vectors for i in v), np.int64, size)
        self.data = np.fromiter((x for v in vectors for x in v.values()), np.float32, size)
        self.nonempty = np.flatnonzero(lengths)  # reduceat misreads empty rows, so skip them
        self.dense = np.zeros(dimensions, dtype=np.float32)
        self.rows = len(vectors)

    def scores(self, query: dict[int, float]) -> np.ndarray:
        """float32 (rows,) cosine of every catalogue row with the normalised `query`."""
        columns = np.fromiter(query, np.int64, len(query))
        self.dense[columns] = np.fromiter(query.values(), np.float32, len(query))
        products = self.data * self.dense[self.indices]
        self.dense[columns] = 0.0
        result = np.zeros(self.rows, dtype=np.float32)
        if len(self.nonempty):
            result[self.nonempty] = np.add.reduceat(products, self.indptr[self.nonempty])
        return result


def target_rank(scores: np.ndarray, target: int) -> int:
    """1-based rank of row `target` sorting by score descending, the lower row first on ties."""
    score = scores[target]
    return int(np.count_nonzero(scores > score) + np.count_nonzero(scores[:target] == score)) + 1


def recall(ranks: np.ndarray) -> dict:
    figures = {f"recall_at_{k}": round(float(np.mean(ranks <= k)), 4) for k in KS}
    return figures | {"queries": int(len(ranks))}


def run_row(name: str, vectorise, dimensions: int, data: dict, splits=SPLITS) -> dict:
    """Vectorise the catalogue, then rank every query's target (queries/s includes vectorising)."""
    started = time.monotonic()
    catalogue = CsrCatalogue([vectorise(text) for text in data["catalogue"]], dimensions)
    index_seconds = time.monotonic() - started
    log(f"{name}: catalogue vectorised in {index_seconds:.1f} s ({len(catalogue.data):,} values)")
    wanted = np.any([data["masks"][split] for split in splits], axis=0)
    started = time.monotonic()
    ranks = np.zeros(len(wanted), dtype=np.int64)
    for position in np.flatnonzero(wanted):
        scores = catalogue.scores(vectorise(data["queries"][position]))
        ranks[position] = target_rank(scores, data["targets"][position])
    query_seconds = time.monotonic() - started
    log(f"{name}: {np.count_nonzero(wanted)} queries in {query_seconds:.1f} s")
    return {
        "recall": {split: recall(ranks[data["masks"][split]]) for split in splits},
        "queries_per_second": round(np.count_nonzero(wanted) / query_seconds, 1),
        "catalogue_seconds": round(index_seconds, 1),
        "values_per_product": round(len(catalogue.data) / catalogue.rows, 1),
    }


def row_baseline(data: dict, *, sublinear_tf: bool = False) -> dict:
    name = "baseline-sublinear" if sublinear_tf else "baseline"
    started = time.monotonic()
    model = CharTfidf(data["catalogue"], sublinear_tf=sublinear_tf)
    fit_seconds = round(time.monotonic() - started, 1)
    log(f"{name}: {len(model.columns):,} n-grams counted in {fit_seconds} s")
    return run_row(name, model.vectorise, len(model.columns), data) | {"fit_seconds": fit_seconds}


def row_prodsim(data: dict, idf: lexical.IdfTable, config: lexical.LexicalConfig, **kw) -> dict:
    return run_row(
        "prodsim", lambda text: lexical.vectorise(text, idf, config), lexical.DIMENSIONS, data, **kw
    )


def measure(args: argparse.Namespace, data: dict) -> dict:
    rows, ablation = {}, {}
    if "baseline" in args.rows:
        rows["baseline"] = row_baseline(data)
    if "baseline-sublinear" in args.rows:
        rows["baseline-sublinear"] = row_baseline(data, sublinear_tf=True)
    if "prodsim" in args.rows or args.ablation:
        started = time.monotonic()
        idf = lexical.fit_idf(data["catalogue"])
        fit_seconds = round(time.monotonic() - started, 1)
        log(f"prodsim: idf of {len(idf.frequencies):,} buckets fitted in {fit_seconds} s")
    if "prodsim" in args.rows:
        rows["prodsim"] = row_prodsim(data, idf, lexical.LexicalConfig()) | {
            "fit_seconds": fit_seconds
        }
    if args.ablation:
        for title, changes in ABLATION.items():
            config = dataclasses.replace(lexical.LexicalConfig(), **changes)
            log(f"ablation: {title}: {config}")
            row = row_prodsim(data, idf, config, splits=("dev",))
            ablation[title] = {"config": dataclasses.asdict(config), **row["recall"]["dev"]}
    return {"rows": rows, "ablation": ablation}


# --- report -------------------------------------------------------------------------------------
def results_table(rows: dict) -> str:
    header = ["row", *(f"{split} R@{k}" for split in SPLITS for k in KS), "queries/s"]
    lines = [
        [ROW_TITLES[name]]
        + [f"{row['recall'][split][f'recall_at_{k}']:.3f}" for split in SPLITS for k in KS]
        + [f"{row['queries_per_second']:.0f}"]
        for name, row in rows.items()
    ]
    return markdown_table(header, lines)


def ablation_table(ablation: dict) -> str:
    lines = [
        [title, *(f"{row[f'recall_at_{k}']:.3f}" for k in KS)] for title, row in ablation.items()
    ]
    return markdown_table(["configuration (dev half only)", "R@1", "R@5", "R@10"], lines)


def verdict(rows: dict) -> str:
    if "prodsim" not in rows:
        return "prodsim was not measured in this run."
    held_out, everything = rows["prodsim"]["recall"]["held-out"], rows["prodsim"]["recall"]["all"]
    met = all(everything[key] >= value for key, value in TARGET.items())
    return (
        f"Target R@1 ≥ {TARGET['recall_at_1']} and R@10 ≥ {TARGET['recall_at_10']}: "
        f"**{'met' if met else 'not met'}** over all queries (R@1 {everything['recall_at_1']:.3f}, "
        f"R@10 {everything['recall_at_10']:.3f}); on the held-out half alone R@1 "
        f"{held_out['recall_at_1']:.3f}, R@10 {held_out['recall_at_10']:.3f}."
    )


def section_markdown(figures: dict, counts: dict) -> str:
    rows = figures["rows"]
    parts = [
        "### Text matching: Walmart–Amazon as retrieval (`bench/text_matching.py`)",
        f"Catalogue: the {counts['catalogue']:,} products of `tableB.csv`; queries: the "
        f"{counts['queries']} matched `tableA.csv` products, split by a seeded shuffle (seed "
        f"{figures['seed']}) into a **dev** half ({counts['dev']}), the only queries "
        f"`LexicalConfig` was tuned on, and a **held-out** half ({counts['held-out']}) that no "
        "choice looked at. Text = title + brand + model number; IDF fitted on the catalogue only; "
        "exact cosine over every product (no index), ties rank the lower row first. queries/s "
        "counts vectorising the query and scoring all products, one query at a time.",
        results_table(rows),
        verdict(rows),
        "The issue quotes the baseline at R@1 0.912, R@10 0.992. The faithful baseline (sklearn "
        '`TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5))`, raw tf; checked rank for '
        "rank against scikit-learn 1.9.1) scores lower here; with `sublinear_tf=True` it lands "
        "near the quoted figures, so that row is shown too.",
    ]
    parts.append(
        "Timings (s, one process on this machine): "
        + "; ".join(
            f"{name}: fit {row['fit_seconds']}, vectorise the catalogue "
            f"{row['catalogue_seconds']} ({row['values_per_product']} non-zeros per product)"
            for name, row in rows.items()
        )
        + ". prodsim scores more slowly here because its vectors hold more non-zeros in a "
        "2^20 space; served, the ranking runs in PostgreSQL."
    )
    if figures["ablation"]:
        parts += [
            "How each tuned choice moved the dev half (one dev query = 0.0023):",
            ablation_table(figures["ablation"]),
        ]
    parts.append(
        "Tuned default: `LexicalConfig(ngram_weight=1.0, word_weight=0.6, "
        "model_number_weight=0.6, model_number_variants=True, sublinear_tf=True)`."
    )
    return "\n\n".join(parts)


def print_table(figures: dict) -> None:
    print(results_table(figures["rows"]))
    print(verdict(figures["rows"]))
    if figures["ablation"]:
        print(ablation_table(figures["ablation"]))


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if not all(
        (args.data / name).is_file() for name in ("tableA.csv", "tableB.csv", "matches.csv")
    ):
        sys.exit(ERROR_NO_DATA.format(path=args.data))
    machine = machine_info()
    data = load_data(args.data, args.seed)
    counts = {
        "catalogue": len(data["catalogue"]),
        "queries": len(data["queries"]),
        **{split: int(np.count_nonzero(mask)) for split, mask in data["masks"].items()},
    }
    figures = {"seed": args.seed, "counts": counts, **measure(args, data)}
    print_table(figures)
    print_json(SECTION, figures)
    if not args.no_doc:
        path = write_section(SECTION, section_markdown(figures, counts), machine=machine)
        log(f"wrote the {SECTION} section of {path}")
    return figures


if __name__ == "__main__":
    main()
