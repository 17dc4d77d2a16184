"""Behaviour lists share the similar-list cache (its keys carry the serving and product
generations) plus one more generation that every refresh bumps, so a refresh shows at once.
A visitor's own lists end their key with the visitor's hash, so an erasure deletes them."""

from django.core.cache import cache

from core import generations
from similarity import cache as similar_cache
from similarity.selectors.serving import rules_epoch

GENERATION_KEY = "behaviour:gen"
GENERATION_SECONDS = similar_cache.GENERATION_SECONDS
VISITOR_MARK = ":visitor:"


def entry_key(*, list_name: str, sku: str, params: dict) -> str:
    token = generations.current(GENERATION_KEY, timeout=GENERATION_SECONDS)
    return similar_cache.entry_key(
        sku=sku, params={"list": list_name, "gen": token, **params}, extra=rules_epoch
    )


def visitor_entry_key(*, list_name: str, visitor: str, params: dict) -> str:
    """The entry of a list built from this visitor's (hashed) history."""
    return f"{entry_key(list_name=list_name, sku=visitor, params=params)}{VISITOR_MARK}{visitor}"


def visitor_entries_delete(visitor: str) -> int:
    """Delete every cached list built from this visitor's history (after an erasure: a new
    history's key never reaches them, but they would otherwise stay until their TTL)."""
    return cache.delete_matching(f"*{VISITOR_MARK}{visitor}")


def get(key: str) -> dict | None:
    return similar_cache.get(key)


def put(key: str, body: dict) -> None:
    similar_cache.put(key, body)


def refreshed() -> None:
    """Every cached behaviour list is stale (called after a refresh commits)."""
    generations.bump(GENERATION_KEY, timeout=GENERATION_SECONDS)


def delete(key: str) -> None:
    """Take one entry back (an answer put while its visitor was being erased)."""
    cache.delete(key)
