"""The one module that speaks pgvector: vector writes, per-version HNSW indexes, nearest neighbours.

Every version's vectors live in shared tables with an untyped `vector` column, so versions of
different dimensions coexist. Each version gets a partial expression index
`((embedding::vector(d)) <opclass>) WHERE model_version_id = N`; queries repeat exactly that
expression and predicate, which is what lets PostgreSQL use the index.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, partial

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.signals import connection_created
from django.db.models import QuerySet
from pgvector import SparseVector

from catalog.selectors import RankingFacts
from similarity.ml.evaluation import validate_embeddings
from similarity.ml.lexical import DIMENSIONS as LEXICAL_DIMENSIONS

from .models import ImageEmbedding, LexicalIndex, ModelVersion, ProductText

# Operator and operator class per metric (pgvector docs: <=> cosine, <-> L2, <#> negative IP).
OPERATORS = {"cosine": "<=>", "l2": "<->", "ip": "<#>"}
OPCLASSES = {"cosine": "vector_cosine_ops", "l2": "vector_l2_ops", "ip": "vector_ip_ops"}
HNSW_M = 16  # pgvector defaults; recall ≥ 0.99 at ef_search 100 on catalogue-sized sets
HNSW_EF_CONSTRUCTION = 64
DEFAULT_EF_SEARCH = 100  # pgvector's default 40 loses recall when results are filtered
# maintenance_work_mem for HNSW builds comes from settings.PRODSIM_INDEX_BUILD_MEMORY: 512MB
# holds the graph of ~300k 256-d vectors; 1M needs ~3GB (717 s build, bench/similar_latency.py),
# otherwise the build spills and takes over 100 minutes.


def _session_settings(sender, connection, **kwargs) -> None:
    """Every connection searches HNSW with prodsim's ef_search and pgvector 0.8's iterative scan,
    so a nearest-neighbour query is one statement, not a transaction of three."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SET hnsw.ef_search = {DEFAULT_EF_SEARCH}; SET hnsw.iterative_scan = relaxed_order"
        )


def connect_session_settings() -> None:
    connection_created.connect(_session_settings, dispatch_uid="prodsim-hnsw-session")


class _PreparingCursor(ServerBindingCursor):
    """Binds parameters on the server and prepares every statement it runs: psycopg keeps the
    prepared statements per connection (the `prepared_max` most recent) and reuses them by text."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        super().execute(query, params, prepare=True, binary=binary)
        self._query = _LoggedQuery(query, params)
        return self


class _LoggedQuery:
    """The statement as Django's query log reads it off a cursor (`cursor._query.query`, which
    only client-side cursors keep): its SQL with the values written in, composed when read."""

    def __init__(self, sql: str, params):
        self.sql, self.params = sql, params

    @cached_property
    def query(self) -> bytes:
        return connection.ops.compose_sql(self.sql, self.params).encode()


# Django switches psycopg's automatic preparing off (for connection poolers); a threshold no
# statement reaches keeps it off for every other cursor while _PreparingCursor asks explicitly.
_PREPARE_ONLY_WHEN_ASKED = 2**31 - 1


def _rows(sql: str, params: list, *, prepared: bool = False) -> list[tuple]:
    """All rows of `sql`; `prepared`: as a prepared statement whose plan PostgreSQL keeps.

    Only for statements whose text repeats and whose best plan does not hang on the parameter
    values (no filter subqueries): after five runs PostgreSQL settles on one generic plan, so
    parsing and planning happen once per connection (the ranking call at 100k products: 2.7 ms
    instead of 3.7, interleaved in-process). The cursor goes through Django's wrappers like any
    other: the database errors, execute_wrapper() and the query log all see it."""
    if not (prepared and settings.PRODSIM_PREPARED_STATEMENTS):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    connection.close_if_health_check_failed()  # as connection.cursor() does
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _PREPARE_ONLY_WHEN_ASKED
    with connection.wrap_database_errors:
        cursor = connection._prepare_cursor(_PreparingCursor(raw))
    with cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@dataclass(frozen=True)
class Neighbour:
    product_id: int
    distance: float


def _vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(map(repr, np.asarray(vector, dtype=np.float32).tolist())) + "]"


def _expression(version: ModelVersion) -> str:
    return f"(embedding::vector({int(version.embedding_dim)}))"


def index_name(version: ModelVersion) -> str:
    return f"similarity_pe_hnsw_v{int(version.pk)}"


def image_embeddings_upsert(
    *, version: ModelVersion, image_ids: Sequence[int], shas: Sequence[str], vectors: np.ndarray
) -> None:
    """Insert or replace the vectors of these images for this version (validated first)."""
    validate_embeddings(vectors, dim=version.embedding_dim)
    rows = [
        ImageEmbedding(
            model_version=version,
            image_id=image_id,
            image_sha256=sha,
            embedding=vector.astype(np.float32),
        )
        for image_id, sha, vector in zip(image_ids, shas, vectors, strict=True)
    ]
    ImageEmbedding.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["model_version", "image"],
        update_fields=["embedding", "image_sha256"],
    )


def product_embeddings_refresh(*, version: ModelVersion, product_ids: Iterable[int]) -> None:
    """Recompute product vectors as the re-normalised mean of their images' vectors, in SQL.

    Products whose images all disappeared lose their vector for this version.
    """
    ids = list(product_ids)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO similarity_productembedding
                (model_version_id, product_id, embedding, image_count, updated_at)
            SELECT %s, image.product_id, l2_normalize(avg({_expression(version)})), count(*), now()
            FROM similarity_imageembedding embedding
            JOIN catalog_productimage image ON image.id = embedding.image_id
            WHERE embedding.model_version_id = %s AND image.product_id = ANY(%s)
            GROUP BY image.product_id
            ON CONFLICT (model_version_id, product_id) DO UPDATE
            SET embedding = EXCLUDED.embedding, image_count = EXCLUDED.image_count,
                updated_at = EXCLUDED.updated_at
            """,
            [version.pk, version.pk, ids],
        )
        cursor.execute(
            """
            DELETE FROM similarity_productembedding product_embedding
            WHERE model_version_id = %s AND product_id = ANY(%s) AND NOT EXISTS (
                SELECT 1 FROM similarity_imageembedding embedding
                JOIN catalog_productimage image ON image.id = embedding.image_id
                WHERE embedding.model_version_id = %s
                  AND image.product_id = product_embedding.product_id
            )
            """,
            [version.pk, ids, version.pk],
        )


def hnsw_index_exists(*, version: ModelVersion) -> bool | None:
    """True: a valid index exists; False: an interrupted build left an invalid one; None: none."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT index.indisvalid FROM pg_index index JOIN pg_class class "
            "ON class.oid = index.indexrelid WHERE class.relname = %s",
            [index_name(version)],
        )
        row = cursor.fetchone()
    return None if row is None else bool(row[0])


def hnsw_index_build(*, version: ModelVersion) -> None:
    """Build the version's HNSW index; rebuild it when an earlier build was interrupted.

    Outside a transaction the build is CONCURRENTLY, so the serving version's queries and new
    vectors are never blocked while a candidate version is indexed.
    """
    state = hnsw_index_exists(version=version)
    if state is True:
        return
    concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # Deferred FK checks of rows written in this transaction would block CREATE INDEX.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        if state is False:
            cursor.execute(f"DROP INDEX {concurrently} IF EXISTS {index_name(version)}")
        cursor.execute(
            "SELECT set_config('maintenance_work_mem', %s, false)",
            [settings.PRODSIM_INDEX_BUILD_MEMORY],
        )
        cursor.execute(
            f"CREATE INDEX {concurrently} {index_name(version)} "
            f"ON similarity_productembedding USING hnsw "
            f"({_expression(version)} {OPCLASSES[version.metric]}) "
            f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
            f"WHERE model_version_id = {int(version.pk)}"
        )
        cursor.execute("RESET maintenance_work_mem")
        # Fresh statistics, so the planner knows how many rows the version's index covers.
        cursor.execute("ANALYZE similarity_productembedding")


def hnsw_index_drop(*, version: ModelVersion) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {index_name(version)}")


def _allowed_clause(
    allowed: QuerySet | None, exclude: Sequence[int], exclude_group_id: str = ""
) -> tuple[str, list]:
    """SQL restricting product_id to `allowed` (a Product queryset) and away from `exclude` and
    the products of variant group `exclude_group_id`.

    A semi-join, so PostgreSQL picks the plan: for a broad filter the HNSW scan drives and each
    row it yields costs one primary-key probe (pgvector's iterative scan reads on until k rows
    pass); for a narrow one the allowed products drive. `= ANY(ARRAY(subquery))`, used before,
    searched the unhashed array linearly for every row the index yielded (bench/ notes).
    """
    sql, params = "", []
    if allowed is not None:
        # order_by(): the model's default ordering would sort the subquery for nothing.
        subquery, sub_params = allowed.order_by().values("pk").query.sql_with_params()
        sql += f" AND product_id IN ({subquery})"
        params += list(sub_params)
    if exclude:
        sql += " AND NOT (product_id = ANY(%s))"
        params.append(list(exclude))
    if exclude_group_id:
        sql += " AND product_id NOT IN (SELECT id FROM catalog_product WHERE group_id = %s)"
        params.append(exclude_group_id)
    return sql, params


def _knn_sql(select: str, order_by: str, *, exact: bool, limit: int) -> str:
    """The first `limit` rows of `select` (rows with a `distance`), nearest first, through the
    index unless exact.

    Parameters: the exact form takes the query vector once, the index form twice. The limit is
    written out, not a parameter: a prepared statement's generic plan then knows it returns a
    handful of rows (for `LIMIT $n` the planner assumes a tenth of the table and joins the
    whole catalogue by hash, ~80 ms instead of ~1.5 ms at 100k products)."""
    if exact:
        # OFFSET 0 fences the subquery: ORDER BY cannot reach the HNSW index, so every allowed
        # row's distance is computed, while its product_id lookups may still use b-tree indexes.
        return f"SELECT * FROM ({select} OFFSET 0) AS scored ORDER BY distance LIMIT {int(limit)}"
    return f"{select} ORDER BY {order_by} LIMIT {int(limit)}"


def _nearest_sql(
    version: ModelVersion, clause: str, *, limit: int, exact: bool = False, query: str = ""
) -> str:
    """`query`: an SQL expression for the query vector; by default a parameter (a literal)."""
    operator, dim = OPERATORS[version.metric], int(version.embedding_dim)
    distance = f"{_expression(version)} {operator} {query or f'%s::vector({dim})'}"
    select = (
        f"SELECT product_id, {distance} AS distance FROM similarity_productembedding "
        f"WHERE model_version_id = {int(version.pk)} {clause}"
    )
    return _knn_sql(select, distance, exact=exact, limit=limit)


def _text_knn_sql(
    index: LexicalIndex, clause: str, *, limit: int, exact: bool, query: str = ""
) -> str:
    distance = f"vector <=> {query or '%s::sparsevec'}"
    select = (
        f"SELECT product_id, {distance} AS distance "
        f"FROM similarity_producttext WHERE lexical_index_id = {int(index.pk)} {clause}"
    )
    return _knn_sql(select, distance, exact=exact, limit=limit)


def _run_nearest(sql: str, params: list, *, k: int, ef_search: int, exact: bool) -> list:
    ef_search = max(ef_search, k)
    if exact or ef_search == DEFAULT_EF_SEARCH:  # the session's settings apply: one statement
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef_search)])
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    # relaxed_order may return rows slightly out of order; restore exact order on the k rows.
    return sorted((Neighbour(row[0], float(row[1])) for row in rows), key=lambda n: n.distance)


def nearest_products(
    *,
    version: ModelVersion,
    vector: np.ndarray,
    k: int,
    exclude_product_ids: Sequence[int] = (),
    allowed: QuerySet | None = None,
    exact: bool = False,
    ef_search: int = DEFAULT_EF_SEARCH,
) -> list[Neighbour]:
    """The k products nearest to `vector` under this version, nearest first.

    allowed: only these products (a Product queryset); exact: skip the index (small subsets).
    """
    validate_embeddings(np.asarray(vector, dtype=np.float32)[None, :], dim=version.embedding_dim)
    clause, clause_params = _allowed_clause(allowed, exclude_product_ids)
    literal = _vector_literal(vector)
    return _run_nearest(
        _nearest_sql(version, clause, exact=exact, limit=k),
        [literal, *clause_params, *([] if exact else [literal])],
        k=k,
        ef_search=ef_search,
        exact=exact,
    )


def explain_nearest(*, version: ModelVersion, vector: np.ndarray, k: int) -> str:
    """EXPLAIN of the nearest-products query (tests prove the HNSW index is used)."""
    literal = _vector_literal(vector)
    with transaction.atomic(), connection.cursor() as cursor:
        # Tiny test tables favour sequential and bitmap scans over any index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + _nearest_sql(version, "", limit=k), [literal, literal])
        return "\n".join(row[0] for row in cursor.fetchall())


def product_vector(
    *, version: ModelVersion, product_id: int, column: str = "embedding"
) -> np.ndarray | None:
    """A product's stored vector: its image vector, or (column="text_embedding") its text one."""
    if column not in ("embedding", "text_embedding"):
        raise ValueError(f"unknown vector column {column!r}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column}::text FROM similarity_productembedding "
            f"WHERE model_version_id = %s AND product_id = %s AND {column} IS NOT NULL",
            [version.pk, product_id],
        )
        row = cursor.fetchone()
    return None if row is None else _parse_vector(row[0])


def embedded_image_shas(*, version: ModelVersion) -> dict[int, str]:
    """image id → content hash each stored vector was computed from (for --only-missing)."""
    return dict(
        ImageEmbedding.objects.filter(model_version=version).values_list("image_id", "image_sha256")
    )


# --- Lexical text vectors (sparsevec) -------------------------------------------------------------


def _sparse(vector: dict[int, float]) -> SparseVector:
    return SparseVector(vector, LEXICAL_DIMENSIONS)


def product_texts_upsert(
    *,
    index: LexicalIndex,
    product_ids: Sequence[int],
    vectors: Sequence[dict[int, float]],
    shas: Sequence[str],
) -> None:
    """Store products' lexical vectors for this index (empty texts are skipped)."""
    rows = [
        ProductText(
            lexical_index=index, product_id=product_id, vector=_sparse(vector), text_sha256=sha
        )
        for product_id, vector, sha in zip(product_ids, vectors, shas, strict=True)
        if vector
    ]
    ProductText.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["lexical_index", "product"],
        update_fields=["vector", "text_sha256"],
        batch_size=500,
    )


def nearest_texts(
    *,
    index: LexicalIndex,
    vector: dict[int, float],
    k: int,
    exclude_product_ids: Sequence[int] = (),
    allowed: QuerySet | None = None,
    exact: bool = False,
    ef_search: int = DEFAULT_EF_SEARCH,
) -> list[Neighbour]:
    """The k products whose lexical vectors are nearest (cosine) to `vector`."""
    if not vector:
        return []
    clause, clause_params = _allowed_clause(allowed, exclude_product_ids)
    literal = _sparse(vector).to_text()
    return _run_nearest(
        _text_knn_sql(index, clause, exact=exact, limit=k),
        [literal, *clause_params, *([] if exact else [literal])],
        k=k,
        ef_search=ef_search,
        exact=exact,
    )


# --- Text-tower vectors (in the image space of a version) ----------------------------------------


def product_text_embeddings_set(
    *, version: ModelVersion, product_ids: Sequence[int], vectors: np.ndarray
) -> None:
    validate_embeddings(vectors, dim=version.embedding_dim)
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE similarity_productembedding SET text_embedding = %s::vector "
            "WHERE model_version_id = %s AND product_id = %s",
            [
                (_vector_literal(vector), version.pk, product_id)
                for product_id, vector in zip(product_ids, vectors, strict=True)
            ],
        )


def text_index_name(version: ModelVersion) -> str:
    return f"similarity_pe_text_hnsw_v{int(version.pk)}"


def text_hnsw_index_build(*, version: ModelVersion) -> None:
    """HNSW index on the version's text-tower vectors (learned-text candidates)."""
    dim = int(version.embedding_dim)
    invalid_index_drop(name=text_index_name(version))
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
        cursor.execute(
            f"CREATE INDEX {concurrently} IF NOT EXISTS {text_index_name(version)} "
            f"ON similarity_productembedding USING hnsw "
            f"((text_embedding::vector({dim})) {OPCLASSES[version.metric]}) "
            f"WHERE model_version_id = {int(version.pk)}"
        )


# --- Interrupted and failed builds ----------------------------------------------------------------


def invalid_index_drop(*, name: str) -> bool:
    """Drop index `name` if an interrupted CREATE INDEX CONCURRENTLY left it INVALID.

    PostgreSQL keeps such an index (never used by queries, still maintained on every write) and
    `IF NOT EXISTS` would skip rebuilding it forever. Returns whether one was dropped.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT index.indisvalid FROM pg_index index JOIN pg_class class "
            "ON class.oid = index.indexrelid WHERE class.relname = %s",
            [name],
        )
        row = cursor.fetchone()
        if not (row and row[0]):
            return False
        concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
        cursor.execute(f"DROP INDEX {concurrently} IF EXISTS {name}")
    return True


def version_indexes_drop(*, version: ModelVersion) -> None:
    """Drop the version's image and text indexes: a failed version leaves neither behind."""
    with connection.cursor() as cursor:
        for name in (index_name(version), text_index_name(version)):
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


# --- Signals of a candidate set, for fusion --------------------------------------


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


def _source_sql(version, index, source: StoredVectors | QueryVectors) -> tuple[str, list]:
    """A one-row relation of the query's vectors, `(image, lexical, learned)`, NULL where
    missing; what _signal_columns() compares against and the nearest-neighbour scans order by."""
    dim = int(version.embedding_dim) if version else 1
    if isinstance(source, StoredVectors):
        sql = (
            f"SELECT product_embedding.embedding::vector({dim}) AS image, "
            "product_text.vector AS lexical, "
            f"product_embedding.text_embedding::vector({dim}) AS learned "
            f"FROM (SELECT %s::bigint AS id) AS query {_signal_joins('query.id')}"
        )
        return sql, [source.product_id, *_join_params(version, index)]
    if source.image is not None and version is not None:
        validate_embeddings(
            np.asarray(source.image, dtype=np.float32)[None, :], dim=version.embedding_dim
        )
    sql = f"SELECT %s::vector({dim}) AS image, %s::sparsevec AS lexical, %s::vector({dim})"
    return sql + " AS learned", [
        None if source.image is None else _vector_literal(source.image),
        _sparse(source.text).to_text() if source.text else None,
        None if source.learned is None else _vector_literal(source.learned),
    ]


@dataclass(frozen=True)
class CandidateSignals:
    """Similarities of one candidate to the source (None where a vector is missing)."""

    image: float | None
    text: float | None
    text_learned: float | None


def candidate_signals(
    *,
    version: ModelVersion | None,
    index: LexicalIndex | None,
    product_ids: Sequence[int],
    source: QueryVectors,
) -> dict[int, CandidateSignals]:
    """Cosine similarities (1 - distance) of each candidate's stored vectors to the source's."""
    source_sql, source_params = _source_sql(version, index, source)
    sql = (
        f"WITH source AS ({source_sql}) SELECT candidate.id, {_signal_columns(version)} "
        "FROM unnest(%s::bigint[]) AS candidate(id) CROSS JOIN source "
        f"{_signal_joins('candidate.id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*source_params, list(product_ids), *_join_params(version, index)])
        return {
            row[0]: CandidateSignals(
                *(None if value is None else float(value) for value in row[1:])
            )
            for row in cursor.fetchall()
        }


def _signal_columns(version: ModelVersion | None) -> str:
    """The image, lexical and text-tower similarities of the rows _signal_joins() adds to the
    `source` relation's vectors (_source_sql)."""
    dim = int(version.embedding_dim) if version else 1
    return (
        f"1 - (product_embedding.embedding::vector({dim}) <=> source.image), "
        "1 - (product_text.vector <=> source.lexical), "
        f"1 - (product_embedding.text_embedding::vector({dim}) <=> source.learned)"
    )


def _signal_joins(product_id: str) -> str:
    """A product's vectors under the version and the lexical index (parameters: _join_params)."""
    return (
        "LEFT JOIN similarity_productembedding product_embedding "
        f"ON product_embedding.product_id = {product_id} "
        "AND product_embedding.model_version_id = %s "
        "LEFT JOIN similarity_producttext product_text "
        f"ON product_text.product_id = {product_id} AND product_text.lexical_index_id = %s"
    )


def _join_params(version, index) -> list:
    return [version.pk if version else None, index.pk if index else None]


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
    clause, clause_params = _allowed_clause(allowed, exclude_product_ids, exclude_group_id)
    source_sql, params = _source_sql(version, index, source)
    searches = []  # (tier, the source's vector column, its k-NN SQL builder)
    if version is not None:
        searches.append((0, "image", partial(_nearest_sql, version, exact=image_exact, limit=k)))
    if index is not None:
        searches.append((1, "lexical", partial(_text_knn_sql, index, exact=text_exact, limit=k)))
    hits = []
    for tier, column, knn_sql in searches:
        query = f"(SELECT {column} FROM source)"
        # A missing source vector stops its scan before it starts (a one-time filter).
        nearest = knn_sql(f"AND {query} IS NOT NULL {clause}", query=query)
        hits.append(f"SELECT product_id, {tier} AS tier FROM ({nearest}) AS hit_{tier}")
        params += clause_params
    if not hits:
        return RankingCandidates([], False)
    sql = f"""
        WITH source AS ({source_sql}),
        candidate AS (
            SELECT DISTINCT ON (product_id) product_id, tier
            FROM ({" UNION ALL ".join(hits)}) AS hit ORDER BY product_id, tier
        )
        SELECT source.image IS NOT NULL, candidate.product_id, candidate.tier,
               {_signal_columns(version)},
               product.id, product.brand, category.path, product.tags, product.attributes::text,
               product.price, product.group_id
        FROM source LEFT JOIN (
            candidate
            LEFT JOIN catalog_product product
                ON product.id = candidate.product_id AND product.is_active
            LEFT JOIN catalog_category category ON category.id = product.category_id
            {_signal_joins("candidate.product_id")}
        ) ON true
    """
    params += _join_params(version, index)
    # Filters bring subqueries whose best plan depends on their values: planned every time.
    rows = _rows(sql, params, prepared=allowed is None and not (image_exact or text_exact))
    return RankingCandidates(
        [
            RankingCandidate(
                row[1],
                ("image", "text")[row[2]],
                CandidateSignals(*(None if value is None else float(value) for value in row[3:6])),
                None if row[6] is None else _ranking_facts(*row[6:]),
            )
            for row in rows
            if row[1] is not None  # the one row of a source without candidates
        ],
        bool(rows[0][0]),
    )


def _ranking_facts(pk, brand, path, tags, attributes, price, group) -> RankingFacts:
    return RankingFacts(
        pk,
        brand or "",
        path or "",
        tags or [],
        json.loads(attributes or "{}"),
        float(price),
        group or "",
    )


def _parse_vector(text: str) -> np.ndarray:
    return np.array(text.strip("[]").split(","), dtype=np.float32)


def product_vectors(*, version: ModelVersion) -> tuple[list[int], np.ndarray]:
    """All product ids and their image vectors under this version, in id order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT product_id, embedding::text FROM similarity_productembedding "
            "WHERE model_version_id = %s ORDER BY product_id",
            [version.pk],
        )
        rows = cursor.fetchall()
    if not rows:
        return [], np.zeros((0, version.embedding_dim), dtype=np.float32)
    return [row[0] for row in rows], np.stack([_parse_vector(row[1]) for row in rows])


def product_vectors_for(
    *, version: ModelVersion, product_ids: Sequence[int]
) -> dict[int, np.ndarray]:
    """Image vectors of these products under this version (for diversity re-ranking)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT product_id, embedding::text FROM similarity_productembedding "
            "WHERE model_version_id = %s AND product_id = ANY(%s)",
            [version.pk, list(product_ids)],
        )
        return {row[0]: _parse_vector(row[1]) for row in cursor.fetchall()}
