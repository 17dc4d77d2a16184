"""tests/processes.py: a worker child is pointed at the very server and database of its parent."""

import dj_database_url
import pytest
from django.db import connections

from tests.processes import database_url_for_subprocess

FIELDS = (("user", "USER"), ("password", "PASSWORD"), ("host", "HOST"), ("port", "PORT"))


def connection_params(db: dict) -> dict:
    """What psycopg is given, as Django builds it: NAME, OPTIONS, then the fields set."""
    params = {"dbname": db["NAME"], **db.get("OPTIONS", {})}
    params.update({key: db[field] for key, field in FIELDS if db[field]})
    return {key: str(value) for key, value in params.items()}


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://ci@/test_shop?host=/run/Cloud SQL/proj:db",  # a socket only in the query
        "postgresql://ci:p%2Fw@/test_shop?host=/run/pg&sslmode=require&connect_timeout=5",
        "postgres://ci:pw@db.example:6432/test_shop?sslmode=verify-full",
        None,  # this run's own settings (the embedded server: its socket directory as HOST)
    ],
)
def test_the_child_connects_with_the_parents_parameters(monkeypatch, url):
    # The socket in OPTIONS and every option were dropped: children went to localhost:5432.
    parent = {**connections["default"].settings_dict, **(dj_database_url.parse(url) if url else {})}
    monkeypatch.setattr(connections["default"], "settings_dict", parent)

    child = dj_database_url.parse(database_url_for_subprocess())

    assert connection_params(child) == connection_params(parent)
