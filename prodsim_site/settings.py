"""prodsim settings: one module, driven by environment variables.

Production differs from development only by the environment (see README "Configuration").
Without DATABASE_URL / REDIS_URL, prodsim uses its embedded PostgreSQL and Valkey under var/.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from core.log_privacy import logging_settings
from prodsim_site.embedded import paths as embedded_paths
from prodsim_site.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_json_object,
    env_list,
    env_weights,
)
from prodsim_site.env_formats import (
    env_currency,
    env_database_url,
    env_log_level,
    env_memory,
    env_rate,
    env_redis_url,
    redis_broker_ssl,
)

BASE_DIR = Path(__file__).resolve().parent.parent


# pytest sets PYTEST_VERSION for the whole session (and worker processes that tests spawn inherit
# it): tests then use their own broker database, so a running `make run` worker never steals them.
TESTING = "PYTEST_VERSION" in os.environ
# One id per test run, inherited by the worker processes a test spawns: it names the run's
# database, cache keys and broker keys, so two runs on one machine never share a queue.
TEST_RUN_ID = os.environ.setdefault("PRODSIM_TEST_RUN_ID", str(os.getpid())) if TESTING else ""

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    # Only the all-embedded development setup may run without a key; anything pointed at
    # external services is a deployment and must bring its own.
    if os.environ.get("DATABASE_URL") and not (DEBUG or TESTING):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DATABASE_URL is set")
    SECRET_KEY = "dev-only-" + str(BASE_DIR)
# PRODSIM_ENV=production marks a deployment: it refuses to start with a guessable secret key,
# with DEBUG on, or without an explicit host list (manage.py check --deploy covers the rest).
PRODSIM_ENV = os.environ.get("PRODSIM_ENV", "development")
if PRODSIM_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"PRODSIM_ENV must be development or production: {PRODSIM_ENV!r}")
PRODUCTION = PRODSIM_ENV == "production"
MIN_SECRET_KEY_CHARS = 50  # Django's own check --deploy floor (security.W009)
if PRODUCTION:
    if len(SECRET_KEY) < MIN_SECRET_KEY_CHARS or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY must be set to at least {MIN_SECRET_KEY_CHARS} random characters "
            "in production"
        )
    if SECRET_KEY.startswith(("django-insecure-", "dev-only-")):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is a development key; generate a new one")
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG must be off in production")
    if not os.environ.get("DJANGO_ALLOWED_HOSTS"):
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the site's host names")
    # One of the two set means external services: the other one forgotten would start an
    # embedded server per process and host (each container its own broker: queued jobs would
    # never reach a worker). Neither set is a one-host shop on the embedded servers.
    if bool(os.environ.get("DATABASE_URL")) != bool(os.environ.get("REDIS_URL")):
        raise ImproperlyConfigured(
            "set both DATABASE_URL and REDIS_URL (external services) or neither (embedded)"
        )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework_api_key",
    "core",
    "partners",
    "prodsim_site",
    "catalog",
    "similarity",
    "behaviour",
    "experiments",
    "storefront",
]

MIDDLEWARE = [
    "core.redirects.HttpsRedirectMiddleware",  # a write's redirect keeps its method and body
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "core.middleware.RejectUnstorableTextMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.session_turns.SessionTurnsMiddleware",  # outside the session's load and save
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.redirects.SlashRedirectMiddleware",  # Django's CommonMiddleware, writes kept
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.AdminLoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "prodsim_site.urls"
WSGI_APPLICATION = "prodsim_site.wsgi.application"
ASGI_APPLICATION = "prodsim_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "storefront.context_processors.shop",
            ],
        },
    },
]

# --- Database: external DATABASE_URL, else the embedded server's unix socket -------------------
if _database := env_database_url("DATABASE_URL", conn_max_age=60):
    DATABASES = {"default": _database}
else:
    DATABASES = {"default": {**embedded_paths.postgres_settings(), "CONN_MAX_AGE": 60}}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The similar-items ranking statement runs as a protocol-level prepared statement (planned once
# per connection, ~0.7 ms less per request at 100k products). PgBouncer in transaction mode
# follows these from 1.21 on (max_prepared_statements); set 0 behind an older one.
PRODSIM_PREPARED_STATEMENTS = env_bool("PRODSIM_PREPARED_STATEMENTS", True)
if TESTING:
    # One test database per pytest process, so two test runs (or a run beside `make run`)
    # never drop each other's database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{TEST_RUN_ID}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker and cache: external REDIS_URL, else the embedded Valkey -----------------------------
REDIS_URL = env_redis_url("REDIS_URL") or embedded_paths.valkey_url(db=1 if TESTING else 0)

CACHES = {
    "default": {
        "BACKEND": "core.cache_backend.PooledClientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"test{TEST_RUN_ID}" if TESTING else "prodsim",
    }
}

# --- Celery, beat, job heartbeats and the reaper: prodsim_site/settings_jobs.py ----------------
from prodsim_site.settings_jobs import *  # noqa: E402, F403

CELERY_BROKER_URL = REDIS_URL
if _broker_ssl := redis_broker_ssl("REDIS_URL", REDIS_URL):  # rediss://: verify the certificate
    CELERY_BROKER_USE_SSL = _broker_ssl
if TESTING:  # CELERY_BROKER_TRANSPORT_OPTIONS: settings_jobs
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = f"test{TEST_RUN_ID}:"  # noqa: F405

# --- Auth, i18n -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Files --------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("PRODSIM_STATIC_ROOT", embedded_paths.var_dir() / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
MEDIA_ROOT = Path(os.environ.get("PRODSIM_MEDIA_ROOT", embedded_paths.var_dir() / "media"))
MEDIA_URL = "media/"
# backup/restore's PostgreSQL 18 client tools: empty, the embedded build's (no SSL support:
# name a folder of tools built with it for a server that requires SSL).
PRODSIM_PG_BIN = os.environ.get("PRODSIM_PG_BIN", "")
# Trained model artifacts (one folder per model version).
PRODSIM_MODELS_ROOT = Path(
    os.environ.get("PRODSIM_MODELS_ROOT", embedded_paths.var_dir() / "models")
)
# Uploads above this size are streamed to disk instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Per-file and per-request byte caps, counted while the upload streams in (core.uploads).
FILE_UPLOAD_HANDLERS = [
    "core.uploads.UploadLimitsHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Security ------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Everything is served from this origin (Swagger UI and Redoc from the sidecar's static files);
# inline styles stay allowed for the admin and the API docs, inline scripts do not.
PRODSIM_CONTENT_SECURITY_POLICY = os.environ.get(
    "PRODSIM_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'",
)
# Admin sign-in: after this many failures per IP and username, refuse for the window (429).
PRODSIM_ADMIN_LOGIN_MAX_FAILURES = env_int("PRODSIM_ADMIN_LOGIN_MAX_FAILURES", 5, minimum=1)
PRODSIM_ADMIN_LOGIN_WINDOW_S = env_int("PRODSIM_ADMIN_LOGIN_WINDOW_S", 15 * 60, minimum=1)
PRODSIM_BEHIND_TLS_PROXY = env_bool("PRODSIM_BEHIND_TLS_PROXY", False)
# Proxies in front of prodsim that append the client's address to X-Forwarded-For: the client is
# the entry that many from the right (those to its left are the client's own to forge). Without
# one, X-Forwarded-For is ignored and the client is REMOTE_ADDR.
PRODSIM_TRUSTED_PROXIES = env_int(
    "PRODSIM_TRUSTED_PROXIES", 1 if PRODSIM_BEHIND_TLS_PROXY else 0, minimum=0
)
if PRODSIM_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partners.api.PartnerKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: every endpoint needs a partner key unless it says otherwise.
    "DEFAULT_PERMISSION_CLASSES": ["partners.api.HasPartnerKey"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["partners.api.PartnerKeyThrottle"],
    # Whom throttles count by where no key does (its default trusts a forgeable X-Forwarded-For).
    "NUM_PROXIES": PRODSIM_TRUSTED_PROXIES,
    "DEFAULT_THROTTLE_RATES": {"partner": env_rate("PRODSIM_API_RATE", "600/min")},
    "DEFAULT_PAGINATION_CLASS": "core.pagination.CursorPage",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api_errors.error_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "prodsim API",
    "DESCRIPTION": "Similar products for your shop's catalogue.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every enum named outright: a new endpoint's "kind" or "status" never renames older ones.
    "ENUM_NAME_OVERRIDES": {
        "KindEnum": "similarity.models.Job.Kind",
        "StatusEnum": "similarity.models.ModelVersion.Status",
        "EventKindEnum": "behaviour.models.Event.Kind",
        "EventOutcomeEnum": ["accepted", "duplicate", "rejected"],
        "PatchOutcomeStatusEnum": ["updated", "unchanged", "failed"],
    },
    # Patch bodies declare their own optional fields (catalog.api.patches): no "Patched" copies.
    "COMPONENT_SPLIT_PATCH": False,
}

LOGGING = logging_settings(level=env_log_level("PRODSIM_LOG_LEVEL", "INFO"))  # ids masked

# --- prodsim's own settings -------------------------------------------------------------------
# For CSV rows and API PUTs without a currency: stored as given, so upper-cased here.
PRODSIM_DEFAULT_CURRENCY = env_currency("PRODSIM_DEFAULT_CURRENCY", "EUR")
PRODSIM_SHOP_NAME = os.environ.get("PRODSIM_SHOP_NAME", "prodsim demo shop")
PRODSIM_MAX_CSV_BYTES = env_int("PRODSIM_MAX_CSV_BYTES", 200 * 1024 * 1024, minimum=1)
PRODSIM_MAX_IMAGE_BYTES = env_int("PRODSIM_MAX_IMAGE_BYTES", 20 * 1024 * 1024, minimum=1)
PRODSIM_MAX_IMAGE_PIXELS = env_int("PRODSIM_MAX_IMAGE_PIXELS", 40_000_000, minimum=1)
PRODSIM_MAX_ARCHIVE_BYTES = env_int("PRODSIM_MAX_ARCHIVE_BYTES", 2 * 1024**3, minimum=1)
PRODSIM_IMPORT_MAX_ATTEMPTS = env_int("PRODSIM_IMPORT_MAX_ATTEMPTS", 3, minimum=1)
PRODSIM_ML_MAX_ATTEMPTS = env_int("PRODSIM_ML_MAX_ATTEMPTS", 3, minimum=1)
# Activate a newly trained version automatically when it beats the active one on Recall@1.
PRODSIM_AUTO_ACTIVATE = env_bool("PRODSIM_AUTO_ACTIVATE", True)
# Which held-out figure early stopping and auto-activation use: "known_products" (new photos of
# products in the catalogue: visual search, similar lists) or "new_products" (group-disjoint).
# The names: similarity.ml.evaluation.protocols.PROTOCOLS (a test keeps them equal).
_EVALUATION_PROTOCOLS = ("known_products", "new_products")
PRODSIM_EVALUATION_PROTOCOL = env_choice(
    "PRODSIM_EVALUATION_PROTOCOL", "known_products", choices=_EVALUATION_PROTOCOLS
)
# Overrides of the training defaults (backbone, weights, input_size, embedding_dim, epochs, ...),
# as JSON, e.g. {"backbone": "small_cnn", "epochs": 5}.
PRODSIM_TRAINING_DEFAULTS = env_json_object("PRODSIM_TRAINING_DEFAULTS")
# Never download pretrained weights. similarity.ml.backbones (no Django there) reads the variable
# itself, alike; read here too so that a typo stops start-up instead of failing a training.
PRODSIM_OFFLINE = env_bool("PRODSIM_OFFLINE", False)
# Default signal weights of the fused score (admins override globally or per category); the
# signals left out keep similarity.fusion.Weights' defaults. Names: fusion.SIGNALS (a test keeps
# them equal; importing similarity here would load app code before the apps).
_FUSION_SIGNALS = ("image", "text", "text_learned", "attributes", "price")
PRODSIM_FUSION_WEIGHTS = env_weights("PRODSIM_FUSION_WEIGHTS", names=_FUSION_SIGNALS)
# Candidates fetched per index (image, text) before fused re-ranking.
PRODSIM_FUSION_CANDIDATES = env_int("PRODSIM_FUSION_CANDIDATES", 50, minimum=1)
# Never suggest out-of-stock products as similar items (a shop-wide curation switch).
PRODSIM_EXCLUDE_OUT_OF_STOCK = env_bool("PRODSIM_EXCLUDE_OUT_OF_STOCK", False)
# PostgreSQL memory for building a version's HNSW index: ~512MB per 300k 256-d vectors.
PRODSIM_INDEX_BUILD_MEMORY = env_memory("PRODSIM_INDEX_BUILD_MEMORY", "512MB")
# pgvector before 0.8.2 has a buffer overflow in parallel HNSW builds (CVE-2026-3172).
PRODSIM_PGVECTOR_MIN_VERSION = "0.8.2"

# --- Shopper behaviour ---------------------------------------------------------------------------
# Visitor ids are hashed with this key at the door (behaviour.visitors); production must set its
# own (rotating it starts every shopper's history afresh).
PRODSIM_VISITOR_KEY = os.environ.get("PRODSIM_VISITOR_KEY", "")
if not PRODSIM_VISITOR_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("PRODSIM_VISITOR_KEY must be set in production")
    PRODSIM_VISITOR_KEY = "dev-only-visitor-key-" + SECRET_KEY
# Events older than this are dropped by the daily retention task (whole monthly partitions).
# At most a century: a cut-off before year 1 would raise OverflowError in every read of events.
PRODSIM_EVENT_RETENTION_DAYS = env_int(
    "PRODSIM_EVENT_RETENTION_DAYS", 400, minimum=1, maximum=36500
)
# An order or visit counts half after this many days in bought together / also viewed ("" or
# "none": no decay). 60-180 days measured a plateau on the dev protocol; 90 sits in its middle.
_half_life = os.environ.get("PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS", "90").strip().lower()
PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS = (
    None
    if _half_life in ("", "none")
    else env_float("PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS", 90, above=0)
)
# Trending forgets faster: a purchase counts half after a week.
PRODSIM_TRENDING_HALF_LIFE_DAYS = env_float("PRODSIM_TRENDING_HALF_LIFE_DAYS", 7, above=0)
# The window of the "bought together in N orders in the last D days" hint.
PRODSIM_BEHAVIOUR_WHY_DAYS = env_int("PRODSIM_BEHAVIOUR_WHY_DAYS", 90, minimum=1)
# A visit ends after this much idle time (also viewed pairs views of one visit).
PRODSIM_SESSION_GAP_S = env_int("PRODSIM_SESSION_GAP_S", 30 * 60, minimum=1)
# Recommended for you may show what the visitor already bought (a repeat): on online-retail own
# repeats alone reach 0.243 next-purchase Recall@20, popularity 0.078 (docs/BENCHMARKS.md).
PRODSIM_RECOMMEND_REPEATS = env_bool("PRODSIM_RECOMMEND_REPEATS", True)
