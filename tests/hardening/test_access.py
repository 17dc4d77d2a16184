"""Access and deployment: every URL walked anonymously, partner keys, admin sign-in throttling,
production settings refusals, `check --deploy`, security headers and the pgvector floor."""

import os
import re
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver

from catalog.models import Product
from core import checks
from partners.models import PartnerApiKey
from tests.catalog.factories import product

ROOT = Path(__file__).resolve().parents[2]

# --- Every URL, anonymously ----------------------------------------------------------------------

# Open to anyone: the storefront, product media, health, the API's schema and docs, the click
# redirect of storefront widgets, and the admin's and the storefront's sign-in and sign-out pages.
PUBLIC = {
    "",
    "products/<str:sku>/",
    "search/photo/",
    # The demo shop's basket and checkout: shoppers need no account (no payment is taken).
    "basket/",
    "basket/add/<str:sku>/",
    "basket/remove/<str:sku>/",
    "checkout/",
    "checkout/placed/",
    # A shopper's own data, found through their session (or account), never by an id in the URL.
    "your-data/",
    "your-data/export/",
    "your-data/erase/",
    "account/sign-in/",
    "account/sign-out/",
    "media/products/<path:path>",
    "r/",
    "health/",
    "api/schema/",
    "api/docs/",
    "api/redoc/",
    "admin/login/",
    "admin/logout/",
}
FILLERS = {"int": "1", "str": "A", "path": "x/1", "slug": "a", "uuid": "0" * 32}


def url_patterns(patterns=None, prefix: str = ""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry.url_patterns, prefix + str(entry.pattern))
        else:
            assert isinstance(entry, URLPattern)
            yield prefix + str(entry.pattern)


def concrete(pattern: str) -> str:
    """A URL that the pattern matches: converters filled, regex groups given their first option."""
    url = re.sub(r"<(?:(\w+):)?\w+>", lambda m: FILLERS[m.group(1) or "str"], pattern)
    url = re.sub(r"\(\?P<\w+>([\w-]+)(?:\|[^)]*)?\)", r"\1", url)  # (?P<app>auth|…) → auth
    url = re.sub(r"\(\?P<\w+>\.\*\)", "nowhere/", url)
    return "/" + url.replace("^", "").replace("$", "")


ALL_PATTERNS = sorted(set(url_patterns()))


def test_the_walk_covers_every_kind_of_url():
    assert len(ALL_PATTERNS) > 60
    assert set(ALL_PATTERNS) >= PUBLIC  # the allowlist names real routes only
    assert {"api/v1/products/<str:sku>/", "admin/"} <= set(ALL_PATTERNS)


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", ALL_PATTERNS)
def test_anonymous_requests_are_refused_outside_the_public_allowlist(client, pattern):
    product(sku="A")
    client.raise_request_exception = False
    url = concrete(pattern)
    methods = ["get", "post", "put", "delete"] if pattern.startswith("api/v1/") else ["get"]
    for method in methods:
        response = getattr(client, method)(url)
        assert response.status_code < 500, (method, url, response.status_code)
        if pattern in PUBLIC:
            continue
        if pattern.startswith("api/"):
            assert (method, response.status_code) == (method, 401), url
            assert response["WWW-Authenticate"] == "Api-Key"
        else:
            assert response.status_code == 302, (url, response.status_code)
            assert response["Location"].startswith("/admin/login/?next="), url


# --- Partner keys --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_keys_are_stored_hashed_and_shown_once():
    row, key = PartnerApiKey.objects.create_key(name="p", scope="read")
    row.refresh_from_db()
    stored = " ".join(
        str(value) for value in PartnerApiKey.objects.filter(pk=row.pk).values()[0].values()
    )
    secret = key.split(".", 1)[1]
    assert secret not in stored
    assert row.hashed_key != key and row.hashed_key.startswith(("pbkdf2_", "argon2", "sha512"))


@pytest.mark.django_db
def test_a_key_revoked_or_expired_after_use_stops_working_at_once(client):
    from django.utils import timezone

    product(sku="A")
    row, key = PartnerApiKey.objects.create_key(name="p", scope="write")
    header = {"HTTP_AUTHORIZATION": f"Api-Key {key}"}
    assert client.get("/api/v1/products/A/", **header).status_code == 200
    PartnerApiKey.objects.filter(pk=row.pk).update(revoked=True)
    assert client.get("/api/v1/products/A/", **header).status_code == 401
    PartnerApiKey.objects.filter(pk=row.pk).update(revoked=False, expiry_date=timezone.now())
    assert client.get("/api/v1/products/A/", **header).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("put", "/api/v1/products/A/", {"title": "x", "price": "1"}),
        ("delete", "/api/v1/products/A/", None),
    ],
)
def test_read_keys_cannot_write_or_delete(client, method, url, body):
    product(sku="A", title="Original")
    _, key = PartnerApiKey.objects.create_key(name="p", scope="read")
    response = getattr(client, method)(
        url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}"
    )
    assert response.status_code == 403
    assert list(Product.objects.values_list("sku", "title")) == [("A", "Original")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        "Api-Key",
        "Api-Key ",
        "Api-Key a.b.c",
        "Bearer x",
        "Api-Key \x7f",
        "Api-Key a\x00b.c",  # was a 500: the NUL reached PostgreSQL
        "Api-Key \x00",
        "Api-Key \ud800.x",
        "Api-Key " + "a" * 10_000 + ".b",
    ],
)
def test_malformed_authorization_headers_are_401(client, header):
    product(sku="A")
    response = client.get("/api/v1/products/A/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


# --- Admin sign-in throttling ---------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_sign_in_is_refused_after_repeated_failures(client, settings):
    settings.PRODSIM_ADMIN_LOGIN_MAX_FAILURES = 3
    name = f"admin-{secrets.token_hex(4)}"  # the counter lives in the shared cache
    User.objects.create_superuser(name, password="right-password-123")

    def sign_in(password: str, username: str = name):
        return client.post("/admin/login/", {"username": username, "password": password})

    failures = [sign_in("wrong").status_code for _ in range(3)]
    refused = sign_in("right-password-123")
    other_user = sign_in("wrong", username=f"{name}-other")

    assert failures == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.content.decode() == ("too many failed sign-in attempts; try again in 15 minutes")
    assert other_user.status_code == 200  # per username: one attacker cannot lock out all
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_successful_sign_in_resets_the_failure_count(client, settings):
    settings.PRODSIM_ADMIN_LOGIN_MAX_FAILURES = 3
    name = f"admin-{secrets.token_hex(4)}"
    User.objects.create_superuser(name, password="right-password-123")
    for _ in range(2):
        client.post("/admin/login/", {"username": name, "password": "wrong"})
    ok = client.post("/admin/login/", {"username": name, "password": "right-password-123"})
    client.logout()
    after = [client.post("/admin/login/", {"username": name, "password": "x"}) for _ in range(3)]

    assert ok.status_code == 302
    assert [response.status_code for response in after] == [200, 200, 200]


def _failing_sign_ins(client, name: str, forwarded_for: list[str]) -> list[int]:
    return [
        client.post(
            "/admin/login/",
            {"username": name, "password": "wrong"},
            HTTP_X_FORWARDED_FOR=forwarded,
        ).status_code
        for forwarded in forwarded_for
    ]


@pytest.mark.django_db
def test_behind_a_proxy_sign_in_failures_count_per_client_not_per_proxy(client, settings):
    settings.PRODSIM_ADMIN_LOGIN_MAX_FAILURES = 3
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    name = f"admin-{secrets.token_hex(4)}"
    User.objects.create_superuser(name, password="right-password-123")
    # Every request comes from the proxy (REMOTE_ADDR), which appends the client's address;
    # what the attacker writes to the left of it is forged and changes nothing.
    attacker = _failing_sign_ins(client, name, [f"10.0.0.{i}, 203.0.113.7" for i in range(4)])
    admin = client.post(
        "/admin/login/",
        {"username": name, "password": "right-password-123"},
        HTTP_X_FORWARDED_FOR="198.51.100.2",
    )

    assert attacker == [200, 200, 200, 429]
    assert admin.status_code == 302  # the same username from another client is not locked out


@pytest.mark.django_db
def test_without_a_proxy_a_forged_forwarded_for_does_not_reset_the_count(client, settings):
    settings.PRODSIM_ADMIN_LOGIN_MAX_FAILURES = 3
    name = f"admin-{secrets.token_hex(4)}"
    User.objects.create_superuser(name, password="right-password-123")

    assert _failing_sign_ins(client, name, [f"10.0.0.{i}" for i in range(4)]) == [200] * 3 + [429]


# --- Security headers ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/admin/login/", "/api/docs/", "/api/redoc/", "/health/"])
def test_pages_carry_csp_frame_and_nosniff_headers(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self';")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_swagger_ui_has_no_inline_script_and_loads_its_init_script_from_the_site(client):
    page = client.get("/api/docs/").content.decode()
    script = client.get("/api/docs/?script=")

    assert re.findall(r"<script>", page) == []  # 'script-src self' would block one
    assert 'src="/api/docs/?script="' in page
    assert (script.status_code, script["Content-Type"]) == (200, "application/javascript")
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page


# --- Production settings -------------------------------------------------------------------------

GOOD_KEY = secrets.token_urlsafe(50)
PRODUCTION_ENV = {
    "PRODSIM_ENV": "production",
    "DJANGO_SECRET_KEY": GOOD_KEY,
    "DJANGO_ALLOWED_HOSTS": "shop.example",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://shop.example",
    "PRODSIM_BEHIND_TLS_PROXY": "true",
    "PRODSIM_NO_EMBEDDED_START": "1",
    "PRODSIM_VISITOR_KEY": "a-long-random-visitor-key-for-the-test-" + "k" * 20,
}


BOTH_OR_NEITHER = "set both DATABASE_URL and REDIS_URL (external services) or neither"


def run_with(env: dict, *args: str) -> subprocess.CompletedProcess:
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "PRODSIM_", "PYTEST_"))
        and name not in {"DATABASE_URL", "REDIS_URL"}
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY must be set to at least 50 random"),
        ({"DJANGO_SECRET_KEY": "short-key"}, "DJANGO_SECRET_KEY must be set to at least 50"),
        ({"DJANGO_SECRET_KEY": "a" * 60}, "DJANGO_SECRET_KEY must be set to at least 50"),
        (
            {"DJANGO_SECRET_KEY": "django-insecure-" + GOOD_KEY},
            "DJANGO_SECRET_KEY is a development key",
        ),
        ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG must be off in production"),
        ({"DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS must list the site's host names"),
        ({"PRODSIM_ENV": "prod"}, "PRODSIM_ENV must be development or production: 'prod'"),
        ({"PRODSIM_VISITOR_KEY": ""}, "PRODSIM_VISITOR_KEY must be set in production"),
        (
            {"PRODSIM_AUTO_ACTIVATE": "maybe"},
            "PRODSIM_AUTO_ACTIVATE must be a boolean (true/false), got 'maybe'",
        ),
        ({"DATABASE_URL": "postgres://u:p@db.example/prodsim"}, BOTH_OR_NEITHER),
        ({"REDIS_URL": "redis://cache.example:6379/0"}, BOTH_OR_NEITHER),
    ],
    ids=[
        "missing key",
        "short key",
        "one repeated char",
        "insecure key",
        "debug",
        "hosts",
        "typo",
        "visitor key",
        "not a boolean",
        "database without broker",  # each process would start its own broker
        "broker without database",
    ],
)
def test_production_settings_refuse_to_start(overrides, message):
    env = {name: value for name, value in {**PRODUCTION_ENV, **overrides}.items() if value}
    result = run_with(env, "-c", "import prodsim_site.settings")
    assert result.returncode == 1
    assert f"ImproperlyConfigured: {message}" in result.stderr


def test_production_settings_pass_check_deploy_with_no_warning():
    result = run_with(PRODUCTION_ENV, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_check_deploy_fails_without_the_tls_settings():
    env = {**PRODUCTION_ENV, "PRODSIM_BEHIND_TLS_PROXY": "false"}
    result = run_with(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 1
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


# --- pgvector floor ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("installed", "error_id"),
    [
        (None, "prodsim.E001"),
        ("0.5.1", "prodsim.E002"),
        ("0.8.1", "prodsim.E002"),
        ("0.8.2", None),
        ("0.8.10", None),
        ("0.10.0", None),
        ("1.0.0-1", None),
    ],
)
def test_pgvector_floor_with_a_faked_version(installed, error_id):
    errors = checks.pgvector_version_errors(alias="default", installed=installed, minimum="0.8.2")
    assert [error.id for error in errors] == ([error_id] if error_id else [])


def test_an_old_pgvector_is_reported_with_the_reason(monkeypatch, settings):
    monkeypatch.setattr(checks, "pgvector_version", lambda alias: "0.8.1")
    errors = checks.check_pgvector_version(databases=["default"])
    assert [error.msg for error in errors] == [
        "pgvector 0.8.1 in database 'default' is older than 0.8.2 (earlier versions overflow "
        "a buffer in parallel HNSW builds, CVE-2026-3172)"
    ]


@pytest.mark.django_db
def test_the_real_database_passes_the_pgvector_check():
    from django.core.management import call_command

    version = checks.pgvector_version("default")
    assert checks._as_tuple(version) >= (0, 8, 2)
    assert checks.check_pgvector_version(databases=["default"]) == []
    call_command("check", databases=["default"], fail_level="ERROR")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "spelling",
    [
        lambda name: f" {name}",  # the form strips what surrounds the username
        lambda name: f"{name}  ",
        lambda name: "".join(chr(ord(c) + 0xFEE0) for c in name),  # full width: NFKC folds it
        lambda name: name.upper(),
    ],
    ids=["leading space", "trailing spaces", "full width", "upper case"],
)
def test_every_spelling_of_a_username_adds_to_one_count(client, settings, spelling):
    """Each spelling that reaches the account would otherwise be a fresh allowance of guesses,
    and the right password, typed another way, would pass the lock."""
    settings.PRODSIM_ADMIN_LOGIN_MAX_FAILURES = 3
    name = f"admin{secrets.token_hex(4)}"
    User.objects.create_superuser(name, password="right-password-123")
    for _ in range(3):
        client.post("/admin/login/", {"username": name, "password": "wrong"})

    other = client.post("/admin/login/", {"username": spelling(name), "password": "wrong"})
    right = client.post(
        "/admin/login/", {"username": spelling(name), "password": "right-password-123"}
    )

    assert (other.status_code, right.status_code) == (429, 429)
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_admin_and_the_storefront_sign_in_share_one_count(client, settings):
    """Both doors take the same accounts: failures at one lock the other too."""
    settings.PRODSIM_ADMIN_LOGIN_MAX_FAILURES = 3
    name = f"admin{secrets.token_hex(4)}"
    User.objects.create_superuser(name, password="right-password-123")
    for _ in range(3):
        client.post("/account/sign-in/", {"username": name, "password": "wrong"})

    refused = client.post("/admin/login/", {"username": name, "password": "right-password-123"})

    assert refused.status_code == 429


def test_a_fresh_database_passes_the_pgvector_check_so_migrate_can_create_the_extension(
    django_db_blocker,
):
    """A new external database (compose's first start) has pgvector available, not installed:
    similarity's first migration creates it, so the check `migrate` runs first must let it."""
    import psycopg
    from django.db import connection

    name = f"fresh_{uuid.uuid4().hex[:12]}"
    with django_db_blocker.unblock():
        params = {**connection.get_connection_params(), "autocommit": True}
        params.pop("cursor_factory", None)
        params.pop("context", None)
    with psycopg.connect(**params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            with psycopg.connect(**{**params, "dbname": name}) as fresh:
                installed = fresh.execute(
                    "SELECT count(*) FROM pg_extension WHERE extname = 'vector'"
                ).fetchone()
                (version,) = fresh.execute(checks.VERSION_SQL).fetchone()
        finally:
            admin.execute(f'DROP DATABASE "{name}"')

    assert installed == (0,)
    assert checks.pgvector_version_errors(alias=name, installed=version, minimum="0.8.2") == []
