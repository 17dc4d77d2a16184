"""System checks that need the database: the pgvector extension must be new enough."""

from django.conf import settings
from django.core import checks
from django.db import connections

ERROR_PGVECTOR_MISSING = (
    "the pgvector extension is neither installed in database {alias!r} nor available to install "
    "on its server"
)
HINT_PGVECTOR_MISSING = "Install pgvector {minimum} or later on the PostgreSQL server."
ERROR_PGVECTOR_TOO_OLD = (
    "pgvector {installed} in database {alias!r} is older than {minimum} "
    "(earlier versions overflow a buffer in parallel HNSW builds, CVE-2026-3172)"
)
HINT_PGVECTOR = "Upgrade the extension package, then run ALTER EXTENSION vector UPDATE."


# The installed version or, on a database `migrate` has not set up yet, the one its first
# migration will install (CREATE EXTENSION takes the server's default version): a fresh database
# must pass, or `migrate` could never create the extension.
VERSION_SQL = (
    "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'vector'), "
    "(SELECT default_version FROM pg_available_extensions WHERE name = 'vector'))"
)


def pgvector_version(alias: str) -> str | None:
    """The `vector` extension's version installed, else the one migrate would install; None
    when the server has no pgvector."""
    with connections[alias].cursor() as cursor:
        cursor.execute(VERSION_SQL)
        (version,) = cursor.fetchone()
    return version


def _as_tuple(version: str) -> tuple[int, ...]:
    # "0.8.2", "0.10.0" and packaged suffixes like "0.8.2-1" compare numerically.
    return tuple(int(part) for part in version.split("-")[0].split("."))


def pgvector_version_errors(*, alias: str, installed: str | None, minimum: str) -> list:
    if installed is None:
        message, hint = ERROR_PGVECTOR_MISSING.format(alias=alias), HINT_PGVECTOR_MISSING
        return [checks.Error(message, hint=hint.format(minimum=minimum), id="prodsim.E001")]
    if _as_tuple(installed) < _as_tuple(minimum):
        message = ERROR_PGVECTOR_TOO_OLD.format(installed=installed, alias=alias, minimum=minimum)
        return [checks.Error(message, hint=HINT_PGVECTOR, id="prodsim.E002")]
    return []


@checks.register(checks.Tags.database)
def check_pgvector_version(app_configs=None, databases=None, **kwargs) -> list:
    """Run by `migrate` and `check --database default` (database checks never run offline)."""
    errors = []
    for alias in databases or []:
        errors += pgvector_version_errors(
            alias=alias,
            installed=pgvector_version(alias),
            minimum=settings.PRODSIM_PGVECTOR_MIN_VERSION,
        )
    return errors
