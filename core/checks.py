"""System checks that need the database: the pgvector extension must be new enough."""

from django.conf import settings
from django.core import checks
from django.db import connections

ERROR_PGVECTOR_MISSING = "the pgvector extension is not installed in database {alias!r}"
ERROR_PGVECTOR_TOO_OLD = (
    "pgvector {installed} in database {alias!r} is older than {minimum} "
    "(earlier versions overflow a buffer in parallel HNSW builds, CVE-2026-3172)"
)
HINT_PGVECTOR = "Upgrade the extension package, then run ALTER EXTENSION vector UPDATE."


def pgvector_version(alias: str) -> str | None:
    """The installed `vector` extension's version, or None when it is not installed."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    return row[0] if row else None


def _as_tuple(version: str) -> tuple[int, ...]:
    # "0.8.2", "0.10.0" and packaged suffixes like "0.8.2-1" compare numerically.
    return tuple(int(part) for part in version.split("-")[0].split("."))


def pgvector_version_errors(*, alias: str, installed: str | None, minimum: str) -> list:
    if installed is None:
        return [checks.Error(ERROR_PGVECTOR_MISSING.format(alias=alias), id="prodsim.E001")]
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
