"""Settings read from the environment: a wrong value stops start-up and names its variable."""

import dataclasses
import os
import re
import ssl
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured

from prodsim_site import env, env_formats
from prodsim_site import settings as settings_module
from similarity import fusion
from similarity.ml.evaluation.protocols import PROTOCOLS

ROOT = Path(__file__).resolve().parents[2]
IMPORT = "import prodsim_site.settings"
SETUP = "import django; django.setup()"  # also configures logging


def import_settings(tmp_path, code=IMPORT, **variables: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter, as a process starting up does, with a
    throwaway var/ (nothing of the real one read or written) and an external broker's URL."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    environment.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **environment,
            "DJANGO_SETTINGS_MODULE": "prodsim_site.settings",
            "PRODSIM_VAR_DIR": str(tmp_path / "var"),
            "REDIS_URL": "redis://127.0.0.1:1/0",
            **variables,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def refused_naming(result: subprocess.CompletedProcess, name: str) -> bool:
    last_line = (result.stderr.strip().splitlines() or [""])[-1]
    return result.returncode != 0 and last_line.startswith(
        "django.core.exceptions.ImproperlyConfigured: " + name
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PRODSIM_FUSION_CANDIDATES", "fifty"),
        ("PRODSIM_JOB_STALE_S", "2m"),
        ("PRODSIM_TRAINING_DEFAULTS", "epochs=5"),
        ("PRODSIM_FUSION_WEIGHTS", '{"imag": 1}'),
        ("PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS", "ninety"),
        # Each of these once started, then failed on use: every partner API request a 500,
        ("PRODSIM_API_RATE", "600"),
        ("PRODSIM_API_RATE", "fast"),
        # every training job, the admin's "Add model version" page,
        ("PRODSIM_EVALUATION_PROTOCOL", "known"),
        ("PRODSIM_TRAINING_DEFAULTS", "[1]"),
        # or worse: the daily retention deleted every event,
        ("PRODSIM_EVENT_RETENTION_DAYS", "-1"),
        # or every read of events raised OverflowError (a cut-off before year 1),
        ("PRODSIM_EVENT_RETENTION_DAYS", "999999"),
        # or Valkey handed a training still within its limits to a second worker,
        ("PRODSIM_LONGEST_TASK_S", "3600"),
        # older orders counted more than new ones,
        ("PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS", "-90"),
        ("PRODSIM_TRENDING_HALF_LIFE_DAYS", "0"),
        # beat expired every refresh before it ran, or sent the reaper in a 0 s loop.
        ("PRODSIM_BEHAVIOUR_REFRESH_S", "-30"),
        ("PRODSIM_JOB_REAPER_S", "0"),
        ("PRODSIM_SESSION_GAP_S", "-1"),
        ("PRODSIM_ADMIN_LOGIN_WINDOW_S", "-1"),
        ("PRODSIM_MAX_IMAGE_BYTES", "-1"),
        # The embedded Valkey's URL (REDIS_URL unset): a bare ValueError.
        ("PRODSIM_VALKEY_PORT", "abc"),
        ("PRODSIM_VALKEY_PORT", "70000"),
        # A typo trained from random weights (caught as "imagenet unavailable"),
        ("PRODSIM_OFFLINE", "maybe"),
        # failed an index build after a whole training,
        ("PRODSIM_INDEX_BUILD_MEMORY", "lots"),
        ("PRODSIM_INDEX_BUILD_MEMORY", "512mb"),  # PostgreSQL's units are case-sensitive
        ("PRODSIM_INDEX_BUILD_MEMORY", "512"),  # kB: below maintenance_work_mem's 1MB
        # failed every CSV row and API PUT without a currency,
        ("PRODSIM_DEFAULT_CURRENCY", "euro"),
        # or requeued every running job before its next heartbeat.
        ("PRODSIM_JOB_STALE_S", "10"),
    ],
)
def test_start_up_stops_on_a_bad_value_and_names_its_variable(tmp_path, name, value):
    result = import_settings(tmp_path, **{"REDIS_URL": "", name: value})

    assert refused_naming(result, name), result.stderr[-300:]


def test_a_lower_case_default_currency_is_stored_upper_case(tmp_path):
    # "usd" passed as given to an API PUT, where the CHECK ^[A-Z]{3}$ made it a 500.
    code = "from django.conf import settings; print(settings.PRODSIM_DEFAULT_CURRENCY)"
    result = import_settings(tmp_path, f"{SETUP}; {code}", PRODSIM_DEFAULT_CURRENCY="usd")

    assert (result.returncode, result.stdout.strip()) == (0, "USD"), result.stderr[-300:]


@pytest.mark.parametrize("memory", ["512MB", "3GB", "1024", "65536kB", "1 TB"])
def test_postgresql_memory_sizes_are_accepted(monkeypatch, memory):
    monkeypatch.setenv("M", memory)
    assert env_formats.env_memory("M", "512MB") == memory


@pytest.mark.parametrize(
    "url",
    [
        "mysql://shop:pw@db/shop",
        "postgres://shop:pw@db:five/shop",
        # No database named: every request, /health/ included, was a 500.
        "postgres://shop:pw@db:5432",
        "postgres://shop:pw@db:5432/",
    ],
)
def test_a_database_url_prodsim_cannot_use_is_refused_naming_it(tmp_path, url):
    # mysql:// failed on the first query; a port that is not a number on a nameless ParseError.
    result = import_settings(tmp_path, DATABASE_URL=url, DJANGO_SECRET_KEY="k" * 60)

    assert refused_naming(result, "DATABASE_URL"), result.stderr[-300:]
    assert "pw" not in result.stderr.splitlines()[-1]  # the password stays out of logs


def test_a_database_url_may_name_a_service_instead_of_a_database(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://db/?service=shop")
    database = env_formats.env_database_url("DATABASE_URL", conn_max_age=0)
    assert (database["NAME"], database["OPTIONS"]) == ("", {"service": "shop"})


@pytest.mark.parametrize("password", ["q8Xr/2vK+9mT", "Shop#2026!", "what?ever"])
def test_a_password_that_breaks_the_url_is_refused_saying_to_percent_encode_it(
    monkeypatch, password
):
    # It said "check its port" (the port was fine): docker-compose puts POSTGRES_PASSWORD in as is.
    monkeypatch.setenv("DATABASE_URL", f"postgres://prodsim:{password}@db:5432/prodsim")
    with pytest.raises(ImproperlyConfigured, match="percent-encode") as refused:
        env_formats.env_database_url("DATABASE_URL", conn_max_age=0)
    assert password[:4] not in str(refused.value)


def test_the_readmes_compose_password_reaches_the_app_unchanged(monkeypatch):
    # Its example was "change-me", with no word that compose puts POSTGRES_PASSWORD into
    # DATABASE_URL as is: a generated one with / # ? stopped every service, %xx was decoded.
    section = (ROOT / "README.md").read_text().split("### External services (production)")[1]
    generate = re.search(r"POSTGRES_PASSWORD=\$\(python3 -c '([^']+)'\)", section)
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    template = compose["x-app"]["environment"]["DATABASE_URL"]
    password = subprocess.run(
        [sys.executable, "-c", generate[1]], capture_output=True, text=True, check=True
    ).stdout.strip()
    monkeypatch.setenv("DATABASE_URL", re.sub(r"\$\{POSTGRES_PASSWORD[^}]*\}", password, template))

    assert len(password) >= 32 and quote(password, safe="") == password
    assert env_formats.env_database_url("DATABASE_URL", conn_max_age=0)["PASSWORD"] == password


@pytest.mark.parametrize(
    "url",
    [
        "valkey://cache:6379/0",
        "cache:6379",
        "unix:///run/valkey/valkey.sock?db=2",  # the cache reads it, Celery has no such transport
        "redis+socket:///run/valkey/valkey.sock",  # Celery reads it, the cache does not
        "redis://cache:six/0",
    ],
)
def test_a_redis_url_the_cache_or_the_broker_cannot_use_is_refused_naming_it(tmp_path, url):
    # Each loaded, then every cached read or every enqueue and worker start failed.
    result = import_settings(tmp_path, REDIS_URL=url)

    assert refused_naming(result, "REDIS_URL"), result.stderr[-300:]


@pytest.mark.parametrize("url", ["redis://:p%40ss@cache:6379/2", "rediss://cache", "redis://c/"])
def test_redis_urls_naming_a_host_are_accepted(monkeypatch, url):
    monkeypatch.setenv("REDIS_URL", url)
    assert env_formats.env_redis_url("REDIS_URL") == url


BROKER_SSL = """
import django; django.setup()
from prodsim_site.celery import app
print(app.connection_for_write().ssl)
"""


def test_a_rediss_broker_verifies_the_servers_certificate(tmp_path):
    # kombu's fallback for rediss:// without ssl options is CERT_NONE (a log warning only).
    url = "rediss://:pw@cache.example:6380/0"
    result = import_settings(tmp_path, BROKER_SSL, REDIS_URL=url)

    assert result.stdout.strip() == "{'ssl_cert_reqs': <VerifyMode.CERT_REQUIRED: 2>}", (
        result.stderr[-300:]
    )


@pytest.mark.parametrize(
    ("query", "ssl_options"),
    [
        ("?ssl_ca_certs=/ca.pem", {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": "/ca.pem"}),
        ("?ssl_cert_reqs=none", {"ssl_cert_reqs": ssl.CERT_NONE}),  # given explicitly: it wins
    ],
)
def test_a_rediss_urls_ssl_options_join_the_brokers(query, ssl_options):
    assert env_formats.redis_broker_ssl("R", f"rediss://cache:6380/0{query}") == ssl_options
    assert env_formats.redis_broker_ssl("R", f"redis://cache:6379/0{query}") is None


@pytest.mark.parametrize("level", ["debug", "Warning", "ERROR"])
def test_a_log_level_is_accepted_in_any_case(tmp_path, level):
    # "debug" stopped every process at django.setup() without naming the variable.
    result = import_settings(tmp_path, SETUP, PRODSIM_LOG_LEVEL=level)

    assert result.returncode == 0, result.stderr[-300:]


def test_an_unknown_log_level_is_refused_naming_its_variable(tmp_path):
    result = import_settings(tmp_path, SETUP, PRODSIM_LOG_LEVEL="verbose")

    assert refused_naming(result, "PRODSIM_LOG_LEVEL"), result.stderr[-300:]


@pytest.mark.parametrize("rate", ["600/min", "10/s", "5/hour", "1000/day", "60/minute"])
def test_api_rates_in_drfs_format_are_accepted(monkeypatch, rate):
    monkeypatch.setenv("R", rate)
    assert env_formats.env_rate("R", "600/min") == rate


@pytest.mark.parametrize(
    ("read", "value", "message"),
    [
        (lambda: env.env_int("X", 1, minimum=1), "0", "X must be at least 1, got '0'"),
        (lambda: env.env_int("X", 1, maximum=9), "10", "X must be at most 9, got '10'"),
        (lambda: env.env_float("X", 1, minimum=0), "-0.5", "X must be at least 0, got '-0.5'"),
        (lambda: env.env_float("X", 1, above=0), "0", "X must be above 0, got '0'"),
    ],
)
def test_bounded_readers_name_the_bound(monkeypatch, read, value, message):
    monkeypatch.setenv("X", value)
    with pytest.raises(ImproperlyConfigured, match=f"^{re.escape(message)}$"):
        read()


def test_the_longest_task_setting_knows_the_longest_hard_limit_in_the_code():
    from prodsim_site import settings_jobs
    from prodsim_site.celery import app

    app.loader.import_default_modules()
    longest = max(task.time_limit or 0 for task in app.tasks.values())
    assert longest == settings_jobs.LONGEST_HARD_LIMIT_IN_CODE_S


def test_the_longest_sequence_training_budget_keeps_its_task_within_the_longest_limit(settings):
    """The task's limits follow the budget setting: at its maximum they must still be within
    what the broker's visibility timeout covers, or Valkey redelivers a running training."""
    from behaviour import tasks
    from prodsim_site import settings_jobs

    beyond_budget = (
        tasks.SEQUENCE_TRAINING_HARD_LIMIT_S - settings.PRODSIM_SEQUENCE_TRAINING_BUDGET_S
    )
    longest = settings_jobs.SEQUENCE_TRAINING_BUDGET_MAX_S + beyond_budget
    assert longest <= settings_jobs.LONGEST_HARD_LIMIT_IN_CODE_S


def test_settings_know_the_evaluation_protocols():
    assert settings_module._EVALUATION_PROTOCOLS == PROTOCOLS


@pytest.mark.parametrize(
    ("read", "value", "message"),
    [
        (env.env_int, "2.5", "X must be a whole number, got '2.5'"),
        (env.env_float, "2m", "X must be a finite number, got '2m'"),
        (env.env_float, "nan", "X must be a finite number, got 'nan'"),
        (env.env_json, "{image: 1}", "X must be JSON (Expecting property name"),
    ],
)
def test_typed_readers_name_the_variable_and_the_value(monkeypatch, read, value, message):
    monkeypatch.setenv("X", value)
    with pytest.raises(ImproperlyConfigured) as raised:
        read("X", 0)
    assert str(raised.value).startswith(message)


def test_typed_readers_parse_good_values_and_default_when_unset(monkeypatch):
    monkeypatch.delenv("X", raising=False)
    assert (env.env_int("X", 5), env.env_float("X", 5), env.env_json("X", {})) == (5, 5.0, {})
    monkeypatch.setenv("X", "7")
    assert (env.env_int("X", 5), env.env_float("X", 5), env.env_json("X", {})) == (7, 7.0, 7)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"imag": 1}', "W names unknown weights ['imag']; the weights are image, text, "),
        ('{"image": 1, "text": -1}', "W: the weight 'text' must be a finite number ≥ 0, got -1"),
        ('{"image": NaN}', "W: the weight 'image' must be a finite number ≥ 0, got nan"),
        ('{"image": "1"}', "W: the weight 'image' must be a finite number ≥ 0, got '1'"),
        ('{"image": true}', "W: the weight 'image' must be a finite number ≥ 0, got True"),
        ("[1, 2]", "W must be a JSON object of weights, got [1, 2]"),
        (
            '{"image": 0, "text": 0, "text_learned": 0, "attributes": 0, "price": 0}',
            "W sets every weight to 0: at least one must be above 0",
        ),
    ],
)
def test_fusion_weights_are_refused_where_a_weights_row_would_be(monkeypatch, value, message):
    # A typo once started fine, then every similar list without a weights row raised TypeError.
    monkeypatch.setenv("W", value)
    with pytest.raises(ImproperlyConfigured) as raised:
        env.env_weights("W", names=fusion.SIGNALS)
    assert str(raised.value).startswith(message)


def test_fusion_weights_may_set_some_signals_and_zero_some(monkeypatch):
    monkeypatch.setenv("W", '{"image": 0, "text": 2}')
    weights = env.env_weights("W", names=fusion.SIGNALS)
    assert weights == {"image": 0.0, "text": 2.0}
    assert fusion.Weights(**weights).attributes > 0  # the rest keep their defaults


def test_settings_know_the_fusion_signals_and_their_defaults_are_above_zero():
    # Only then can weights that leave a signal out never be all zero.
    assert settings_module._FUSION_SIGNALS == fusion.SIGNALS
    assert all(value > 0 for value in dataclasses.asdict(fusion.Weights()).values())
