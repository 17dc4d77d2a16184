"""The similar-list cache: Valkey entries whose keys carry generations, so invalidating is a bump.

Two generations name every entry: the serving generation (what every list depends on: the active
model version, the lexical index, fusion weights, merchandising rules, and which products are on
sale: a withdrawal or deletion bumps it, as any list may name the product) and the source product's
generation (its fields, images and vectors), looked up by SKU. A cache hit therefore costs two
Valkey round trips and no SQL; a bump makes the old entries unreachable and the TTL reclaims them.

A list that shows products in stock only (`in_stock=true`, or PRODSIM_EXCLUDE_OUT_OF_STOCK)
also carries the stock generation, which a product selling out bumps: such lists drop it at
once, while the lists that show out-of-stock products anyway keep their entries.

Generations are random tokens (core/generations.py). Bumps run after commit, so a reader
never caches a list computed from rows that were then rolled back under the new generation.
The settings the lists are computed with are in every key too (SERVING_SETTINGS).
"""

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from catalog.skus import sku_normalised
from core import generations

# Bounds drift from edits (price, title, back in stock) of the listed products, not the source;
# their withdrawal or deletion bumps the serving generation instead, selling out the stock one.
ENTRY_SECONDS = 3600
GENERATION_SECONDS = 7 * 24 * 3600  # outlives every entry; a lost token only causes misses
SERVING_KEY = "similar:gen"
STOCK_KEY = "similar:gen:stock"
T = TypeVar("T")
MEMO_SECONDS = 60.0
# Settings the similar and behaviour selectors read while answering (behaviour's lists share this
# cache). A setting changes only with a restart, which bumps no generation, and Valkey outlives
# the restart: their values join every key, so a changed one is never answered from entries the
# old value computed. A new request-time setting that changes answers belongs here.
SERVING_SETTINGS = (
    "PRODSIM_EXCLUDE_OUT_OF_STOCK",
    "PRODSIM_FUSION_WEIGHTS",
    "PRODSIM_FUSION_CANDIDATES",
    "PRODSIM_RECOMMEND_REPEATS",
    "PRODSIM_BEHAVIOUR_WHY_DAYS",  # the days of "Bought together in N orders in the last D days"
)
# This process's copies of serving state, by loader: (generation, loaded at, value). See
# serving_memo().
_serving_memos: dict[Callable, tuple[str, float, object]] = {}
# The serving generation as this thread's current request first read it (see request_started).
_request = threading.local()


def _product_key(sku: str) -> str:
    # NFC, as SKUs are stored: a list asked for by the decomposed spelling of a product's SKU
    # hangs on the generation its changes bump (they name the stored, composed spelling).
    normalised = sku_normalised(sku)
    return f"similar:gen:sku:{hashlib.sha256(normalised.encode()).hexdigest()[:24]}"


def entry_key(*, sku: str, params: dict, extra: Callable[[], object] | None = None) -> str:
    """The entry for this product and these parameters under the current generations. `extra()`
    (e.g. the rules in force) joins the key once the serving generation is read, so what it
    reads from the serving state uses that read."""
    product_key = _product_key(sku)
    tokens = cache.get_many([SERVING_KEY, product_key, STOCK_KEY])
    # The serving token is created on first use, the same one serving_memo() keys its copy by.
    serving = tokens.get(SERVING_KEY) or _serving_generation()
    _remember(serving)
    stock = tokens.get(STOCK_KEY, "0") if _in_stock_only(params) else None
    parts = [sku, params, extra() if extra is not None else None, _serving_settings(), stock]
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f"similar:{serving}:{tokens.get(product_key, '0')}:{digest[:32]}"


def _in_stock_only(params: dict) -> bool:
    """Whether the list leaves out-of-stock products out (the API's `in_stock` parameter)."""
    return params.get("in_stock") is True or settings.PRODSIM_EXCLUDE_OUT_OF_STOCK


def _serving_settings() -> dict:
    return {name: getattr(settings, name) for name in SERVING_SETTINGS}


def get(key: str):
    return cache.get(key)


def put(key: str, body: dict) -> None:
    cache.set(key, body, ENTRY_SECONDS)


def serving_generation() -> str:
    """The current serving generation (this request's, once read): state kept per process under
    it is stale once it moves."""
    return _serving_generation()


def _serving_generation() -> str:
    if token := getattr(_request, "token", None):
        return token
    token = generations.current(SERVING_KEY, timeout=GENERATION_SECONDS)
    _remember(token)
    return token


def _remember(token: str) -> None:
    if getattr(_request, "active", False):
        _request.token = token


def request_started(**kwargs) -> None:
    """Within one web request the serving generation is read once: its cache key and the serving
    state it builds the list from then agree on one generation, and a second read (a Valkey round
    trip per similar list) is saved. A bump in this process (reset()) still shows at once."""
    _request.active, _request.token = True, None


def request_finished(**kwargs) -> None:
    _request.active, _request.token = False, None


def serving_memo(load: Callable[[], T]) -> T:
    """`load()`'s answer, kept in this process while the serving generation stays the same.

    For what every similar list depends on and changes rarely (the active version, rules,
    weights; the active sequence model): one Valkey read per request instead of their queries.
    One copy per `load` function, so pass the same function each time. The token is read before
    loading, so a change committed meanwhile leaves this copy under a token already replaced.
    Inside a transaction the copy is neither read nor kept: that transaction may have changed
    the state (or may roll back), and only committed state is shared. MEMO_SECONDS bounds how
    long a change that bypassed the services (a shell `update()`) can go unseen.
    """
    if transaction.get_connection().in_atomic_block:
        return load()
    token, now = _serving_generation(), time.monotonic()
    memo = _serving_memos.get(load)
    if memo is not None and memo[0] == token and now - memo[1] < MEMO_SECONDS:
        return memo[2]
    value = load()
    _serving_memos[load] = (token, now, value)
    return value


def reset() -> None:
    """Make every cached list unreachable now (e.g. after restoring a database backup)."""
    _serving_memos.clear()
    _request.token = None
    generations.bump(SERVING_KEY, timeout=GENERATION_SECONDS)


def serving_changed() -> None:
    """Every cached list is stale (activation, new lexical index, weights or rules changed, a
    product withdrawn or deleted)."""
    transaction.on_commit(reset, robust=True)


def stock_sold_out() -> None:
    """Products sold out: the cached lists of products in stock only are stale."""
    transaction.on_commit(
        lambda: generations.bump(STOCK_KEY, timeout=GENERATION_SECONDS), robust=True
    )


def products_changed(*, skus: Iterable[str]) -> None:
    """The cached lists of these source products are stale."""
    keys = [_product_key(sku) for sku in set(skus)]
    if keys:
        transaction.on_commit(
            lambda: generations.bump_many(keys, timeout=GENERATION_SECONDS), robust=True
        )
