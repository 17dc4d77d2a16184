"""How every connection searches HNSW: prodsim's ef_search and pgvector 0.8's iterative scan."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.backends.signals import connection_created
from django.db.backends.utils import CursorWrapper

DEFAULT_EF_SEARCH = 100  # pgvector's default 40 loses recall when results are filtered


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


@contextmanager
def search_cursor(*, ef_search: int, exact: bool) -> Iterator[CursorWrapper]:
    """A cursor whose searches walk HNSW with `ef_search`: the session's own cursor when that is
    its setting (or the search is exact), else one in a transaction that sets it locally."""
    if exact or ef_search == DEFAULT_EF_SEARCH:  # the session's settings apply: one statement
        with connection.cursor() as cursor:
            yield cursor
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef_search)])
        yield cursor
