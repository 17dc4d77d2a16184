"""Environment variables in a format of their own (a throttle rate, a logging level, a database
URL, a currency, a PostgreSQL memory size), checked at start-up like env.py's, so a wrong one
stops it instead of failing each use."""

import logging
import os
import re

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

# DRF's throttle rates: requests per second, minute, hour or day (it reads the period's first
# letter, so "600/minute" works and "600" or "600 per minute" fails on every request).
RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")
DATABASE_SCHEMES = ("postgres", "postgresql")
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
        return dj_database_url.parse(value, conn_max_age=conn_max_age)
    except ValueError:  # a port that is not a number, a bracket left open
        raise ImproperlyConfigured(f"{name} is not a valid URL (check its port)") from None


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
