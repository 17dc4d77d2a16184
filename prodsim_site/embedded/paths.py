"""Where the embedded services keep their data, and how clients reach them.

Pure functions over the environment: importing this module starts nothing, so settings.py can
compute connection parameters before any server runs.
"""

import hashlib
import os
import socket
import tempfile
from pathlib import Path

from prodsim_site.env import env_int

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Unix socket paths are limited to 107 bytes (sun_path); PostgreSQL appends "/.s.PGSQL.5432".
MAX_SOCKET_PATH = 100
POSTGRES_PORT = 5432
MAX_PORT = 65535
DATABASE_NAME = "prodsim"
DATABASE_USER = "postgres"


def var_dir() -> Path:
    """The root of all embedded data: `var/` beside manage.py, or PRODSIM_VAR_DIR."""
    return Path(os.environ.get("PRODSIM_VAR_DIR", BASE_DIR / "var")).resolve()


def postgres_data_dir() -> Path:
    return var_dir() / "pg"


def postgres_socket_dir() -> Path:
    """The data directory when its socket path fits, else a short per-checkout directory in /tmp."""
    data_dir = postgres_data_dir()
    if len(str(data_dir / f".s.PGSQL.{POSTGRES_PORT}")) <= MAX_SOCKET_PATH:
        return data_dir
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"prodsim-pg-{digest}"


def valkey_dir() -> Path:
    return var_dir() / "valkey"


def valkey_port_file() -> Path:
    return valkey_dir() / "port"


def valkey_port() -> int:
    """The embedded Valkey's loopback port: PRODSIM_VALKEY_PORT, else one chosen once and kept.

    The port is picked on first use and written to var/valkey/port, so web, workers and tests
    started later agree on it without asking a running server.
    """
    if os.environ.get("PRODSIM_VALKEY_PORT"):
        return env_int("PRODSIM_VALKEY_PORT", 0, minimum=1, maximum=MAX_PORT)
    port_file = valkey_port_file()
    try:
        return int(port_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        pass
    port_file.parent.mkdir(parents=True, exist_ok=True)
    candidate = port_file.with_suffix(f".{os.getpid()}")
    candidate.write_text(str(_free_loopback_port()))
    try:
        # link() fails if another process won the race; everyone then reads the winner's port.
        os.link(candidate, port_file)
    except FileExistsError:
        pass
    finally:
        candidate.unlink(missing_ok=True)
    return int(port_file.read_text().strip())


def valkey_url(db: int = 0) -> str:
    return f"redis://127.0.0.1:{valkey_port()}/{db}"


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_settings() -> dict:
    """Django DATABASES entry for the embedded server (unix socket, trust auth)."""
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PRODSIM_DATABASE_NAME", DATABASE_NAME),
        "USER": DATABASE_USER,
        "PASSWORD": "",
        "HOST": str(postgres_socket_dir()),
        "PORT": str(POSTGRES_PORT),
    }
