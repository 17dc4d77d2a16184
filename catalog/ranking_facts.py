"""The product facts that similarity's ranking statement reads, as SQL fragments catalog owns.

Similarity's ranking is one statement (vectors, signals and facts: one round trip per request),
so catalog cannot hand it instances; it hands it these fragments instead and decodes the
columns they select. Only this module knows catalog's tables and columns in that statement.
"""

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RankingFacts:
    """What similarity ranking compares of a candidate: no texts, which fifty candidates per
    request would ship for nothing (ranking reads their vectors, not their words). Read by
    similarity's ranking statement (vector_store.ranking_candidates) with the vectors."""

    product_id: int
    brand: str
    category_path: str
    tags: list[str]
    attributes: dict
    price: float
    group_id: str


# Result columns are prefixed, so they never meet the names of the statement they join.
_COLUMNS = (
    ("product.id", "fact_product_id"),
    ("product.brand", "fact_brand"),
    ("category.path", "fact_category_path"),
    ("product.tags", "fact_tags"),
    ("product.attributes::text", "fact_attributes"),  # text: decoded here, as one JSON parse
    ("product.price", "fact_price"),
    ("product.group_id", "fact_group_id"),
)
FACTS_COLUMNS = ", ".join(f"{expression} AS {name}" for expression, name in _COLUMNS)
FACTS_NAMES = tuple(name for _expression, name in _COLUMNS)  # what FACTS_COLUMNS select, in order

# The ids of a variant group's products; one parameter, the group id.
VARIANT_GROUP_IDS = "SELECT id FROM catalog_product WHERE group_id = %s"


def facts_join(product_id: str) -> str:
    """LEFT JOINs that bring FACTS_COLUMNS for the product whose id is the SQL expression
    `product_id`; all NULL when that product is inactive (or gone). No parameters."""
    return (
        "LEFT JOIN catalog_product product "
        f"ON product.id = {product_id} AND product.is_active "
        "LEFT JOIN catalog_category category ON category.id = product.category_id"
    )


def facts_decode(row: Any) -> RankingFacts | None:
    """The facts of a row (a named tuple, fields by name) that selected FACTS_COLUMNS; None:
    the product is inactive."""
    if row.fact_product_id is None:
        return None
    return RankingFacts(
        row.fact_product_id,
        row.fact_brand or "",
        row.fact_category_path or "",
        row.fact_tags or [],
        json.loads(row.fact_attributes or "{}"),
        float(row.fact_price),
        row.fact_group_id or "",
    )
