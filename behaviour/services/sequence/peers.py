"""Peer profiles rebuilt from the events kept now, after an erasure or a retention cut.

A sequence version serves the shoppers' profiles it was trained with (`ml.sequence.peers`):
one row per shopper, unnamed but theirs. The refresh that an erasure or a retention cut asks for
rewrites them from the events left, so no profile outlives the events it was counted from. The
model's weights keep a trained-in share until the next training.

A new version's first profiles (`peers_first_build`) race with those refreshes: it is registered
before its events are read, so each erasure is either left out of that read or followed by a
refresh that rewrites the version, and a per-version lock keeps the stale read from landing last.
"""

import datetime as dt
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from django.db import connection, transaction
from scipy import sparse

from behaviour.ml.sequence.artifacts import UNREADABLE
from behaviour.ml.sequence.data import SequenceData
from behaviour.ml.sequence.peers import PEERS_BUILT_AT, PEERS_FILE, Peers
from similarity import cache as similar_cache

from ...models import SequenceModelVersion
from .dataset import EventRows, sequences_of

logger = logging.getLogger(__name__)

# With a version's pk, the advisory lock under which its peers file is written ("peer").
PEERS_LOCK = 0x7065_6572


def peers_first_build(version: SequenceModelVersion, read: Callable[[], SequenceData]) -> None:
    """Write a newly trained version's profiles from `read()`, its shoppers' events now (its
    model and vectors files already saved).

    Saving its paths first (with a peers file of nobody) makes every refresh committed from then
    on rewrite the version: an erasure committed before the read below is not in it, and one
    committed after is followed by such a refresh. That refresh may write before this read's
    file would land: a rewrite since (its time in the metrics) wins, the stale file is dropped.
    """
    path = Path(version.artifact_path).parent / PEERS_FILE
    Peers(sparse.csr_matrix((0, 0), dtype=np.float32)).save(path)
    version.save(update_fields=["artifact_path", "vectors_path", "metrics"])
    staged = Peers.fit(read()).save(path.with_suffix(".first.npz"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [PEERS_LOCK, version.pk])
        try:
            saved = SequenceModelVersion.objects.values_list("metrics", flat=True)
            metrics = saved.get(pk=version.pk)
            if PEERS_BUILT_AT in metrics:
                staged.unlink()
                version.metrics = metrics
            else:
                os.replace(staged, path)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [PEERS_LOCK, version.pk])


def peers_rebuild() -> int:
    """Rewrite the peer profiles of every version saved with them; the number rewritten.
    Runs in the refresh's transaction (the per-version lock lasts until its commit).

    A version whose files cannot be read loses its profiles instead (it serves without the
    peers signal, as a version trained without them), so one broken version neither keeps an
    erased shopper's profile nor fails the refresh.
    """
    rows, rewritten = None, 0
    versions = SequenceModelVersion.objects.exclude(artifact_path="").exclude(vectors_path="")
    for version in versions:
        path = Path(version.artifact_path).parent / PEERS_FILE
        if not path.is_file():
            continue
        rows = rows or EventRows.read()
        with connection.cursor() as cursor:  # held to the commit, which saves the time below
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [PEERS_LOCK, version.pk])
        try:
            with np.load(version.vectors_path, allow_pickle=False) as archive:
                product_ids = archive["product_ids"]
            written = Peers.fit(sequences_of(product_ids, rows)).save(path.with_suffix(".new.npz"))
            os.replace(written, path)  # a process loading it reads the old file or the new one
            rewritten += 1
        except UNREADABLE as exc:
            logger.error("sequence version %s: peers dropped, not rebuilt: %s", version.pk, exc)
            path.unlink(missing_ok=True)
        version.metrics = {**version.metrics, PEERS_BUILT_AT: dt.datetime.now(dt.UTC).isoformat()}
        version.save(update_fields=["metrics"])
    # Each process reloads the versions it serves, once the new keys are visible to it.
    transaction.on_commit(similar_cache.serving_changed)
    return rewritten
