"""Verified partner API keys, kept per process while the keys' generation stays the same.

Every API request presents a key, and verifying it reads its row: ~0.4 ms of a ~10 ms similar
request, and the only SQL of a cached one (bench/similar_latency.py). Any saved or deleted key
bumps a generation token in Valkey after commit, so a revocation takes effect at once in every
process; each request reads the token (one Valkey GET) and reuses the row this process verified
under it. Failed verifications are not kept. Expiry is checked on the row at every request.
MEMO_SECONDS bounds how long a change that bypassed save() (a queryset update) goes unseen.
"""

import hashlib
import time

from django.db import transaction

from core import generations

from .models import PartnerApiKey

GENERATION_KEY = "partner-keys:gen"
MEMO_SECONDS = 60.0
MEMO_MAX_KEYS = 10_000  # partners, not requests: a full memo is simply cleared
# sha256 of the presented key (never the key itself) → (generation, verified at, row).
_verified: dict[str, tuple[str, float, PartnerApiKey]] = {}


def verified_key(key: str) -> PartnerApiKey | None:
    """The unrevoked key row matching `key` (its hash checked), or None."""
    if transaction.get_connection().in_atomic_block:
        # A transaction may have changed keys (or may roll back): only committed rows are kept.
        return _verify(key)
    digest, generation, now = (
        hashlib.sha256(key.encode()).hexdigest(),
        generations.current(GENERATION_KEY, timeout=None),
        time.monotonic(),
    )
    memo = _verified.get(digest)
    if memo is not None and memo[0] == generation and now - memo[1] < MEMO_SECONDS:
        return memo[2]
    api_key = _verify(key)
    if api_key is not None:
        if len(_verified) >= MEMO_MAX_KEYS:
            _verified.clear()
        _verified[digest] = (generation, now, api_key)
    return api_key


def _verify(key: str) -> PartnerApiKey | None:
    try:
        return PartnerApiKey.objects.get_from_key(key)
    except PartnerApiKey.DoesNotExist:
        return None


def keys_changed(**kwargs) -> None:
    """A key was created, edited, revoked or deleted (or a backup restored): forget every
    verified key, in every process, once the change is committed."""
    transaction.on_commit(forget_verified, robust=True)


def forget_verified() -> None:
    _verified.clear()
    generations.bump(GENERATION_KEY, timeout=None)
