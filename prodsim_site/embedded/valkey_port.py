"""Who answers on the embedded Valkey's port: our server, another one, or nobody.

The port is chosen once and kept (var/valkey/port), so while this checkout's server is stopped
another checkout's Valkey may take it; that server is neither used as ours nor shut down.
"""

import os
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import paths


def client() -> redis.Redis:
    # One try: a probe asks whether anything answers now, and redis-py's default retries with
    # backoff would make every probe of a stopped server (start, stop, status) wait seconds.
    return redis.Redis(
        host="127.0.0.1",
        port=paths.valkey_port(),
        socket_connect_timeout=2,
        retry=Retry(NoBackoff(), retries=0),
    )


def served_dir() -> str | None:
    """The data directory of the server answering on the port ("" if it will not say); None
    when nothing answers."""
    answering = client()
    try:
        answering.ping()
    except redis.RedisError:
        return None
    try:
        return answering.config_get("dir").get("dir", "")
    except redis.RedisError:  # CONFIG renamed or refused: not a server we configured
        return ""


def is_ours(directory: str | None) -> bool:
    return bool(directory) and Path(directory).resolve() == paths.valkey_dir().resolve()


def taken_message(directory: str) -> str:
    how = (
        "set PRODSIM_VALKEY_PORT to a free port"
        if os.environ.get("PRODSIM_VALKEY_PORT")
        else f"delete {paths.valkey_port_file()} (a free port is chosen) or set PRODSIM_VALKEY_PORT"
    )
    return (
        f"127.0.0.1:{paths.valkey_port()} is held by another server (data in "
        f"{directory or 'unknown'}), not this checkout's Valkey ({paths.valkey_dir()}). "
        f"Stop that server, or {how}."
    )
