"""Catalogues with one label per product: the per-label work stays linear and bounded, and
smaller catalogues get exactly what the per-label loops gave (docs/BENCHMARKS.md stays valid)."""

import tracemalloc

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from similarity.ml.evaluation import neighbours
from similarity.ml.evaluation.protocols import (
    VAL_GALLERY_PER_LABEL,
    VAL_GALLERY_TOTAL,
    known_products_holdout,
    near_duplicate_groups,
    validation_gallery,
)
from similarity.ml.training import pk_batches


def mixed_labels(seed: int) -> np.ndarray:
    """1 to 12 photos per label, labels interleaved, with gaps in the label values."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.repeat(np.arange(60) * 7 - 30, rng.integers(1, 13, 60)))


def burst_vectors(labels: np.ndarray, seed: int) -> np.ndarray:
    """Noisy copies of a few bases per label, so some same-label pairs are near duplicates."""
    rng = np.random.default_rng(seed)
    _, inverse = np.unique(labels, return_inverse=True)
    bases = rng.standard_normal((inverse.max() + 1, 3, 8))[inverse, rng.integers(0, 3, len(labels))]
    noise = rng.choice([0.05, 0.5, 1.0], len(labels))[:, None]
    return (bases + noise * rng.standard_normal((len(labels), 8))).astype(np.float32)


def reference_groups(vectors, labels, min_cosine):
    """The per-label definition: components of each label's cosine graph, label by label."""
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    groups, offset = np.empty(len(labels), dtype=np.int64), 0
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        similar = vectors[members] @ vectors[members].T >= min_cosine
        count, local = connected_components(similar, directed=False)
        groups[members], offset = local + offset, offset + count
    return groups


def reference_holdout(labels, groups, shares, seed):
    """The per-label hold-out, drawing a permutation for every label as it always did."""
    rng, assigned = np.random.default_rng(seed), np.zeros(len(labels), dtype=np.int8)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        ids, sizes = np.unique(groups[members], return_counts=True)
        order = np.lexsort((rng.permutation(len(ids)), sizes))
        keep, targets = ids[np.argmax(sizes)], np.cumsum(shares) * len(members)
        held, current = 0, 0
        for group in ids[order]:
            while current < len(targets) and held >= targets[current] - 1e-9:
                current += 1
            if current == len(targets):
                break
            if group != keep:
                in_group = members[groups[members] == group]
                assigned[in_group], held = current + 1, held + len(in_group)
    return assigned


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_near_duplicate_groups_match_the_per_label_components(seed):
    labels = mixed_labels(seed)
    vectors = burst_vectors(labels, seed)
    for min_cosine in (0.5, 0.8, 0.95):
        groups = near_duplicate_groups(vectors, labels, min_cosine=min_cosine)
        assert groups.tolist() == reference_groups(vectors, labels, min_cosine).tolist()


@pytest.mark.parametrize("seed", [0, 3])
def test_known_products_holdout_draws_and_holds_out_as_the_per_label_loop(seed):
    labels = mixed_labels(seed)
    groups = near_duplicate_groups(burst_vectors(labels, seed), labels)
    for shares in [(0.2, 0.1), (0.5, 0.4)]:
        assigned = known_products_holdout(labels, groups, shares=shares, seed=seed)
        assert assigned.tolist() == reference_holdout(labels, groups, shares, seed).tolist()


def test_pk_batches_draw_the_same_batches_as_a_dict_of_labels():
    labels = mixed_labels(4).astype(str)
    rng = np.random.default_rng(9)
    by_label = {label: np.flatnonzero(labels == label) for label in np.unique(labels)}
    batches = pk_batches(labels, labels_per_batch=5, images_per_label=4, seed=9)
    for _ in range(10):
        chosen = rng.choice(np.array(list(by_label)), size=5, replace=False)
        draws = [rng.choice(by_label[x], size=4, replace=len(by_label[x]) < 4) for x in chosen]
        assert next(batches).tolist() == np.concatenate(draws).tolist()


def test_the_validation_gallery_below_its_total_is_every_labels_spread():
    labels = mixed_labels(5)
    expected = [
        members[np.linspace(0, len(members) - 1, min(3, len(members))).round().astype(int)]
        for members in (np.flatnonzero(labels == label) for label in np.unique(labels))
    ]
    gallery = validation_gallery(labels, most=3)
    assert gallery.tolist() == np.sort(np.concatenate(expected)).tolist()


def test_the_validation_gallery_of_one_label_per_product_stays_within_its_total():
    labels = np.random.default_rng(0).permutation(30_000)  # 30k products, one photo each

    gallery = validation_gallery(labels)

    assert VAL_GALLERY_TOTAL - VAL_GALLERY_PER_LABEL < len(gallery) <= VAL_GALLERY_TOTAL
    assert np.array_equal(gallery, validation_gallery(labels))  # seeded: the same every epoch


def test_a_capped_validation_gallery_takes_whole_labels_the_queries_labels_first():
    labels = np.repeat(np.arange(300), 4)  # 300 labels of 4 photos
    queries = np.array([5, 17, 299])

    gallery = validation_gallery(labels, most=2, total=100, query_labels=queries, seed=3)

    kept, counts = np.unique(labels[gallery], return_counts=True)
    assert len(gallery) == 100 and (counts == 2).all()  # 50 labels, each with its 2 photos
    assert set(queries) <= set(kept.tolist())


def test_a_large_gallery_is_ranked_in_batches_within_the_memory_budget():
    assert neighbours.query_batch_size(20_000) == neighbours.DEFAULT_BATCH_SIZE
    rows = neighbours.query_batch_size(100_000)
    assert 1 <= rows < neighbours.DEFAULT_BATCH_SIZE
    assert rows * 100_000 * neighbours.BYTES_PER_PAIR <= neighbours.RANKING_BUDGET_BYTES
    assert neighbours.query_batch_size(10**12) == 1


def test_ranking_a_large_gallery_peaks_within_the_budget(monkeypatch):
    gallery = np.random.default_rng(0).standard_normal((40_000, 4))
    expected = neighbours.nearest_neighbours(gallery[:200], gallery, exclude_self=True)
    # A small budget stands in for a catalogue too large to rank 1024 queries at once in a test.
    monkeypatch.setattr(neighbours, "RANKING_BUDGET_BYTES", 4 * 2**20, raising=False)
    tracemalloc.start()
    try:
        found = neighbours.nearest_neighbours(gallery[:200], gallery, exclude_self=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20  # vectors 2.6 MB, a batch 4 MiB; 200 queries at once: ~150 MB
    assert np.array_equal(found, expected)
