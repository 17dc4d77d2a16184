"""Peer profiles rebuilt from the events kept now, after an erasure or a retention cut.

A sequence version serves the shoppers' profiles it was trained with (`ml.sequence.peers`):
one row per shopper, unnamed but theirs. The refresh that an erasure or a retention cut asks for
rewrites them from the events left, so no profile outlives the events it was counted from. The
model's weights keep a trained-in share until the next training.
"""

import datetime as dt
import os
from pathlib import Path

import numpy as np

from behaviour.ml.sequence.peers import PEERS_BUILT_AT, PEERS_FILE, Peers
from similarity import cache as similar_cache

from ...models import SequenceModelVersion
from .dataset import EventRows, sequences_of


def peers_rebuild() -> int:
    """Rewrite the peer profiles of every version saved with them; the number rewritten."""
    rows, rewritten = None, 0
    versions = SequenceModelVersion.objects.exclude(artifact_path="").exclude(vectors_path="")
    for version in versions:
        path = Path(version.artifact_path).parent / PEERS_FILE
        if not path.is_file():
            continue
        rows = rows or EventRows.read()
        with np.load(version.vectors_path, allow_pickle=False) as archive:
            product_ids = archive["product_ids"]
        written = Peers.fit(sequences_of(product_ids, rows)).save(path.with_suffix(".new.npz"))
        os.replace(written, path)  # a process loading it reads the old file or the new one
        built_at = dt.datetime.now(dt.UTC).isoformat()
        version.metrics = {**version.metrics, PEERS_BUILT_AT: built_at}
        version.save(update_fields=["metrics"])
        rewritten += 1
    if rewritten:
        similar_cache.serving_changed()  # each process reloads the versions it serves
    return rewritten
