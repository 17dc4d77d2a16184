"""Generation tokens in the shared cache: what lets each process keep a copy of something and
every process drop it at once when it changes (similar lists, serving state, partner keys).

Tokens are random, not counters: a lost counter restarting at 0 could make stale copies
reachable again, a fresh token never can.
"""

import uuid

from django.core.cache import cache


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
    cache.set(key, uuid.uuid4().hex, timeout)
