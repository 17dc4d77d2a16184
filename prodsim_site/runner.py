"""`make run`: prepare a ready-to-click prodsim on the embedded services, then run all processes.

Steps: start services → migrate → collect static files → make sure an admin exists → load the
demo catalogue and its order and browsing history into an empty shop (or finish what a stopped
run began) → queue the first image and sequence models → print where everything is → run web +
workers (Procfile) until Ctrl-C → stop the services, keeping their data for the next run.
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
# The demo shop's progress in var/demo-shop.txt: "started" is written before its first step,
# "loaded" after its last.
DEMO_STARTED, DEMO_LOADED = "started", "loaded"


def admin_password_file() -> Path:
    return paths.var_dir() / "admin-password.txt"


def demo_shop_file() -> Path:
    return paths.var_dir() / "demo-shop.txt"


def ensure_admin() -> str | None:
    """Create the admin account on first run; its password is kept in var/ for later runs.

    An `admin` that exists without that password (a restored shop's: var/ is not part of a
    backup) is left alone, password and rights: None."""
    password_file = admin_password_file()
    user_model = get_user_model()
    admin = user_model.objects.filter(username=ADMIN_USERNAME).first()
    if admin is None:
        password = secrets.token_urlsafe(12)
        admin = user_model(username=ADMIN_USERNAME, is_staff=True, is_superuser=True)
        admin.set_password(password)
        admin.save()
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        return password
    password = password_file.read_text().strip() if password_file.exists() else ""
    return password if password and admin.check_password(password) else None


def demo_shop_load(stdout) -> None:
    """The demo catalogue and its history, into an empty shop.

    A run stopped half way (Ctrl-C during the import or the history) left "started": the next
    run does both again (each is safe to repeat: the import updates the rows it finds, the
    history's event ids repeat). A shop with products and without "started" (its operator's
    own, or a finished demo) gets no demo data."""
    from catalog.models import Product  # after migrate: the table exists now

    state_file = demo_shop_file()
    state = state_file.read_text().strip() if state_file.exists() else None
    if not Product.objects.exists():
        state_file.write_text(DEMO_STARTED + "\n")
        stdout.write("Loading the demo catalogue into the empty shop…\n")
    elif state == DEMO_STARTED:
        stdout.write("Completing the demo shop (a run stopped before it finished)…\n")
    else:
        return
    call_command("demo_catalogue", stdout=stdout)
    load_demo_history(stdout)
    state_file.write_text(DEMO_LOADED + "\n")


def prepare(stdout) -> str | None:
    embedded.ensure_started()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    password = ensure_admin()
    demo_shop_load(stdout)
    queue_first_models(stdout)
    return password


def banner(password: str | None) -> str:
    host = os.environ.get("PRODSIM_HOST", "127.0.0.1")
    base = f"http://{host}:{os.environ.get('PRODSIM_PORT', '8000')}"
    sign_in = f"password {password!r}" if password else "the password it had (kept as it was)"
    return (
        "\n  prodsim is starting\n"
        f"    storefront : {base}/\n"
        f"    admin      : {base}/admin/   (user {ADMIN_USERNAME!r}, {sign_in})\n"
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
    try:  # a failed or interrupted first run (migrate, the demo's import) stops them too
        password = prepare(stdout)
        stdout.write(banner(password))
        return run_processes()
    finally:
        stopped = embedded.stop()
        stdout.write(
            f"Stopped embedded services: {', '.join(k for k, v in stopped.items() if v)}\n"
        )
