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
    min_cosine share a group (vectors: float (n, d), any norm; labels: (n,))."""
    vectors = l2_normalise(np.asarray(vectors, dtype=np.float32))
    labels = np.asarray(labels)
    groups = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count, local = connected_components(_links(vectors[members], min_cosine), directed=False)
        groups[members] = local + offset
        offset += count
    return groups


def _links(vectors: np.ndarray, min_cosine: float) -> sparse.csr_matrix:
    """The sparse "cosine ≥ min_cosine" graph, built LINK_BATCH rows at a time, so a label
    with tens of thousands of photos (category labels) never holds its full similarity matrix."""
    rows, columns = [], []
    for start in range(0, len(vectors), LINK_BATCH):
        block = vectors[start : start + LINK_BATCH] @ vectors.T >= min_cosine
        row, column = np.nonzero(block)
        rows.append(row + start)
        columns.append(column)
    rows_all, columns_all = np.concatenate(rows), np.concatenate(columns)
    data = np.ones(len(rows_all), dtype=bool)
    return sparse.csr_matrix((data, (rows_all, columns_all)), shape=(len(vectors),) * 2)


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
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
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
    return assigned


def validation_gallery(labels: np.ndarray, most: int = VAL_GALLERY_PER_LABEL) -> np.ndarray:
    """Sorted indices of the training photos early stopping ranks the known-products validation
    photos among: at most `most` per label, spread evenly over each label's photos."""
    chosen = [
        members[np.linspace(0, len(members) - 1, min(most, len(members))).round().astype(int)]
        for members in (np.flatnonzero(labels == label) for label in np.unique(labels))
    ]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=int)
