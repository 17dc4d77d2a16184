"""Fetching a statement's rows by column name, as a prepared statement where that pays.

Django has no prepared statements: its cursors bind parameters on the client. A statement that
repeats gets a server-binding cursor here, made in _preparing_cursor(), the one function that
leans on Django's and psycopg's internals; tests/similarity/vector_store/test_prepared.py pins
each internal it uses, so an upgrade that changes one fails there, loudly.
"""

from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property, lru_cache

from django.conf import settings
from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.utils import CursorWrapper

from .sql import Statement

# Django switches psycopg's automatic preparing off (for connection poolers); a threshold no
# statement reaches keeps it off for every other cursor while _preparing_cursor asks explicitly.
PREPARE_ONLY_WHEN_ASKED = 2**31 - 1


def rows_fetch(
    statement: Statement, columns: tuple[str, ...], *, prepared: bool = False
) -> list[tuple]:
    """All rows of `statement` as named tuples whose fields are the `columns` it selects, in
    their order (a count that differs is an error). `prepared`: as a prepared statement whose
    plan PostgreSQL keeps (unless settings.PRODSIM_PREPARED_STATEMENTS is off).

    Only for statements whose text repeats and whose best plan does not hang on the parameter
    values (no filter subqueries): after five runs PostgreSQL settles on one generic plan, so
    parsing and planning happen once per connection (the ranking call at 100k products: 2.7 ms
    instead of 3.7, interleaved in-process). The cursor goes through Django's wrappers like any
    other: the database errors, execute_wrapper() and the query log all see it.

    The names come from the caller, not from `cursor.description` (psycopg looks up each
    column's type to describe it: ~12 µs for the ranking statement's 13 columns), and rows are
    named tuples, not dicts (~0.2 µs a row instead of ~0.8; the ranking statement reads up to a
    hundred)."""
    make = _row_type(columns)._make
    use_prepared = prepared and settings.PRODSIM_PREPARED_STATEMENTS
    with _preparing_cursor() if use_prepared else connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.params)
        return [make(row) for row in cursor.fetchall()]


@lru_cache(maxsize=64)  # one per statement's column list: a handful
def _row_type(columns: tuple[str, ...]) -> type[tuple]:
    return namedtuple("Row", columns)


class _LoggedQuery:
    """The statement as Django's query log reads it off a cursor (`cursor._query.query`, which
    only client-side cursors keep): its SQL with the values written in, composed when read."""

    def __init__(self, sql: str, params):
        self.sql, self.params = sql, params

    @cached_property
    def query(self) -> bytes:
        return connection.ops.compose_sql(self.sql, self.params).encode()


@contextmanager
def _preparing_cursor() -> Iterator[CursorWrapper]:
    """A cursor as `connection.cursor()` makes one (health check, connection, database errors,
    execute_wrapper(), the query log), except that it binds parameters on the server and
    prepares every statement it runs: psycopg keeps the prepared statements per connection
    (the `prepared_max` most recent) and reuses them by text.

    The internals it relies on, each pinned by test_prepared.py:
    - Django's private `connection._prepare_cursor(cursor)`, which wraps a cursor exactly as
      `connection.cursor()` does (the debug wrapper when queries are logged);
    - Django's query log reads psycopg's private `cursor._query.query` for the SQL it shows:
      a server-binding cursor leaves `_query` empty, so a stand-in is written in after each
      statement that shows the SQL with its values, as a client-side cursor's would.
    """
    connection.close_if_health_check_failed()  # as connection.cursor() does
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = PREPARE_ONLY_WHEN_ASKED
    cursor = ServerBindingCursor(raw)

    def execute_prepared(query, params=None):  # what Django's wrappers call
        ServerBindingCursor.execute(cursor, query, params, prepare=True)
        cursor._query = _LoggedQuery(query, params)
        return cursor

    cursor.execute = execute_prepared
    try:
        with connection.wrap_database_errors:
            wrapped = connection._prepare_cursor(cursor)
        with wrapped:
            yield wrapped
    finally:
        del cursor.execute  # it refers to the cursor: leave no reference cycle behind
