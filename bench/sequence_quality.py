"""Quality target: next purchases on a real shop's orders (online-retail), the sequence model.

Protocol (/work/shared/data/README.md, "online-retail"): learn from orders up to 2011-06-30,
test on 2011-07/08 (on another file of the same kind: its last two months, see
bench/_online_retail.py); cancellations, quantities ≤ 0 and fee codes dropped; co-purchase counts
skip orders over 100 distinct products. For each customer with orders in both periods, Recall@20 of
the distinct products they bought in the test period (mean over customers); also NDCG@20
(binary gains) and next-order HR@10 (share of customers with at least one product of their
first test order in their top 10). Cold start: the (customer, product) test purchases of
products with under 5 training lines, and the share of them found in the top 20.

Tuning never sees the test period: the models train on orders before the month before it
(2011-06-01) and stop early on that month (the validation month: the same Recall@20 for customers
seen before and in it); the hybrid weights and the repeat rule are tuned on it too. For the test,
the same models read each customer's history up to the test period (no retraining: served models
read the latest events at request time), and co-occurrence and popularity are refit on the
whole learning period.

Content vectors (the item side of the sequence model, and the content signal): by default what
prodsim feeds a shop without photos, the lexical index's 256-slot dense sketch of each product's
hashed TF-IDF (similarity.ml.lexical, fitted as `lexical_index_rebuild` fits it, the Description
as the title); `--content svd` gives TF-IDF of the Description (words and 1-2 word n-grams)
reduced by truncated SVD to 64 dimensions, the bench's content before the sketch. The CSV is read
directly (csv + NumPy), not through the Django imports.

    .venv/bin/python bench/sequence_quality.py             # both architectures, ~15-25 min
    .venv/bin/python bench/sequence_quality.py --smoke     # seconds: tiny slice, no doc
"""

import argparse
import os
import time
import zlib
from dataclasses import replace
from pathlib import Path

import _online_retail as online_retail
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

from behaviour.ml import cooccurrence, popularity, scorers  # noqa: E402
from behaviour.ml.sequence import hybrid  # noqa: E402
from behaviour.ml.sequence.config import SequenceConfig  # noqa: E402
from behaviour.ml.sequence.data import PURCHASE, SequenceData, time_split  # noqa: E402
from behaviour.ml.sequence.metrics import ndcg_at_k, recall_at_k, top_k  # noqa: E402
from behaviour.ml.sequence.peers import Peers  # noqa: E402

SECTION = "sequence-quality"
VALID_MONTHS = 1  # the validation month: the one before the test period
K, HR_K = 20, 10
COLD_LINES = 5  # products with fewer training lines are "cold"
NEIGHBOURS = 100  # co-purchase partners kept per product for item-kNN
CONTENT_DIM = 64
CONTENT_KINDS = {
    "sketch": "the titles' lexical sketches (256 slots), as prodsim trains a shop without photos",
    "svd": f"TF-IDF of the titles reduced by truncated SVD to {CONTENT_DIM} dimensions",
}
# Trending as served: settings.PRODSIM_TRENDING_HALF_LIFE_DAYS's default; the served repeats are
# weighted by it (`signals.selling_factor`).
TRENDING_HALF_LIFE_DAYS = 7.0
PROTOCOL = {"popular": 0.078, "own repeats, then popular": 0.243, "item-kNN + repeats": 0.263}
TARGET = 0.30  # and ≥ 1.15 × item-kNN


def customer_number(customer: str) -> int:
    """The dev file's ids are numbers; another file's may not be (the smoke slice's rule)."""
    return int(customer) if customer.isdigit() else zlib.crc32(customer.encode())


class Shop:
    """The protocol's order lines as arrays: one row per line, in file (= time) order."""

    def __init__(self, path: Path, customer_share: int = 1) -> None:
        """customer_share N > 1 keeps the orders of one customer in N (and no guest orders)."""
        orders, codes, titles, customers, dates = [], [], {}, [], []
        for row in online_retail.order_lines(path):
            code = row["StockCode"]
            customer = row["CustomerID"].split(".")[0]
            if customer_share > 1 and (not customer or customer_number(customer) % customer_share):
                continue
            orders.append(row["InvoiceNo"])
            codes.append(code)
            customers.append(customer)
            dates.append(row["InvoiceDate"].replace(" ", "T"))
            if row["Description"].strip():
                titles[code] = row["Description"].strip()
        self.skus, self.items = np.unique(np.array(codes), return_inverse=True)
        self.titles = [titles.get(sku, "") for sku in self.skus]
        _, self.orders = np.unique(np.array(orders), return_inverse=True)
        customers = np.array(customers)
        guest = customers == ""
        # A guest order is its own visitor: it still teaches what is bought together.
        keys = np.where(guest, np.char.add("guest-", np.array(orders)), customers)
        _, self.visitors = np.unique(keys, return_inverse=True)
        self.is_customer = ~guest
        self.times = np.array(dates, dtype="datetime64[s]").astype(np.int64)
        self.n_items = len(self.skus)
        self.last_order = self.times.max().astype("datetime64[s]").item()

    def sequences(self, until: int) -> SequenceData:
        """Every visitor's order lines before `until` as purchase events."""
        before = self.times < until
        kinds = np.full(int(before.sum()), PURCHASE, dtype=np.int8)
        return SequenceData.from_arrays(
            self.visitors[before], self.items[before], kinds, self.times[before], self.n_items
        )

    def content(self, kind: str = "svd") -> np.ndarray:
        """(n_items, d) L2-normalised text vectors of the titles: "sketch", what prodsim feeds
        its sequence model for a shop without photos (the lexical index's dense sketch, built
        as `lexical_index_rebuild` builds it, the title as the only field), or "svd", TF-IDF
        reduced to CONTENT_DIM by truncated SVD."""
        if kind == "sketch":
            return self._sketches()
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        matrix = tfidf.fit_transform(self.titles)
        dim = min(CONTENT_DIM, matrix.shape[1] - 1)
        vectors = TruncatedSVD(dim, random_state=0).fit_transform(matrix).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.where(norms > 0, vectors / np.maximum(norms, 1e-12), 0.0).astype(np.float32)

    def _sketches(self) -> np.ndarray:
        from scipy import sparse

        from similarity.ml import lexical
        from similarity.ml.lexical.sketch import sketch_rows
        from similarity.ml.lexical.tuning import tune

        empty = [""] * self.n_items
        columns = {name: list(self.titles) if name == "title" else empty for name in lexical.FIELDS}
        config = tune(columns).config
        batches = lexical.catalogue_counts(columns, config)
        idf = lexical.idf_of_batches(batches)
        vectors = [
            lexical.combine(
                lexical.field_vectors(counts, idf, config), config.fields, catalogue=True
            )
            for counts in batches
        ]
        return sketch_rows(sparse.vstack(vectors).tocsr())


class Period:
    """What the models may know at a cut (history) and what they are asked for (targets)."""

    def __init__(self, shop: Shop, cut: int, until: int) -> None:
        self.cut, self.until = cut, until
        self.history = shop.sequences(cut)
        before = shop.times < cut
        co = cooccurrence.fit(
            shop.orders[before], shop.items[before], shop.times[before], shop.n_items, cut
        )
        top, top_scores = scorers.top_k(
            co.rows, co.cols, scorers.score(co, "raw"), shop.n_items, NEIGHBOURS
        )
        self.neighbours = hybrid.Neighbours.from_top_k(top, top_scores)
        self.popularity = popularity.popularity(
            shop.orders[before], shop.items[before], shop.times[before], shop.n_items, cut
        )
        self.selling = popularity.popularity(
            shop.orders[before],
            shop.items[before],
            shop.times[before],
            shop.n_items,
            cut,
            half_life_days=TRENDING_HALF_LIFE_DAYS,
        )
        self.lines = np.bincount(shop.items[before], minlength=shop.n_items)
        self.peers = Peers.fit(self.history)
        later = (shop.times >= cut) & (shop.times < until) & shop.is_customer
        self.customers, self.targets, self.first_orders = [], [], []
        known = set(np.unique(shop.visitors[before & shop.is_customer]).tolist())
        for visitor in np.unique(shop.visitors[later]):
            if int(visitor) not in known:
                continue
            mine = later & (shop.visitors == visitor)
            self.customers.append(int(visitor))
            self.targets.append(np.unique(shop.items[mine]))
            first = shop.orders[mine][np.argmin(shop.times[mine])]
            self.first_orders.append(np.unique(shop.items[mine & (shop.orders == first)]))
        index = {int(v): i for i, v in enumerate(self.history.visitors)}
        self.histories = [self.history.sequence(index[c])[:2] for c in self.customers]

    def measure(self, lists: np.ndarray) -> dict:
        """Recall@20, NDCG@20, next-order HR@10 and the cold-start share of (V, 20) lists."""
        recall = recall_at_k(lists, self.targets).mean()
        ndcg = ndcg_at_k(lists, self.targets).mean()
        hr = np.mean(
            [np.isin(f, row[:HR_K]).any() for row, f in zip(lists, self.first_orders, strict=True)]
        )
        cold_hits = cold_all = 0
        for row, targets in zip(lists, self.targets, strict=True):
            cold = targets[self.lines[targets] < COLD_LINES]
            cold_all += len(cold)
            cold_hits += int(np.isin(cold, row).sum())
        return {
            "recall": round(float(recall), 4),
            "ndcg": round(float(ndcg), 4),
            "hr10": round(float(hr), 4),
            "cold": round(cold_hits / cold_all, 4) if cold_all else None,
            "cold_targets": cold_all,
        }


def ranked_lists(period: Period, keys_of) -> np.ndarray:
    """(V, K) lists: items by the keys keys_of(items, kinds) returns, most significant first."""
    rows = []
    ids = np.arange(len(period.popularity))
    for items, kinds in period.histories:
        keys = keys_of(items, kinds)
        order = np.lexsort((ids, -period.popularity, *[-k for k in reversed(keys)]))
        rows.append(order[:K])
    return np.array(rows)


def baselines(period: Period) -> dict[str, np.ndarray]:
    """The protocol's three baselines, as (V, K) lists."""
    n = len(period.popularity)

    def own(items, kinds):
        return [np.bincount(items, minlength=n)]

    def own_then_knn(items, kinds):
        signals = hybrid.visitor_signals(
            items=items, kinds=kinds, n_items=n, neighbours=period.neighbours
        )
        return [np.bincount(items, minlength=n), signals.get("cooccurrence", np.zeros(n))]

    return {
        "popular": ranked_lists(period, lambda items, kinds: []),
        "own repeats, then popular": ranked_lists(period, own),
        "item-kNN + repeats": ranked_lists(period, own_then_knn),
    }


def train_model(shop: Shop, content: np.ndarray, config: SequenceConfig, month: Period) -> tuple:
    """Train on orders before the validation month, stop early on it: (scorer, TrainResult,
    seconds)."""
    from behaviour.ml.sequence.serving import SequenceScorer
    from behaviour.ml.sequence.train import train_sequence_model

    train, valid = time_split(shop.sequences(month.until), month.cut)
    started = time.monotonic()

    def progress(epoch: int, metrics: dict) -> None:
        log(
            f"{config.architecture} epoch {epoch}: loss {metrics['loss']:.3f}, validation "
            f"Recall@20 {metrics['recall']:.4f} ({metrics['seconds']:.0f} s)"
        )

    result = train_sequence_model(train, valid, content, config, on_epoch=progress)
    seconds = time.monotonic() - started
    return SequenceScorer(result.weights, config), result, seconds


def signals_of(period: Period, scorer, content: np.ndarray | None) -> list[dict]:
    """Each customer's hybrid signals at the period's cut (scorer None: no sequence signal)."""
    out = []
    for items, kinds in period.histories:
        sequence = None if scorer is None else scorer.score(items, kinds)
        out.append(
            hybrid.visitor_signals(
                items=items,
                kinds=kinds,
                n_items=len(period.popularity),
                sequence_scores=sequence,
                neighbours=period.neighbours,
                content=content,
                popularity=period.popularity,
                peer_scores=period.peers.scores(items, kinds),
                selling=period.selling,
            )
        )
    return out


def fused_lists(period: Period, signals: list[dict], weights: hybrid.HybridWeights) -> np.ndarray:
    rows = []
    for (items, kinds), visitor in zip(period.histories, signals, strict=True):
        mask = hybrid.allowed(len(period.popularity), items, kinds, weights)
        rows.append(top_k(hybrid.fuse(visitor, weights)[None, :], K, mask[None, :])[0])
    return np.array(rows)


def tuned(valid: Period, signals: list[dict]) -> hybrid.HybridWeights:
    """Hybrid weights tuned on the validation month (never the test period)."""
    cases = []
    for (items, kinds), visitor, targets in zip(
        valid.histories, signals, valid.targets, strict=True
    ):
        bought = ~hybrid.allowed(
            len(valid.popularity), items, kinds, hybrid.HybridWeights(allow_repeats=False)
        )
        cases.append((visitor, bought, targets))
    return hybrid.tune_weights(cases, K)


def model_lists(period: Period, scorer) -> np.ndarray:
    """(V, K) lists of the sequence model alone (repeats allowed, as it was trained)."""
    vectors = scorer.item_vectors()
    scores = np.stack([scorer.score(items, kinds, vectors) for items, kinds in period.histories])
    return top_k(scores, K)


def hybrid_rows(valid: Period, test: Period, scorer, content, label: str) -> tuple[dict, dict]:
    """Tune on the validation month, measure on the test months: rows for the tuned rule and
    the other rule."""
    weights = tuned(valid, signals_of(valid, scorer, content))
    signals = signals_of(test, scorer, content)
    other = replace(weights, allow_repeats=not weights.allow_repeats)
    rule = "repeats allowed" if weights.allow_repeats else "bought excluded"
    other_rule = "repeats allowed" if other.allow_repeats else "bought excluded"
    rows = {
        f"hybrid{label} ({rule}, tuned)": test.measure(fused_lists(test, signals, weights)),
        f"hybrid{label} ({other_rule})": test.measure(fused_lists(test, signals, other)),
    }
    rows[f"hybrid{label} ({rule}, tuned)"]["valid_recall"] = round(
        valid.measure(fused_lists(valid, signals_of(valid, scorer, content), weights))["recall"], 4
    )
    return rows, weights.to_dict()


def run(args: argparse.Namespace) -> dict:
    shop = Shop(args.file, customer_share=args.customer_share)
    split = online_retail.Split.of(shop.last_order, args)
    valid_from = split.validation_from(VALID_MONTHS)
    log(f"{len(shop.items)} order lines, {shop.n_items} products; {split}")
    content = shop.content(args.content)
    valid = Period(shop, split.seconds(valid_from), split.seconds(split.test_from))
    test = Period(shop, split.seconds(split.test_from), split.seconds(split.test_until))
    rows = {name: test.measure(lists) for name, lists in baselines(test).items()}
    found, weights = hybrid_rows(valid, test, None, content, " without sequence model")
    rows.update(found)
    figures = {"weights": {"without sequence model": weights}, "training": {}}
    for architecture in args.architectures.split(","):
        config = SequenceConfig(architecture=architecture, **args.model)
        scorer, result, seconds = train_model(shop, content, config, valid)
        rows[f"{architecture} alone"] = test.measure(model_lists(test, scorer))
        found, weights = hybrid_rows(valid, test, scorer, content, f" with {architecture}")
        rows.update(found)
        figures["weights"][architecture] = weights
        figures["training"][architecture] = {
            "seconds": round(seconds),
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch,
            "valid_recall": round(result.best_recall, 4),
            "stopped": result.stopped,
            "config": config.to_dict(),
        }
    figures.update(rows=rows, customers=len(test.customers), valid_customers=len(valid.customers))
    figures["test_months"] = split.months(split.test_from, split.test_until)
    figures["valid_month"] = split.months(valid_from, split.test_from)
    figures["content"] = args.content
    figures["lines"], figures["products"] = len(shop.items), shop.n_items
    return figures


def report(figures: dict, machine: dict) -> str:
    rows, knn = figures["rows"], figures["rows"]["item-kNN + repeats"]["recall"]
    month = figures["valid_month"]
    on_protocol = figures["test_months"] == online_retail.PROTOCOL_TEST_MONTHS
    protocol = PROTOCOL if on_protocol else {}  # the README's figures are for its months only
    popular_cold = rows["popular"]["cold"] or 0.0
    header = [
        "method",
        "Recall@20",
        "NDCG@20",
        "next-order HR@10",
        "cold-start share found",
        "protocol figure",
    ]
    table = [
        [
            name,
            _cell(r["recall"]),
            _cell(r["ndcg"]),
            _cell(r["hr10"]),
            _cell(r["cold"]),
            protocol.get(name, ""),
        ]
        for name, r in rows.items()
    ]
    tuned_rows = {n: r for n, r in rows.items() if "tuned" in n and "without" not in n}
    chosen = max(tuned_rows, key=lambda n: tuned_rows[n]["valid_recall"], default=None)
    lines = [
        f"{figures['customers']} customers with orders before and in {figures['test_months']} "
        f"({figures['valid_customers']} in the {month} validation month); {figures['lines']} order "
        f"lines, {figures['products']} products; cold start: "
        f"{rows['popular']['cold_targets']} test purchases of products with under {COLD_LINES} "
        f"training lines. Content vectors: {CONTENT_KINDS[figures.get('content', 'svd')]}.",
        markdown_table(header, table),
    ]
    if chosen:
        best = rows[chosen]["recall"]
        verdict = "met" if best >= max(TARGET, 1.15 * knn) else "missed"
        lines.append(
            f"Chosen on {month} (validation Recall@20 {rows[chosen]['valid_recall']:.4f}): "
            f"**{chosen}**: test Recall@20 {best:.4f} = {best / knn:.2f} × item-kNN + repeats "
            f"({knn:.4f}); target ≥ 1.15 × and ≥ {TARGET}: **{verdict}**. Cold-start share "
            f"{_cell(rows[chosen]['cold'])} against popularity {_cell(popular_cold)}."
        )
    for architecture, t in figures["training"].items():
        lines.append(
            f"Training {architecture}: {t['seconds']} s for {t['epochs_run']} epochs on the "
            f"orders before {month} (best epoch {t['best_epoch']}, {month} Recall@20 "
            f"{t['valid_recall']:.4f}, stopped: {t['stopped']}), load average at the end "
            f"{os.getloadavg()[0]:.1f}; config `{t['config']}`; hybrid weights "
            f"`{figures['weights'][architecture]}`."
        )
    return "\n\n".join(lines)


def _cell(value) -> str:
    return "–" if value is None else f"{value:.4f}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    online_retail.add_arguments(parser)
    parser.add_argument("--architectures", default="gru,sasrec")
    # The training job's defaults (SequenceConfig), so the figures are what a shop's job trains.
    defaults = SequenceConfig()
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--dim", type=int, default=defaults.dim)
    parser.add_argument("--max-len", type=int, default=defaults.max_len)
    parser.add_argument("--horizon", type=int, default=defaults.horizon)
    parser.add_argument("--negatives", type=int, default=defaults.negatives)
    parser.add_argument(
        "--content",
        choices=tuple(CONTENT_KINDS),
        default="sketch",
        help="the titles' vectors: the lexical sketch prodsim trains on (default), or TF-IDF+SVD",
    )
    parser.add_argument("--smoke", action="store_true", help="1 customer in 20, 1 epoch, tiny")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    args.customer_share = 20 if args.smoke else 1
    args.model = {
        "epochs": 1 if args.smoke else args.epochs,
        "dim": 16 if args.smoke else args.dim,
        "max_len": 20 if args.smoke else args.max_len,
        "horizon": args.horizon,
        "negatives": args.negatives,
    }
    return args


def main() -> None:
    args = parse_args()
    args.file = online_retail.data_file(args.data)
    if args.file is None:
        log(f"online-retail not found at {args.data}; skipped (see /work/shared/data/README.md)")
        return
    machine = machine_info()  # the load as the run starts; the report adds the load at its end
    figures = run(args)
    markdown = report(figures, machine)
    print(markdown)
    print_json(SECTION, figures)
    if not args.no_doc:
        write_section(
            SECTION,
            "## Sequence quality: next purchases on online-retail\n\n" + markdown,
            machine=machine,
        )


if __name__ == "__main__":
    main()
