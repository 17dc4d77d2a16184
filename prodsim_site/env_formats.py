"""Environment variables in a format of their own (a throttle rate, a logging level, a database
or Redis URL, a currency, a PostgreSQL memory size), checked at start-up like env.py's, so a
wrong one stops it instead of failing each use."""

import logging
import os
import re
import ssl
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu.utils.url import parse_url

# DRF's throttle rates: requests per second, minute, hour or day (it reads the period's first
# letter, so "600/minute" works and "600" or "600 per minute" fails on every request).
RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")
DATABASE_SCHEMES = ("postgres", "postgresql")
# Never the value: it holds the password.
ERROR_DATABASE_URL = (
    "{name} is not a valid URL: check its port, and percent-encode characters such as / # ? % "
    "in the user name or password (urllib.parse.quote(password, safe=''))"
)
ERROR_DATABASE_NAME = (
    "{name} must name the database (postgres://user:password@host:5432/dbname) or a ?service="
)
# What both REDIS_URL's readers take: the cache (redis-py also reads unix://, Celery does not)
# and the broker (kombu also reads redis+socket://, redis-py does not); neither reads valkey://.
REDIS_SCHEMES = ("redis", "rediss")
REDIS_DB_PATH = re.compile(r"(/[0-9]*)?")
ERROR_REDIS_URL = (
    "{name} must be a redis:// or rediss:// URL naming a host, "
    "redis://[:password@]host[:port][/db] (the cache and the Celery broker both use it; "
    "unix sockets and other schemes are not supported)"
)
# An ISO 4217 code as the catalogue stores it (its CHECK constraint: ^[A-Z]{3}$). ASCII only:
# "ß".upper() is "SS" (catalog.importers.fields.currency_code, which settings cannot import).
CURRENCY = re.compile(r"[A-Z]{3}")
# PostgreSQL's memory settings: a whole number with an optional unit (case-sensitive; none: kB).
MEMORY = re.compile(r"([0-9]+) *(B|kB|MB|GB|TB)?")
MEMORY_UNITS = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4, None: 1024}
# maintenance_work_mem's bounds: 1 MB up to INT_MAX kB (PostgreSQL refuses either side of them).
MEMORY_BOUNDS = (1024**2, 2147483647 * 1024)


def env_rate(name: str, default: str) -> str:
    value = os.environ.get(name, default)
    if not RATE.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name} must be requests per period, e.g. 600/min (s, m, h or d), got {value!r}"
        )
    return value


def env_log_level(name: str, default: str) -> str:
    """A logging level name in any case (debug, WARNING)."""
    value = os.environ.get(name, default)
    if value.upper() not in logging.getLevelNamesMapping():
        raise ImproperlyConfigured(
            f"{name} must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {value!r}"
        )
    return value.upper()


def env_database_url(name: str, *, conn_max_age: int) -> dict | None:
    """Django's DATABASES entry for a PostgreSQL URL; None when unset."""
    value = os.environ.get(name)
    if not value:
        return None
    scheme = value.partition(":")[0]
    if scheme not in DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must be a postgres:// or postgresql:// URL (prodsim needs PostgreSQL with "
            f"pgvector), got one starting {scheme!r}"
        )
    try:
        database = dj_database_url.parse(value, conn_max_age=conn_max_age)
    except ValueError:  # a port that is not a number, a bracket left open, a '/' in a password
        raise ImproperlyConfigured(ERROR_DATABASE_URL.format(name=name)) from None
    # Django would refuse every connection (/health/ a 500, not its 503) for want of either.
    if not (database["NAME"] or database.get("OPTIONS", {}).get("service")):
        raise ImproperlyConfigured(ERROR_DATABASE_NAME.format(name=name))
    return database


def env_redis_url(name: str) -> str | None:
    """A Redis URL both the cache and the broker can use; None when unset. Never echoed: it may
    hold the password."""
    value = os.environ.get(name)
    if not value:
        return None
    try:
        url = urlsplit(value)
        url.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ImproperlyConfigured(ERROR_REDIS_URL.format(name=name)) from None
    if url.scheme not in REDIS_SCHEMES or not url.hostname or not REDIS_DB_PATH.fullmatch(url.path):
        raise ImproperlyConfigured(ERROR_REDIS_URL.format(name=name))
    return value


def redis_broker_ssl(name: str, url: str) -> dict | None:
    """Celery's broker_use_ssl for a rediss:// URL: the server's certificate verified, as the
    cache (redis-py) does, where kombu alone would fall back to CERT_NONE. The URL's ssl_*
    options (ssl_ca_certs, ssl_certfile, ssl_keyfile; ssl_cert_reqs given explicitly) win."""
    if urlsplit(url).scheme != "rediss":
        return None
    try:
        given = parse_url(url).get("ssl", {})
    except KeyError:  # kombu's parse of ssl_cert_reqs: none, optional or required
        raise ImproperlyConfigured(
            f"{name}'s ssl_cert_reqs must be none, optional or required"
        ) from None
    return {"ssl_cert_reqs": ssl.CERT_REQUIRED, **given}


def env_currency(name: str, default: str) -> str:
    """A three-letter ISO 4217 code in any case, upper-cased as the catalogue stores it."""
    value = os.environ.get(name, default)
    code = value.strip().upper()
    if not (value.isascii() and CURRENCY.fullmatch(code)):
        raise ImproperlyConfigured(f"{name} must be a three-letter ISO 4217 code, got {value!r}")
    return code


def env_memory(name: str, default: str) -> str:
    """A PostgreSQL memory size for maintenance_work_mem (512MB, 3GB), as PostgreSQL reads it:
    set only at an index build, a typo would fail the build after a whole training."""
    value = os.environ.get(name, default)
    low, high = MEMORY_BOUNDS
    if not (match := MEMORY.fullmatch(value.strip())):
        raise ImproperlyConfigured(
            f"{name} must be a PostgreSQL memory size, digits and kB, MB, GB or TB "
            f"(e.g. 512MB), got {value!r}"
        )
    if not low <= int(match[1]) * MEMORY_UNITS[match[2]] <= high:
        raise ImproperlyConfigured(f"{name} must be at least 1MB and below 2TB, got {value!r}")
    return value.strip()
