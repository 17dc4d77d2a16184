"""`make run`: prepare a ready-to-click prodsim on the embedded services, then run all processes.

Steps: start services → migrate → collect static files → make sure an admin exists → load the
demo catalogue and its order and browsing history into an empty shop → queue the first image
and sequence models → print where everything is → run web + workers (Procfile) until Ctrl-C →
stop the services, keeping their data for the next run.
"""

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from prodsim_site import embedded
from prodsim_site.embedded import paths
from prodsim_site.first_run import load_demo_history, queue_first_models

ADMIN_USERNAME = "admin"
HONCHO_STOP_TIMEOUT_S = 30


def admin_password_file() -> Path:
    return paths.var_dir() / "admin-password.txt"


def ensure_admin() -> str:
    """Create the admin account on first run; its password is kept in var/ for later runs."""
    password_file = admin_password_file()
    user_model = get_user_model()
    if (
        not password_file.exists()
        or not user_model.objects.filter(username=ADMIN_USERNAME).exists()
    ):
        password = secrets.token_urlsafe(12)
        user, _ = user_model.objects.get_or_create(username=ADMIN_USERNAME)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
    return password_file.read_text().strip()


def prepare(stdout) -> str:
    embedded.ensure_started()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    password = ensure_admin()
    from catalog.models import Product  # after migrate: the table exists now

    if not Product.objects.exists():
        stdout.write("Loading the demo catalogue (first run only)…\n")
        call_command("demo_catalogue", stdout=stdout)
        load_demo_history(stdout)
    queue_first_models(stdout)
    return password


def banner(password: str) -> str:
    host = os.environ.get("PRODSIM_HOST", "127.0.0.1")
    base = f"http://{host}:{os.environ.get('PRODSIM_PORT', '8000')}"
    return (
        "\n  prodsim is starting\n"
        f"    storefront : {base}/\n"
        f"    admin      : {base}/admin/   (user {ADMIN_USERNAME!r}, password {password!r})\n"
        f"    API docs   : {base}/api/docs/\n"
        f"    data       : {paths.var_dir()}\n"
        "  Ctrl-C stops everything; data is kept for the next run.\n\n"
    )


def run_processes() -> int:
    """Run the Procfile with honcho in the foreground; return its exit code."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "honcho", "-f", str(settings.BASE_DIR / "Procfile"), "start"],
        cwd=settings.BASE_DIR,
        env=env,
    )
    try:
        return process.wait()
    except KeyboardInterrupt:
        # The terminal sent SIGINT to honcho too; give it time to stop its children cleanly.
        try:
            return process.wait(timeout=HONCHO_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            return process.wait()


def run_all(stdout) -> int:
    password = prepare(stdout)
    stdout.write(banner(password))
    try:
        return run_processes()
    finally:
        stopped = embedded.stop()
        stdout.write(
            f"Stopped embedded services: {', '.join(k for k, v in stopped.items() if v)}\n"
        )
