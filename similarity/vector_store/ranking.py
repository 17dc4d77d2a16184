"""The ranking statement: a similar list's candidates, their signals and their facts, in one
statement (one round trip per request)."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db.models import QuerySet

from catalog.ranking_facts import (
    FACTS_COLUMNS,
    FACTS_NAMES,
    RankingFacts,
    facts_decode,
    facts_join,
)

from ..models import LexicalIndex, ModelVersion
from .filters import products_filter
from .knn import image_knn, text_knn
from .prepared import rows_fetch
from .signals import (
    SIGNAL_NAMES,
    CandidateSignals,
    QueryVectors,
    StoredVectors,
    signal_columns,
    signal_joins,
    signals_decode,
    signals_for,
    source_statement,
)
from .sql import Statement

TIERS = ("image", "text")  # a candidate's tier: the first index that found it (its position)

# A source without candidates still gives one row, its candidate columns NULL.
_RANKING = """
        WITH source AS ({source}),
        candidate AS (
            SELECT DISTINCT ON (product_id) product_id, tier
            FROM ({hits}) AS hit ORDER BY product_id, tier
        )
        SELECT source.image IS NOT NULL AS source_has_image,
               candidate.product_id AS product_id, candidate.tier AS tier,
               {signals},
               {facts}
        FROM source LEFT JOIN (
            candidate
            {facts_join}
            {signal_joins}
        ) ON true
    """
# What _RANKING selects, in order: its rows are read by these names.
RANKING_COLUMNS = ("source_has_image", "product_id", "tier", *SIGNAL_NAMES, *FACTS_NAMES)


@dataclass(frozen=True)
class RankingCandidate:
    """A candidate of a similar list: which index found it, its signals and (active) facts."""

    product_id: int
    tier: str  # "image" or "text": the first index that found it
    signals: CandidateSignals
    facts: RankingFacts | None  # None: the product is inactive (dropped when ranking)


@dataclass(frozen=True)
class RankingCandidates:
    items: list[RankingCandidate]
    source_has_image: bool  # False: no image vector to search by (none stored, none given)


def ranking_statement(
    *,
    version: ModelVersion | None,
    index: LexicalIndex | None,
    source: StoredVectors | QueryVectors,
    k: int,
    allowed: QuerySet | None = None,
    exclude_product_ids: Sequence[int] = (),
    exclude_group_id: str = "",
    image_exact: bool = False,
    text_exact: bool = False,
) -> Statement | None:
    """The statement of ranking_candidates(); None when there is no index to search."""
    where = products_filter(
        allowed=allowed, exclude_product_ids=exclude_product_ids, exclude_group_id=exclude_group_id
    )
    searches = []  # (tier, the source's vector column, its k-NN builder, exact)
    if version is not None:
        searches.append((0, "image", partial(image_knn, version), image_exact))
    if index is not None:
        searches.append((1, "lexical", partial(text_knn, index), text_exact))
    hits = []
    for tier, column, knn, exact in searches:
        query = Statement(f"(SELECT {column} FROM source)")
        # A missing source vector stops its scan before it starts (a one-time filter).
        nearest = knn(
            query=query,
            limit=k,
            exact=exact,
            where=Statement.compose("AND {query} IS NOT NULL {where}", query=query, where=where),
        )
        hits.append(
            Statement.compose(
                "SELECT product_id, {tier} AS tier FROM ({nearest}) AS hit_{tier}",
                tier=tier,
                nearest=nearest,
            )
        )
    if not hits:
        return None
    signals = signals_for(version, index)
    return Statement.compose(
        _RANKING,
        source=source_statement(signals, version, source),
        hits=Statement.join(" UNION ALL ", hits),
        signals=signal_columns(signals),
        facts=FACTS_COLUMNS,
        facts_join=facts_join("candidate.product_id"),
        signal_joins=signal_joins(signals, "candidate.product_id"),
    )


def ranking_candidates(
    *,
    version: ModelVersion | None,
    index: LexicalIndex | None,
    source: StoredVectors | QueryVectors,
    k: int,
    allowed: QuerySet | None = None,
    exclude_product_ids: Sequence[int] = (),
    exclude_group_id: str = "",
    image_exact: bool = False,
    text_exact: bool = False,
) -> RankingCandidates:
    """The k products nearest by image and the k nearest by words, each with its three
    similarities to the source and its facts: what ranking needs, in one statement.

    `allowed`/`exclude_product_ids`/`*_exact` as for nearest_products; `exclude_group_id`
    leaves out a variant group without a query for its ids. One statement instead of reading
    the source's vectors, a search per index, a signals query and a facts query: at 100k
    products each round trip with its Python cost was ~1 ms of a ~10 ms request.
    """
    statement = ranking_statement(
        version=version,
        index=index,
        source=source,
        k=k,
        allowed=allowed,
        exclude_product_ids=exclude_product_ids,
        exclude_group_id=exclude_group_id,
        image_exact=image_exact,
        text_exact=text_exact,
    )
    if statement is None:
        return RankingCandidates([], False)
    # Filters bring subqueries whose best plan depends on their values: planned every time.
    prepared = allowed is None and not (image_exact or text_exact)
    rows = rows_fetch(statement, RANKING_COLUMNS, prepared=prepared)
    return RankingCandidates(
        [_candidate(row) for row in rows if row.product_id is not None],
        bool(rows[0].source_has_image),
    )


def _candidate(row: Any) -> RankingCandidate:
    return RankingCandidate(row.product_id, TIERS[row.tier], signals_decode(row), facts_decode(row))
