"""docker-compose.yml and the Dockerfile agree with prodsim's settings.

No Docker engine is needed: the files are parsed and checked by construction. No database either.
"""

import json
import re
import shlex
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import dj_database_url
import pytest
import yaml
from django.conf import settings

from tests.celery_workers import beat_queues, option, routed_queues, worker_queues

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
# The files whose os.environ reads define which variables prodsim understands.
SETTINGS_SOURCES = [
    *(ROOT / "prodsim_site").glob("settings*.py"),
    *(ROOT / "prodsim_site" / "embedded").glob("*.py"),
]

EXPECTED_SERVICES = {"db", "redis", "migrate", "web", "worker", "ml", "periodic", "beat"}
APP_SERVICES = {"migrate", "web", "worker", "ml", "periodic", "beat"}
LONG_RUNNING_APP_SERVICES = {"web", "worker", "ml", "periodic", "beat"}
APP_IMAGE = "prodsim:latest"
EXPECTED_APP_DEPENDS_ON = {
    "db": "service_healthy",
    "redis": "service_healthy",
    "migrate": "service_completed_successfully",
}
# ${VAR:-default} and ${VAR-default}: compose's "use the default when unset" forms.
DEFAULT_SUBSTITUTION = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}")
QUOTED_ENV_NAME = re.compile(r"\"([A-Z][A-Z0-9_]*)\"")
DEFAULT_CELERY_NODE = "celery@%h"


# ${VAR:?message}: compose refuses to start without VAR.
REQUIRED_SUBSTITUTION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?[^}]*\}")
SECRETS = {"DJANGO_SECRET_KEY", "PRODSIM_VISITOR_KEY", "POSTGRES_PASSWORD"}


def with_defaults(value: str) -> str:
    """value with every ${VAR:-default} / ${VAR-default} replaced by its default and every
    required ${VAR:?message} by a sample value, "sample-VAR"."""
    value = DEFAULT_SUBSTITUTION.sub(lambda match: match.group(1), value)
    return REQUIRED_SUBSTITUTION.sub(lambda match: f"sample-{match.group(1)}", value)


def argv(command) -> list[str]:
    """A compose command (string or list) as an argument vector."""
    return shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]


def is_celery_worker(args: list[str]) -> bool:
    return args[:1] == ["celery"] and "worker" in args


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def workers(services) -> dict[str, list[str]]:
    return {
        name: args
        for name, service in services.items()
        if is_celery_worker(args := argv(service.get("command", [])))
    }


def test_services_are_exactly_the_deployment(services):
    assert set(services) == EXPECTED_SERVICES


def test_app_services_run_the_prodsim_image(services):
    for name in APP_SERVICES - {"ml"}:
        assert services[name]["image"] == APP_IMAGE, name
        assert services[name]["build"] == ".", name


def test_the_ml_image_is_the_cpu_build_unless_the_host_names_the_gpu_one(services):
    """tensorflow-cpu cannot see a GPU: the ml image takes another TensorFlow requirement when
    PRODSIM_ML_TENSORFLOW names one, and is the same CPU build as the others when it does not."""
    build = services["ml"]["build"]
    assert (build["context"], services["ml"]["image"]) == (".", "prodsim-ml:latest")
    assert with_defaults(build["args"]["TENSORFLOW"]) == ""
    assert "PRODSIM_ML_TENSORFLOW" in build["args"]["TENSORFLOW"]
    dockerfile = DOCKERFILE.read_text()
    assert re.search(r'^ARG TENSORFLOW=""$', dockerfile, re.M)
    assert 'pip uninstall --yes tensorflow-cpu && pip install --no-cache-dir "$TENSORFLOW"' in (
        dockerfile
    )


def test_beat_keeps_its_schedule_on_a_volume(services):
    """In the container's own layer, every new container (each `up --build`) would start the
    daily tasks' clocks again: a shop deploying daily would never run retention."""
    schedule = PurePosixPath(option(argv(services["beat"]["command"]), "-s", "--schedule"))
    mounts = {
        PurePosixPath(volume.split(":")[1]): volume.split(":")[0]
        for volume in services["beat"]["volumes"]
    }
    assert mounts.get(schedule.parent) == "beat"


def test_the_app_services_read_the_shops_env_file_and_the_image_leaves_it_out(services):
    """Compose passes only the variables it names: the other settings reach the services
    through .env, which must never be baked into the image."""
    for name in APP_SERVICES:
        assert {"path": ".env", "required": False} in services[name]["env_file"], name
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".env.*" in ignored


def test_db_is_pgvector_on_postgres_18(services):
    image = services["db"]["image"]
    assert image.startswith("pgvector/pgvector:")
    assert re.fullmatch(r"pgvector/pgvector:(\d+\.\d+\.\d+-)?pg18", image)


def test_named_volumes_are_declared_and_used(compose, services):
    used = set()
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source")
            if source and not source.startswith((".", "/", "~")):
                used.add(source)
    assert used == set(compose.get("volumes") or {})


def test_every_long_running_service_has_a_healthcheck(services):
    for name, service in services.items():
        if name == "migrate":
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and test != ["NONE"], name


def test_app_services_wait_for_healthy_backends_and_migrations(services):
    for name in LONG_RUNNING_APP_SERVICES:
        depends_on = services[name]["depends_on"]
        conditions = {dependency: spec["condition"] for dependency, spec in depends_on.items()}
        assert conditions == EXPECTED_APP_DEPENDS_ON, name


def test_ml_worker_has_its_queue_one_process_and_a_gpu(services, workers):
    args = workers["ml"]
    assert worker_queues(args) == {"ml"}
    assert option(args, "-c", "--concurrency") == "1"
    devices = services["ml"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(
        device.get("driver") == "nvidia" and "gpu" in device.get("capabilities", [])
        for device in devices
    )


def test_default_worker_consumes_the_default_queue(workers):
    assert "default" in worker_queues(workers["worker"])


def test_workers_consume_exactly_the_routed_queues(workers):
    consumed = set().union(*(worker_queues(args) for args in workers.values()))
    assert consumed == routed_queues()


def test_beats_tasks_have_a_worker_of_their_own_with_two_slots(workers):
    """On the default worker's slots, two hour-long imports left the refresh, the reaper and
    the replay to expire unread; two slots let the reaper run beside a long full rebuild."""
    queues = beat_queues()
    assert queues == {settings.PERIODIC_QUEUE}
    (name,) = [name for name, args in workers.items() if worker_queues(args) & queues]
    assert worker_queues(workers[name]) == queues
    assert int(option(workers[name], "-c", "--concurrency")) >= 2


def test_worker_healthchecks_ping_their_own_node(services, workers):
    for name, args in workers.items():
        node = option(args, "-n", "--hostname") or DEFAULT_CELERY_NODE
        check = " ".join(argv(services[name]["healthcheck"]["test"]))
        # Compose turns $$ into $, and the container's shell expands $HOSTNAME like Celery's %h.
        expected = node.replace("%h", "$$HOSTNAME")
        assert f"-d {expected}" in check, name


def test_database_url_points_at_the_db_service(services):
    db_env = services["db"]["environment"]
    for name in APP_SERVICES:
        database = dj_database_url.parse(
            with_defaults(services[name]["environment"]["DATABASE_URL"])
        )
        assert database["HOST"] == "db", name
        assert database["NAME"] == db_env["POSTGRES_DB"], name
        assert database["USER"] == db_env["POSTGRES_USER"], name
        assert database["PASSWORD"] == with_defaults(db_env["POSTGRES_PASSWORD"]), name


def test_every_secret_must_be_set_with_no_weak_default():
    """POSTGRES_PASSWORD fell back to "prodsim": forgotten, the database got a guessable
    password, and one set later no longer matched the volume initialised with it."""
    text = COMPOSE_FILE.read_text()
    for name in SECRETS:
        assert f"${{{name}:?" in text, name
        assert not re.search(rf"\$\{{{name}:?-", text), name


def test_redis_url_points_at_the_redis_service(services):
    for name in APP_SERVICES:
        assert urlparse(services[name]["environment"]["REDIS_URL"]).hostname == "redis", name


def test_app_environment_names_are_read_by_settings(services):
    known = set()
    for source in SETTINGS_SOURCES:
        known |= set(QUOTED_ENV_NAME.findall(source.read_text()))
    for name in APP_SERVICES:
        assert set(services[name]["environment"]) <= known, name


def test_production_runs_without_debug(services):
    for name in APP_SERVICES:
        assert str(services[name]["environment"]["DJANGO_DEBUG"]).lower() == "false", name


def test_image_and_web_service_serve_the_wsgi_app_with_gunicorn(services):
    cmd_lines = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD ")]
    image_cmd = json.loads(cmd_lines[-1].removeprefix("CMD "))
    web_cmd = argv(services["web"]["command"])
    for command in (image_cmd, web_cmd):
        assert command[0] == "gunicorn"
        assert "prodsim_site.wsgi:application" in command
        # Access lines on stdout, as the Procfile writes them (masked by the logger class).
        assert option(command, "--access-logfile") == "-"
    assert web_cmd == image_cmd


def test_beat_writes_its_schedule_where_the_app_user_may_write(services):
    dockerfile = DOCKERFILE.read_text()
    assert re.search(r"^USER prodsim$", dockerfile, re.M)  # the app runs unprivileged
    writable = {
        PurePosixPath(path)
        for paths in re.findall(r"chown prodsim:prodsim ([^\n\\&]+)", dockerfile)
        for path in paths.split()
    }
    writable |= {
        PurePosixPath(volume.split(":")[1])
        for volume in services["beat"].get("volumes", [])
        if isinstance(volume, str)
    }
    schedule = PurePosixPath(option(argv(services["beat"]["command"]), "-s", "--schedule"))
    # /app/var itself is root's (collectstatic creates it): beat could not write there.
    assert schedule.parent in writable, f"{schedule} is not in {sorted(map(str, writable))}"
    check = " ".join(argv(services["beat"]["healthcheck"]["test"]))
    assert str(schedule) in check  # the health check watches the file beat rewrites


def test_the_readmes_compose_command_sets_every_required_variable(services):
    required = {
        name
        for service in services.values()
        for value in (service.get("environment") or {}).values()
        for name in re.findall(r"\$\{([A-Z_]+):\?", str(value))
    }
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### External services (production)")[1].split("\n### ")[0]
    command = section.split("```sh")[1].split("```")[0]
    assert required and {name for name in required if name not in command} == set()
