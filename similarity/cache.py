"""The similar-list cache: Valkey entries whose keys carry generations, so invalidating is a bump.

Two generations name every entry: the serving generation (what every list depends on: the active
model version, the lexical index, fusion weights, merchandising rules) and the source product's
generation (its fields, images and vectors), looked up by SKU. A cache hit therefore costs two
Valkey round trips and no SQL; a bump makes the old entries unreachable and the TTL reclaims them.

Generations are random tokens, not counters: a lost counter restarting at 0 could make stale
entries reachable again, a fresh token never can. Bumps run after commit, so a reader never
caches a list computed from rows that were then rolled back under the new generation.
"""

import hashlib
import json
import uuid
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

ENTRY_SECONDS = 3600  # bounds drift from changes to the listed products (not the source)
GENERATION_SECONDS = 7 * 24 * 3600  # outlives every entry; a lost token only causes misses
SERVING_KEY = "similar:gen"


def _product_key(sku: str) -> str:
    return f"similar:gen:sku:{hashlib.sha256(sku.encode()).hexdigest()[:24]}"


def entry_key(*, sku: str, params: dict) -> str:
    """The entry for this product and these parameters under the current generations."""
    product_key = _product_key(sku)
    generations = cache.get_many([SERVING_KEY, product_key])
    digest = hashlib.sha256(
        json.dumps([sku, params], sort_keys=True, default=str).encode()
    ).hexdigest()
    return (
        f"similar:{generations.get(SERVING_KEY, '0')}:{generations.get(product_key, '0')}:"
        f"{digest[:32]}"
    )


def get(key: str):
    return cache.get(key)


def put(key: str, body: dict) -> None:
    cache.set(key, body, ENTRY_SECONDS)


def reset() -> None:
    """Make every cached list unreachable now (e.g. after restoring a database backup)."""
    cache.set(SERVING_KEY, uuid.uuid4().hex, GENERATION_SECONDS)


def serving_changed() -> None:
    """Every cached list is stale (activation, new lexical index, weights or rules changed)."""
    transaction.on_commit(reset, robust=True)


def products_changed(*, skus: Iterable[str]) -> None:
    """The cached lists of these source products are stale."""
    keys = [_product_key(sku) for sku in set(skus)]
    if keys:
        transaction.on_commit(
            lambda: cache.set_many(dict.fromkeys(keys, uuid.uuid4().hex), GENERATION_SECONDS),
            robust=True,
        )
