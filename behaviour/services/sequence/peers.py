"""Peer profiles rebuilt from the events kept now, after an erasure or a retention cut.

A sequence version serves the shoppers' profiles it was trained with (`ml.sequence.peers`):
one row per shopper, unnamed but theirs. The refresh that an erasure or a retention cut asks for
rewrites them from the events left, so no profile outlives the events it was counted from. The
model's weights keep a trained-in share until the next training.
"""

import datetime as dt
import logging
import os
from pathlib import Path

import numpy as np
from django.db import transaction

from behaviour.ml.sequence.peers import PEERS_BUILT_AT, PEERS_FILE, Peers
from similarity import cache as similar_cache

from ...models import SequenceModelVersion
from .dataset import EventRows, sequences_of

logger = logging.getLogger(__name__)


def peers_rebuild() -> int:
    """Rewrite the peer profiles of every version saved with them; the number rewritten.

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
        try:
            with np.load(version.vectors_path, allow_pickle=False) as archive:
                product_ids = archive["product_ids"]
            written = Peers.fit(sequences_of(product_ids, rows)).save(path.with_suffix(".new.npz"))
            os.replace(written, path)  # a process loading it reads the old file or the new one
            rewritten += 1
        except (OSError, ValueError, KeyError) as exc:
            logger.error("sequence version %s: peers dropped, not rebuilt: %s", version.pk, exc)
            path.unlink(missing_ok=True)
        version.metrics = {**version.metrics, PEERS_BUILT_AT: dt.datetime.now(dt.UTC).isoformat()}
        version.save(update_fields=["metrics"])
    # Each process reloads the versions it serves, once the new keys are visible to it.
    transaction.on_commit(similar_cache.serving_changed)
    return rewritten
