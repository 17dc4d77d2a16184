"""The prodsim Celery app with test-only fault injection (`celery -A tests.faults.faulty_worker`).

Nothing here is imported by the product. The faults come from PRODSIM_TEST_FAULTS (JSON) and
are patched into each worker child as it starts (prefork), so the parent stays healthy and can
redeliver, exactly as with a real crash. Each fault is deterministic: a test waits for a marker
file the child writes, acts (SIGKILL, restart a server), then writes the release file.

  hold_embed_batch: DIR   before its 2nd batch, a child writes DIR/held and waits for DIR/release
  kill_in_embed_batch     every child SIGKILLs itself in its first batch (an OOM kill)
  stall_in_embed_batch: "soft" | "hard"   the batch sleeps; "hard" also ignores the soft limit
  hold_import_row: DIR    before the 2nd row of an import, wait for DIR/release (once)
  import_delay_s: S       every import sleeps S seconds first (keeps a batch of jobs in flight)
  stall_import: "soft" | "hard"   every import sleeps before its first row, as above
"""

import json
import os
import signal
import time
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init

from prodsim_site.celery import app

__all__ = ["app"]

WAIT_STEP_S = 0.05


def _hold(directory: str) -> None:
    release = Path(directory) / "release"
    if release.exists():
        return
    (Path(directory) / "held").write_text(str(os.getpid()))
    while not release.exists():
        time.sleep(WAIT_STEP_S)


def _stall(mode: str) -> None:
    while True:
        try:
            time.sleep(3600)
        except SoftTimeLimitExceeded:
            if mode != "hard":
                raise


def _patch_embedding(faults: dict) -> None:
    from similarity.services import embedding

    original = embedding._write_batch
    calls = []

    def write_batch(*args, **kwargs):
        calls.append(1)
        if "hold_embed_batch" in faults and len(calls) == 2:
            _hold(faults["hold_embed_batch"])
        if faults.get("kill_in_embed_batch"):
            os.kill(os.getpid(), signal.SIGKILL)
        if "stall_in_embed_batch" in faults:
            _stall(faults["stall_in_embed_batch"])
        return original(*args, **kwargs)

    embedding._write_batch = write_batch


def _patch_import(faults: dict) -> None:
    from catalog.services import imports

    original_row, original_import = imports._import_row, imports.catalogue_import
    rows = []

    def import_row(job, row, *args, **kwargs):
        rows.append(1)
        if "hold_import_row" in faults and len(rows) == 2:
            _hold(faults["hold_import_row"])
        return original_row(job, row, *args, **kwargs)

    def catalogue_import(*args, **kwargs):
        time.sleep(faults.get("import_delay_s", 0))
        if "stall_import" in faults:
            _stall(faults["stall_import"])
        return original_import(*args, **kwargs)

    imports._import_row, imports.catalogue_import = import_row, catalogue_import


@worker_process_init.connect
def _inject_faults(**_kwargs) -> None:
    faults = json.loads(os.environ.get("PRODSIM_TEST_FAULTS", "{}"))
    _patch_embedding(faults)
    _patch_import(faults)
