"""Environment variables in a format of their own (a throttle rate, a logging level, a database
URL), checked at start-up like env.py's, so a wrong one stops it instead of failing each use."""

import logging
import os
import re

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

# DRF's throttle rates: requests per second, minute, hour or day (it reads the period's first
# letter, so "600/minute" works and "600" or "600 per minute" fails on every request).
RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")
DATABASE_SCHEMES = ("postgres", "postgresql")


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
