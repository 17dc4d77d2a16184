"""Behaviour lists share the similar-list cache (its keys carry the serving and product
generations) plus one more generation that every refresh bumps, so a refresh shows at once."""

from core import generations
from similarity import cache as similar_cache

GENERATION_KEY = "behaviour:gen"
GENERATION_SECONDS = similar_cache.GENERATION_SECONDS


def entry_key(*, list_name: str, sku: str, params: dict) -> str:
    token = generations.current(GENERATION_KEY, timeout=GENERATION_SECONDS)
    return similar_cache.entry_key(sku=sku, params={"list": list_name, "gen": token, **params})


def get(key: str) -> dict | None:
    return similar_cache.get(key)


def put(key: str, body: dict) -> None:
    similar_cache.put(key, body)


def refreshed() -> None:
    """Every cached behaviour list is stale (called after a refresh commits)."""
    generations.bump(GENERATION_KEY, timeout=GENERATION_SECONDS)
