"""The sequence model version that serves: the active one (or an A/B test's candidate), its
NumPy weights for the visitor vector loaded once per process, and where its item vectors are:
in pgvector (stored: searched through its HNSW index) or, not stored yet, its vectors file."""

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from behaviour.ml.sequence import artifacts
from behaviour.ml.sequence.artifacts import UNREADABLE
from behaviour.ml.sequence.hybrid import SIGNALS, HybridWeights
from behaviour.ml.sequence.peers import PEERS_BUILT_AT, PEERS_FILE, Peers
from behaviour.ml.sequence.serving import SequenceScorer
from similarity import cache as similar_cache
from similarity.vector_store import ItemVectorSet

from ...models import SequenceModelVersion
from ...services.sequence.vectors import item_vector_set


@dataclass(frozen=True)
class ServingModel:
    version_id: int
    scorer: SequenceScorer
    product_ids: np.ndarray  # (n,) int64: item index i is product_ids[i]
    position: dict[int, int]  # product id → item index
    weights: dict[str, float] | None  # the version's tuned fusion weights, if it has them
    stored: ItemVectorSet | None  # its item vectors in pgvector; None: not stored yet
    vectors: np.ndarray | None = None  # (n, dim) float32 from the file, only when not stored
    peers: Peers | None = None  # the shoppers' profiles saved with it (None: trained without)


logger = logging.getLogger(__name__)

MODELS_KEPT = 2  # the active version and an A/B test's candidate
SERVING_FIELDS = ("pk", "artifact_path", "vectors_path", "vectors_stored_at", "metrics")
_lock = threading.Lock()
# (version, stored, peers built at) → model, oldest first
_loaded: dict[tuple[int, bool, str | None], ServingModel] = {}
# (version, serving generation, when) of a version whose files could not be read. The mark holds
# while the generation stays and for BROKEN_RETRY_SECONDS: a lost file is not retried (and
# logged) on every request, yet a passing cause (EMFILE, a volume mounted late) heals without a
# restart, and any serving change (an activation, the tests' cache reset) retries at once.
_broken: set[tuple[int, str, float]] = set()
BROKEN_RETRY_SECONDS = 300.0


def serving_model(*, version: SequenceModelVersion | None = None) -> ServingModel | None:
    """The active version (or `version`, an A/B test's candidate), loaded; None when there is
    none. The last two loaded stay in memory, so both arms of a test are served from it."""
    if version is None:
        version = similar_cache.serving_memo(_active_version)
    if version is None or not version.vectors_path:
        return None
    # Keyed also by whether the vectors are stored (a version stored while this process served
    # it from its file moves to the index on its next request) and by when its peer profiles
    # were rebuilt (after an erasure, the erased shopper's profile is gone on the next one).
    key = (
        version.pk,
        version.vectors_stored_at is not None,
        version.metrics.get(PEERS_BUILT_AT),
    )
    with _lock:
        if _marked_broken(version.pk):
            return None
        if key not in _loaded:
            try:
                loaded = _load(version, stored=key[1])
            except UNREADABLE as exc:
                # A lost, foreign or damaged file must not take the recommendations down: they are
                # served without the sequence signal, and the log says why.
                logger.error("sequence version %s cannot serve: %s", version.pk, exc)
                _mark_broken(version.pk)
                return None
            for stale in [k for k in _loaded if k[0] == version.pk]:
                del _loaded[stale]
            _loaded[key] = loaded
            while len(_loaded) > MODELS_KEPT:
                _loaded.pop(next(iter(_loaded)))
        return _loaded[key]


def _marked_broken(version_id: int) -> bool:
    marks = [mark for mark in _broken if mark[0] == version_id]
    if not marks:  # the usual case, answered without reading the generation
        return False
    generation, now = similar_cache.serving_generation(), time.monotonic()
    return any(gen == generation and now - at < BROKEN_RETRY_SECONDS for _, gen, at in marks)


def _mark_broken(version_id: int) -> None:
    for stale in [mark for mark in _broken if mark[0] == version_id]:
        _broken.discard(stale)
    _broken.add((version_id, similar_cache.serving_generation(), time.monotonic()))


def _active_version() -> SequenceModelVersion | None:
    """Kept per process with the serving state: activating a version or storing its vectors
    bumps the serving generation (services.sequence), so every request need not ask."""
    active = SequenceModelVersion.objects.filter(status=SequenceModelVersion.Status.ACTIVE)
    return active.only(*SERVING_FIELDS).first()


def _load(version: SequenceModelVersion, *, stored: bool) -> ServingModel:
    weights, config = artifacts.load(version.artifact_path)
    with np.load(version.vectors_path, allow_pickle=False) as archive:
        product_ids = archive["product_ids"]  # a stored version's vectors are not read
        vectors = None if stored else archive["vectors"].astype(np.float32)
    position = {int(pid): row for row, pid in enumerate(product_ids)}
    tuned = version.metrics.get("hybrid_weights")
    fusion = {name: HybridWeights.from_dict(tuned).of(name) for name in SIGNALS} if tuned else None
    in_store = item_vector_set(version_id=version.pk, dim=config.dim) if stored else None
    scorer = SequenceScorer(weights, config)
    return ServingModel(
        version.pk, scorer, product_ids, position, fusion, in_store, vectors, _peers(version)
    )


def _peers(version: SequenceModelVersion) -> Peers | None:
    path = Path(version.artifact_path).parent / PEERS_FILE
    if not path.is_file():
        return None
    try:
        return Peers.load(path)
    except UNREADABLE as exc:
        # Recommendations are served without peers rather than not at all; the log says why.
        logger.error("sequence version %s peers cannot serve: %s", version.pk, exc)
        return None
