"""Generation tokens in the shared cache: what lets each process keep a copy of something and
every process drop it at once when it changes (similar lists, serving state, partner keys).

Tokens are random, not counters: a lost counter restarting at 0 could make stale copies
reachable again, a fresh token never can.
"""

import logging
import uuid
from collections.abc import Iterable

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
REPLAY_BATCH = 1000


def current(key: str, *, timeout: float | None) -> str:
    """The token under `key`, created on first use (or when Valkey lost it: any fresh token will
    do, once: `add` lets only one process's token win)."""
    token = cache.get(key)
    if token is None:
        cache.add(key, uuid.uuid4().hex, timeout)
        token = cache.get(key)
    return token


def bump(key: str, *, timeout: float | None) -> None:
    """Replace the token: every copy kept under the old one is stale."""
    bump_many([key], timeout=timeout)


def bump_many(keys: Iterable[str], *, timeout: float | None) -> None:
    """Replace these tokens. A change has committed when this runs: if Valkey cannot take them,
    they are kept in PostgreSQL and replaced by beat once it answers (`missed_replay`), rather
    than the stale copies living their whole hour when it comes back."""
    keys = list(keys)
    try:
        cache.set_many(_fresh_tokens(keys), timeout)
    except RedisError as exc:
        from .models import MissedBump

        logger.error("%s generation bump(s) kept for replay: %s", len(keys), exc)
        missed = [MissedBump(key=key, timeout=timeout) for key in keys]
        MissedBump.objects.bulk_create(missed, ignore_conflicts=True)


def missed_replay() -> int:
    """Replace the tokens Valkey missed (beat, every PRODSIM_JOB_REAPER_S); how many. Raises
    while Valkey is still out of reach, keeping them for the next beat."""
    from .models import MissedBump

    rows = list(MissedBump.objects.order_by("pk")[:REPLAY_BATCH])
    for timeout in {row.timeout for row in rows}:
        cache.set_many(_fresh_tokens(row.key for row in rows if row.timeout == timeout), timeout)
    MissedBump.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return len(rows)


def _fresh_tokens(keys: Iterable[str]) -> dict[str, str]:
    return {key: uuid.uuid4().hex for key in keys}
