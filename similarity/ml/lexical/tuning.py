"""Fit a catalogue's field weights without labels: its own products must find themselves.

Pseudo-queries (`corruption.pseudo_query`) are drawn from a sample of the catalogue; each must
retrieve the product it came from among the sampled catalogue. Coordinate ascent over a small
grid of each field's weight (the title is the unit) keeps the weights with the best mean
reciprocal rank. Matched pairs a shop uploads can replace the pseudo-queries.

A field that (almost) no product fills cannot be tuned and keeps its default weight: a query
may still send it, and it then meets the words of the product's other fields.
"""

import random
from dataclasses import asdict

import numpy as np

from .config import FieldWeights, LexicalConfig, TuningResult
from .corruption import field_share, pseudo_queries, targets_in_sample
from .fields import Columns, combine, field_counts, field_vectors, fit_catalogue_idf

MIN_PRODUCTS = 200  # below this a sample of pseudo-queries is too noisy to move any weight
CATALOGUE_SAMPLE = 20_000  # products the pseudo-queries search among
MIN_FIELD_SHARE = 0.05  # a field filled in fewer products than this keeps its default weight
GRID = {
    "description": (0.0, 0.15, 0.3, 0.5, 0.7, 1.0),
    "model": (0.3, 0.6, 1.0, 1.5),
    "brand": (0.25, 0.5, 1.0),
    "category": (0.0, 0.15, 0.3, 0.6),
}
ROUNDS = 2  # a second pass lets a weight move after the others did; a third never changed one
SEED = 19


def tune(
    columns: Columns,
    *,
    base: LexicalConfig | None = None,
    pairs: tuple[Columns, np.ndarray] | None = None,
    seed: int = SEED,
) -> TuningResult:
    """Field weights for the catalogue in `columns` (field -> one text per product).

    With `pairs` (query columns, the catalogue row each query matches) the shop's own matched
    records replace the pseudo-queries. Deterministic for a given `seed`.
    """
    products = len(next(iter(columns.values()), []))
    share = field_share(columns, products)
    base = _unused_prose_off(base or LexicalConfig(), share)
    if products < MIN_PRODUCTS and pairs is None:
        note = f"{products} products: fewer than {MIN_PRODUCTS}, the default weights apply"
        return TuningResult(base, "default", note, products, field_share=share)
    rng = random.Random(seed)
    rows = set(rng.sample(range(products), min(products, CATALOGUE_SAMPLE)))
    rows = sorted(rows | ({int(t) for t in pairs[1]} if pairs is not None else set()))
    catalogue = {name: [texts[i] for i in rows] for name, texts in columns.items()}
    if pairs is None:
        catalogue, queries, targets = pseudo_queries(catalogue, share, rng)
        method = "pseudo-queries"
    else:
        queries, targets = pairs[0], targets_in_sample(pairs[1], rows)
        method = "pairs"
    trial = _Trial(catalogue, queries, targets, base)
    tunable = [name for name in GRID if share.get(name, 0.0) >= MIN_FIELD_SHARE]
    weights, best, trials = _ascend(trial, base.fields, tunable)
    note = f"tuned {', '.join(tunable) or 'nothing'} on {len(targets)} {method}"
    return TuningResult(
        LexicalConfig(**{**asdict(base), "fields": weights}),
        method,
        note,
        products,
        len(targets),
        trials[0]["mrr"],
        best,
        share,
        trials,
    )


def _unused_prose_off(base: LexicalConfig, share: dict[str, float]) -> LexicalConfig:
    """A catalogue (almost) without descriptions gives them no weight: a query's description is
    prose, whose words would only meet titles by chance. Brand and model number keep theirs:
    they are names, which titles repeat."""
    if share.get("description", 0.0) >= MIN_FIELD_SHARE:
        return base
    return base.with_fields(description=0.0)


class _Trial:
    """Field vectors counted once; each weighting only recombines and scores them."""

    def __init__(self, catalogue: Columns, queries: Columns, targets: np.ndarray, base):
        counts = field_counts(catalogue, base)
        idf = fit_catalogue_idf(counts)
        self.catalogue = field_vectors(counts, idf, base)
        self.queries = field_vectors(field_counts(queries, base), idf, base)
        self.targets = targets

    def mrr(self, weights: FieldWeights) -> float:
        scores = (
            combine(self.queries, weights) @ combine(self.catalogue, weights, catalogue=True).T
        ).toarray()
        found = self.targets >= 0
        rows = np.flatnonzero(found)
        own = scores[rows, self.targets[found]]
        # Ties count against the product: an identical twin does not find it first.
        ranks = np.count_nonzero(scores[rows] >= own[:, None], axis=1)
        reciprocal = np.zeros(len(self.targets))
        reciprocal[rows] = 1.0 / np.maximum(ranks, 1)
        return round(float(reciprocal.mean()), 4)


def _ascend(trial: _Trial, start: FieldWeights, tunable: list[str]):
    weights = start
    best = trial.mrr(weights)
    trials = [{"weights": asdict(weights), "mrr": best}]
    for _ in range(ROUNDS):
        moved = False
        for name in tunable:
            for value in GRID[name]:
                if value == getattr(weights, name):
                    continue
                candidate = FieldWeights(**{**asdict(weights), name: value})
                score = trial.mrr(candidate)
                trials.append({"weights": asdict(candidate), "mrr": score})
                if score > best:
                    weights, best, moved = candidate, score, True
        if not moved:
            break
    return weights, best, trials
