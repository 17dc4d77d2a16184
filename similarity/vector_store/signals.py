"""Signals: a candidate's similarities to the query, one per kind of vector.

Each signal is one entry of signals_for(): its stored vector, the join that brings that vector
(with the join's parameter) and how a query of the caller's own gives it. Columns, joins and
parameters are all derived from those entries, so adding a signal is one entry there, plus its
field on CandidateSignals (and QueryVectors, if callers can give one).
"""

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

import numpy as np

from similarity.ml.validation import validate_embeddings

from ..models import LexicalIndex, ModelVersion
from .prepared import rows_fetch
from .sql import Statement, sparse, vector_literal


@dataclass(frozen=True)
class StoredVectors:
    """A catalogue product as the query: the statement that compares against its vectors reads
    them itself. Reading them first and sending them back as three 256-d literals cost a round
    trip plus the parsing and formatting, ~1 ms of a ~10 ms request (bench/similar_latency.py)."""

    product_id: int


@dataclass(frozen=True)
class QueryVectors:
    """Vectors computed for the query itself: an uploaded photo, a search phrase."""

    image: np.ndarray | None = None
    text: dict[int, float] | None = None  # lexical (sparse)
    learned: np.ndarray | None = None  # the text tower's


@dataclass(frozen=True)
class CandidateSignals:
    """Similarities of one candidate to the source (None where a vector is missing)."""

    image: float | None
    text: float | None
    text_learned: float | None


_DECODED = tuple((field.name, f"signal_{field.name}") for field in fields(CandidateSignals))
SIGNAL_NAMES = tuple(column for _field, column in _DECODED)  # what signal_columns() select


# eq=False: compared and hashed by identity, which is all the caches below need (and cheap).
@dataclass(frozen=True, eq=False)
class _Join:
    """A product's row of one vector table, under one owner (a version, a lexical index)."""

    table: str
    alias: str
    owner_column: str
    owner_pk: int | None

    def on(self, product_id: str) -> Statement:
        return Statement(
            f"LEFT JOIN {self.table} {self.alias} "
            f"ON {self.alias}.product_id = {product_id} "
            f"AND {self.alias}.{self.owner_column} = %s",
            (self.owner_pk,),
        )


@dataclass(frozen=True, eq=False)
class Signal:
    """One similarity of a candidate to the query: the cosine of the same kind of vector."""

    field: str  # of CandidateSignals; the result column is `signal_<field>`
    source: str  # the query's vector: a column of the `source` relation
    join: _Join
    stored: str  # the vector compared, under the join's alias
    given_type: str  # the SQL type a given query vector is cast to
    given: Callable[[QueryVectors], str | None]  # a given query's vector, as a literal


def _literal(vector: np.ndarray | None) -> str | None:
    return None if vector is None else vector_literal(vector)


def signals_for(version: ModelVersion | None, index: LexicalIndex | None) -> tuple[Signal, ...]:
    """The signals under this version and lexical index (either may be None: no such vectors)."""
    return _signals(
        int(version.vector_dim) if version else 1,
        version.pk if version else None,
        index.pk if index else None,
    )


@functools.lru_cache(maxsize=64)  # per (version, index) pair: a process serves a handful
def _signals(dim: int, version_pk: int | None, index_pk: int | None) -> tuple[Signal, ...]:
    embeddings = _Join(
        "similarity_productembedding", "product_embedding", "model_version_id", version_pk
    )
    texts = _Join("similarity_producttext", "product_text", "lexical_index_id", index_pk)
    signals = (
        Signal(
            "image",
            "image",
            embeddings,
            f"product_embedding.embedding::vector({dim})",
            f"vector({dim})",
            lambda query: _literal(query.image),
        ),
        Signal(
            "text",
            "lexical",
            texts,
            "product_text.vector",
            "sparsevec",
            lambda query: sparse(query.text).to_text() if query.text else None,
        ),
        Signal(
            "text_learned",
            "learned",
            embeddings,
            f"product_embedding.text_embedding::vector({dim})",
            f"vector({dim})",
            lambda query: _literal(query.learned),
        ),
    )
    # Rows are read by SIGNAL_NAMES: one signal per CandidateSignals field, in the same order.
    assert tuple(signal.field for signal in signals) == tuple(name for name, _ in _DECODED)
    return signals


@functools.lru_cache(maxsize=256)
def signal_joins(signals: tuple[Signal, ...], product_id: str) -> Statement:
    """The joins that bring the signals' stored vectors of the product `product_id` (SQL)."""
    joins = dict.fromkeys(signal.join for signal in signals)  # each once, in order
    return Statement.join(" ", (join.on(product_id) for join in joins))


@functools.lru_cache(maxsize=256)
def signal_columns(signals: tuple[Signal, ...]) -> str:
    """Cosine similarities of the joined vectors to the `source` relation's, as SIGNAL_NAMES."""
    return ", ".join(
        f"1 - ({signal.stored} <=> source.{signal.source}) AS signal_{signal.field}"
        for signal in signals
    )


_SIGNAL_VALUES = attrgetter(*SIGNAL_NAMES)  # a row's, in CandidateSignals' field order


def signals_decode(row: Any) -> CandidateSignals:
    """The signals of a row (a named tuple) that selected signal_columns()."""
    values = _SIGNAL_VALUES(row)
    return CandidateSignals(*(None if value is None else float(value) for value in values))


def source_statement(
    signals: tuple[Signal, ...],
    version: ModelVersion | None,
    source: StoredVectors | QueryVectors,
) -> Statement:
    """A one-row relation of the query's vectors, a column per signal, NULL where missing: what
    signal_columns() compare against and the nearest-neighbour scans order by."""
    if isinstance(source, StoredVectors):
        return Statement.compose(
            "SELECT {columns} FROM (SELECT {id}::bigint AS id) AS query {joins}",
            columns=", ".join(f"{s.stored} AS {s.source}" for s in signals),
            id=Statement("%s", (source.product_id,)),
            joins=signal_joins(signals, "query.id"),
        )
    if source.image is not None and version is not None:
        validate_embeddings(
            np.asarray(source.image, dtype=np.float32)[None, :], dim=version.vector_dim
        )
    given = (Statement(f"%s::{s.given_type} AS {s.source}", (s.given(source),)) for s in signals)
    return Statement.compose("SELECT {columns}", columns=Statement.join(", ", given))


def candidate_signals(
    *,
    version: ModelVersion | None,
    index: LexicalIndex | None,
    product_ids: Sequence[int],
    source: QueryVectors,
) -> dict[int, CandidateSignals]:
    """Cosine similarities (1 - distance) of each candidate's stored vectors to the source's."""
    signals = signals_for(version, index)
    statement = Statement.compose(
        "WITH source AS ({source}) SELECT candidate.id, {columns} "
        "FROM unnest({ids}::bigint[]) AS candidate(id) CROSS JOIN source {joins}",
        source=source_statement(signals, version, source),
        columns=signal_columns(signals),
        ids=Statement("%s", (list(product_ids),)),
        joins=signal_joins(signals, "candidate.id"),
    )
    rows = rows_fetch(statement, ("id", *SIGNAL_NAMES))
    return {row.id: signals_decode(row) for row in rows}
