"""Two evaluation protocols, and the near-duplicate groups that keep them honest.

*Known products, new photos*: photos held out within labels that keep other photos in the
catalogue (what visual search and most similar lists face). *New products*: whole products or
variant groups held out (group-disjoint), split by the caller (`services.datasets`).

Shop photos come in bursts: consecutive shots of one shelf look alike, and a held-out photo whose
burst-mate stays in the gallery is found trivially. So photos are first grouped into
near-duplicate groups (connected components of "cosine ≥ NEAR_DUPLICATE_COSINE" within a label,
i.e. single linkage), and a group is held out whole, so no near-duplicate pair straddles queries
and gallery. Measured on grocery-packages (docs/BENCHMARKS.md, grocery section): random
held-out photos predicted Recall@1 0.91 for the frozen backbone whose real figure on the
dataset's separate test shots is 0.43; near-duplicate groups held out whole predicted 0.48-0.53.
"""

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from .label_runs import LabelRuns
from .neighbours import l2_normalise

KNOWN_PRODUCTS = "known_products"
NEW_PRODUCTS = "new_products"
PROTOCOLS = (KNOWN_PRODUCTS, NEW_PRODUCTS)
# Whose figures a protocol's table holds: the served model's; for a version refit after model
# selection, the selection run's (a lower bound: it trained on fewer products) or, for the
# known-products photos, a refit without them (the served recipe on photos it never saw; the
# served model then trained on them too).
SERVED_MODEL = "served model"
SELECTION_RUN = "selection run"
SCORED_REFIT = "refit without the query photos"
# Frozen ImageNet MobileNetV2 features: 99 % of grocery test photos stay below 0.85 to their
# closest same-product catalogue photo (median 0.78); shots of one burst are above 0.9. 0.8
# groups bursts while keeping photos of other visits apart (0.75 left too few queries, 0.85
# overstated Recall@1 by 0.3).
NEAR_DUPLICATE_COSINE = 0.8
# Early stopping embeds the validation gallery every epoch: at most this many training photos per
# label keep that cost flat for large catalogues (rank 1 needs a label's photos, not all of them).
VAL_GALLERY_PER_LABEL = 10
# ... and at most this many in all: with one label per product the per-label cap alone keeps the
# whole catalogue, re-embedded and ranked every epoch. 20k is far above both benchmarks (3,068 and
# 864 training photos: unaffected) and still ranks DEFAULT_BATCH_SIZE queries at a time within
# neighbours.RANKING_BUDGET_BYTES.
VAL_GALLERY_TOTAL = 20_000
LINK_BATCH = 2048  # rows of the similarity matrix at a time: 2048 x 50k float32 is 400 MB


def figures_source(evaluation: dict, protocol: str) -> str:
    """Whose figures a version's stored `protocol` table holds (`metrics["evaluation"]`).

    A version not refit holds the served model's everywhere. A refit version lists the
    protocols measured on a refit without their query photos in "served_protocols"; versions
    refit before that list existed have only the selection run's.
    """
    if not evaluation.get("refit_on_all"):
        return SERVED_MODEL
    return SCORED_REFIT if protocol in evaluation.get("served_protocols", ()) else SELECTION_RUN


def near_duplicate_groups(
    vectors: np.ndarray, labels: np.ndarray, *, min_cosine: float = NEAR_DUPLICATE_COSINE
) -> np.ndarray:
    """int64 (n,) group ids: images linked by a chain of same-label pairs with cosine ≥
    min_cosine share a group (vectors: float (n, d), any norm; labels: (n,)). Groups are
    numbered label by label (np.unique order), within a label by their first photo."""
    vectors = l2_normalise(np.asarray(vectors, dtype=np.float32))
    runs = LabelRuns.of(labels)
    rows, columns = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for label in np.flatnonzero(runs.counts > 1):  # a lone photo is a group with nothing to link
        row, column = _links(vectors[runs.members(label)], min_cosine)
        rows.append(row + runs.starts[label])
        columns.append(column + runs.starts[label])
    # One graph over the photos in label order (a scipy call per label cost 250 us: over 10 s at 40k
    # one-photo labels). Its components are numbered by their first photo, so label by label
    # and, within a label, by first photo: the ids a per-label call plus an offset gave.
    rows_all, columns_all = np.concatenate(rows), np.concatenate(columns)
    data = np.ones(len(rows_all), dtype=bool)
    graph = sparse.csr_matrix((data, (rows_all, columns_all)), shape=(len(runs.order),) * 2)
    groups = np.empty(len(runs.order), dtype=np.int64)
    groups[runs.order] = connected_components(graph, directed=False)[1]
    return groups


def _links(vectors: np.ndarray, min_cosine: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the "cosine ≥ min_cosine" pairs, built LINK_BATCH rows at a time, so a
    label with tens of thousands of photos (category labels) never holds its full similarity
    matrix."""
    rows, columns = [], []
    for start in range(0, len(vectors), LINK_BATCH):
        block = vectors[start : start + LINK_BATCH] @ vectors.T >= min_cosine
        row, column = np.nonzero(block)
        rows.append(row + start)
        columns.append(column)
    return np.concatenate(rows), np.concatenate(columns)


def known_products_holdout(
    labels: np.ndarray, groups: np.ndarray, *, shares: tuple[float, ...], seed: int
) -> np.ndarray:
    """int8 (n,): 0 = stays in training/gallery, k = held out into the k-th set (1, 2, ...).

    Per label, whole near-duplicate groups are held out, smallest first (a lone photo unlike
    the label's others is most like a shopper's new shot; ties in seeded random order), into
    set 1 until it holds shares[0] of the label's photos, then set 2, ... The label's largest
    group always stays, so every held-out photo has its label in the gallery.
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    rng = np.random.default_rng(seed)
    assigned = np.zeros(len(labels), dtype=np.int8)
    runs = LabelRuns.of(labels)
    # A label with one group keeps it, and shuffling one group draws no random number, so
    # skipping such labels (all of them with one photo per product) leaves every draw as it was.
    for label in np.flatnonzero(runs.distinct_per_label(groups) > 1):
        _hold_out_label(runs.members(label), groups, shares, rng, assigned)
    return assigned


def _hold_out_label(
    members: np.ndarray,
    groups: np.ndarray,
    shares: tuple[float, ...],
    rng: np.random.Generator,
    assigned: np.ndarray,
) -> None:
    """known_products_holdout for one label's photos (`members`), written into `assigned`."""
    ids, sizes = np.unique(groups[members], return_counts=True)
    order = np.lexsort((rng.permutation(len(ids)), sizes))  # smallest first, ties random
    keep = ids[np.argmax(sizes)]
    targets = np.cumsum(shares) * len(members)
    held, current = 0, 0
    for group in ids[order]:
        while current < len(targets) and held >= targets[current] - 1e-9:
            current += 1
        if current == len(targets):
            break
        if group == keep:
            continue
        in_group = members[groups[members] == group]
        assigned[in_group] = current + 1
        held += len(in_group)


def validation_gallery(
    labels: np.ndarray,
    most: int = VAL_GALLERY_PER_LABEL,
    *,
    total: int = VAL_GALLERY_TOTAL,
    query_labels: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Sorted indices of the training photos early stopping ranks the known-products validation
    photos among: at most `most` per label, spread evenly over each label's photos, and at most
    `total` in all: past that, whole labels in seeded random order, those in `query_labels`
    (the validation photos' labels, so that they keep their answers) first."""
    runs = LabelRuns.of(labels)
    taken = np.minimum(runs.counts, most)
    kept = np.arange(len(runs.ids))
    if taken.sum() > total:  # below the cap no random number is drawn: galleries stay as they were
        kept = _sampled_labels(runs, taken, total=total, query_labels=query_labels, seed=seed)
    # Labels of one size share their spread (the same linspace per label as before): a loop over
    # sizes, not over the up to one-per-product labels.
    chosen = []
    for count in np.unique(runs.counts[kept]):
        spread = np.linspace(0, count - 1, min(most, count)).round().astype(int)
        starts = runs.starts[kept[runs.counts[kept] == count]]
        chosen.append(runs.order[starts[:, None] + spread].reshape(-1))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=int)


def _sampled_labels(
    runs: LabelRuns,
    taken: np.ndarray,
    *,
    total: int,
    query_labels: np.ndarray | None,
    seed: int,
) -> np.ndarray:
    """Positions (in runs.ids) of the labels whose `taken` photos fit in `total`, drawn whole."""
    order = np.random.default_rng(seed).permutation(len(runs.ids))
    if query_labels is not None:
        wanted = np.isin(runs.ids, np.asarray(query_labels))
        order = order[np.argsort(~wanted[order], kind="stable")]
    return np.sort(order[np.cumsum(taken[order]) <= total])
