"""The prepared ranking statement, and the Django and psycopg internals its cursor relies on.

similarity/vector_store/prepared.py confines those internals to _preparing_cursor(); the
`test_*_internal_*` tests below pin each, so an upgrade that changes one fails here by name
rather than as a wrong query log or a silently unprepared statement.
"""

import inspect

import psycopg
import pytest
from django.db import ProgrammingError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.test.utils import CaptureQueriesContext
from psycopg._cursor_base import BaseCursor

from similarity import vector_store
from similarity.models import ModelVersion
from similarity.vector_store import Statement
from similarity.vector_store.prepared import rows_fetch
from tests.catalog.factories import shape_catalogue

from .factories import store, unit, version

pytestmark = pytest.mark.django_db


def _prepared_rankings(v: ModelVersion) -> list[tuple[int, int]]:
    """(generic plans, custom plans) of this connection's prepared ranking statements of `v`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s AND statement LIKE %s",
            ["%WITH source AS%", f"%model_version_id = {v.pk} %"],
        )
        return cursor.fetchall()


def test_the_unfiltered_ranking_statement_is_prepared_and_answers_as_planned_afresh(settings):
    from catalog.models import Product

    products = shape_catalogue(colours=1)  # 4 products
    v = version(2)
    store(v, products, [unit(1, 0), unit(0.9, 0.1), unit(0, 1), unit(-1, 0.2)])
    vector_store.hnsw_index_build(version=v)

    def ranked(product, **filters):
        found = vector_store.ranking_candidates(
            version=v,
            index=None,
            source=vector_store.StoredVectors(product.pk),
            k=2,
            exclude_product_ids=[product.pk],
            **filters,
        )
        return [(c.product_id, c.tier, c.signals, c.facts) for c in found.items]

    settings.PRODSIM_PREPARED_STATEMENTS = False
    planned_afresh = [ranked(product) for product in products]
    assert _prepared_rankings(v) == []

    settings.PRODSIM_PREPARED_STATEMENTS = True
    for _ in range(3):
        assert [ranked(product) for product in products] == planned_afresh
    # One statement for all twelve runs, planned with its values five times, then by the
    # generic plan PostgreSQL settled on.
    [(generic, custom)] = _prepared_rankings(v)
    assert (generic, custom) == (7, 5)
    # Django's query log (DEBUG, assertNumQueries, the debug toolbar) shows it with its values.
    with CaptureQueriesContext(connection) as queries:
        ranked(products[0])
    [logged] = [query["sql"] for query in queries]
    assert f"SELECT {products[0].pk}::bigint AS id" in logged

    # A filter's subquery is planned with its values every time: not prepared.
    allowed = Product.objects.filter(pk__in=[p.pk for p in products[1:3]])
    assert {pid for pid, *_ in ranked(products[0], allowed=allowed)} == {
        products[1].pk,
        products[2].pk,
    }
    assert _prepared_rankings(v) == [(8, 5)]


def test_a_prepared_fetch_goes_through_execute_wrappers_and_djangos_database_errors():
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append((sql, params))
        return execute(sql, params, many, context)

    statement = Statement("SELECT %s::int AS answer, 'x' AS letter", (42,))
    with connection.execute_wrapper(wrapper):
        rows = rows_fetch(statement, ("answer", "letter"), prepared=True)

    assert [row._asdict() for row in rows] == [{"answer": 42, "letter": "x"}]
    assert seen == [(statement.sql, statement.params)]
    with pytest.raises(ProgrammingError, match="no_such_table"):  # Django's, not psycopg's
        rows_fetch(Statement("SELECT * FROM no_such_table"), ("id",), prepared=True)


def test_django_internal_prepare_cursor_wraps_a_cursor_as_connection_cursor_does():
    assert list(inspect.signature(BaseDatabaseWrapper._prepare_cursor).parameters) == [
        "self",
        "cursor",
    ]
    connection.ensure_connection()
    raw = ServerBindingCursor(connection.connection)
    wrapped = connection._prepare_cursor(raw)
    assert isinstance(wrapped, CursorWrapper) and wrapped.cursor is raw
    connection.force_debug_cursor = True
    try:
        assert isinstance(connection._prepare_cursor(raw), CursorDebugWrapper)
    finally:
        connection.force_debug_cursor = False
    raw.close()


def test_django_internal_the_query_log_reads_psycopgs_private_query_attribute():
    class Query:
        query = b"SELECT 'as logged'"

    connection.ensure_connection()
    assert not connection.features.uses_server_side_binding  # else the log composes itself
    with ServerBindingCursor(connection.connection) as cursor:
        cursor._query = Query()
        assert connection.ops.last_executed_query(cursor, "SELECT 1", ()) == "SELECT 'as logged'"


def test_psycopg_internal_cursors_keep_their_query_where_django_reads_it():
    assert "_query" in BaseCursor.__slots__
    assert {"prepare", "binary"} <= set(inspect.signature(psycopg.Cursor.execute).parameters)
    connection.ensure_connection()
    assert hasattr(connection.connection, "prepare_threshold")
    with ServerBindingCursor(connection.connection) as cursor:
        cursor._query = "the previous statement's"
        cursor.execute("SELECT %s::int", (1,), prepare=True)
        # Reset per statement and, binding on the server, left empty: Django's query log would
        # show nothing, hence the stand-in that prepared.py writes in after each statement.
        assert cursor._query is None
