"""Settings, all from environment variables, with safe development defaults.

| variable              | default (development)                         |
|-----------------------|-----------------------------------------------|
| DEBUG                 | true                                          |
| SECRET_KEY            | a random key kept in var/dev-secret-key (only while DEBUG) |
| ALLOWED_HOSTS         | localhost,127.0.0.1,[::1]                     |
| DATABASE_URL          | sqlite:///<repo>/var/db.sqlite3               |
| CELERY_BROKER_URL     | filesystem:// (folders under var/broker)      |
| CELERY_BROKER_FOLDER  | <repo>/var/broker (filesystem transport only) |
| CELERY_RESULT_BACKEND | file://<repo>/var/celery-results              |
| CSRF_TRUSTED_ORIGINS  | (none)                                        |
| RUN_INPUT_KEYS        | a Fernet key kept in var/dev-run-input-key (only while DEBUG) |
| SECURE_SSL_REDIRECT   | true when DEBUG is off (false behind a proxy that redirects itself) |
| SECURE_HSTS_SECONDS   | 31536000 when DEBUG is off                    |
| SECURE_HSTS_PRELOAD   | true when DEBUG is off                        |
| SECURE_COOKIES        | true when DEBUG is off                        |
| LOGIN_FAILURE_LIMIT   | 5 failed logins per username and address, then a lockout |
| LOGIN_LOCKOUT_MINUTES | 15                                            |
| METRICS_TOKEN         | (none: /metrics answers 404) the bearer token Prometheus sends |
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def development_secret_key() -> str:
    """A random key generated once per checkout; never used when DEBUG is off."""
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def development_fernet_key() -> str:
    """A random key for encrypting stored run inputs, generated once per checkout."""
    from cryptography.fernet import Fernet

    path = VAR_DIR / "dev-run-input-key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_bytes(Fernet.generate_key())
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = development_secret_key()
# Keys (Fernet, comma-separated, newest first) that encrypt stored run inputs; older
# keys still decrypt, so keys can be rotated.
RUN_INPUT_KEYS = env_list("RUN_INPUT_KEYS", "")
if not RUN_INPUT_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("RUN_INPUT_KEYS must be set when DEBUG is off.")
    RUN_INPUT_KEYS = [development_fernet_key()]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "pipelines_admin.core.admin_apps.ConsoleAdminConfig",  # django.contrib.admin, for superusers only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pipelines_admin.accounts",
    "pipelines_admin.health",
    "pipelines_admin.audit",
    "pipelines_admin.configs",
    "pipelines_admin.runs",
    "pipelines_admin.testcases",
    "pipelines_admin.impact",
    "pipelines_admin.console",
    "pipelines_admin.tokens",
    "pipelines_admin.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "pipelines_admin.accounts.middleware.ConsoleRoleRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "pipelines_admin.core.middleware.RejectNulQueryMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # last, as django-axes asks: turns a locked-out login attempt into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pipelines_admin.urls"
WSGI_APPLICATION = "pipelines_admin.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write the same file: WAL lets readers go on
    # while one writes, and IMMEDIATE transactions queue writers instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # a file (not memory) so a worker process can share it; one per test process
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:pipelines"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # front-end libraries installed from npm (package.json), never committed
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Security headers and cookies (SECURITY.md); the secure-transport ones follow DEBUG.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    # Off only where a proxy in front answers plain HTTP itself; /healthz stays reachable
    # over plain HTTP for the health checks of a container or load balancer.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    # the proxy in front sets X-Forwarded-Proto (and must drop one sent by the client)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp): scripts and styles only from the console's own
# static files (htmx, Chart.js and the console's JS included): no inline script, no
# eval, no inline style. The API's Swagger UI and ReDoc pages widen it for themselves
# (pipelines_admin.api.views.docs).
_SELF, _NONE = "'self'", "'none'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF],
        "style-src": [_SELF],
        "img-src": [_SELF, "data:"],
        "font-src": [_SELF],
        "connect-src": [_SELF],
        "object-src": [_NONE],
        "base-uri": [_NONE],
        "form-action": [_SELF],
        "frame-ancestors": [_NONE],
    },
}

# Login throttling (django-axes): LOGIN_FAILURE_LIMIT failed logins for one username
# from one address lock that pair out for LOGIN_LOCKOUT_MINUTES (the login form, the
# admin's and HTTP Basic on the API alike); a successful login resets the count.
AUTHENTICATION_BACKENDS = [
    "pipelines_admin.accounts.backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("LOGIN_THROTTLE", True)
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Celery: the filesystem transport needs no server (development); Redis in production.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", f"file://{VAR_DIR / 'celery-results'}")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # one folder both ways: the web server writes messages, the worker reads them
    _broker_folder = Path(os.environ.get("CELERY_BROKER_FOLDER", VAR_DIR / "broker"))
    for _sub in ("queue", "processed", "control"):
        (_broker_folder / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_folder / "queue"),
        "data_folder_out": str(_broker_folder / "queue"),
        "processed_folder": str(_broker_folder / "processed"),
        "control_folder": str(_broker_folder / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Sending a task to a Redis that is down gives up after one quick retry (the run or
    # chunk stays queued, the sweep sends it later) instead of holding the request for
    # six seconds of reconnection attempts.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                                       "interval_max": 0.5}
if CELERY_RESULT_BACKEND.startswith("file://"):
    Path(CELERY_RESULT_BACKEND.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "pipelines")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "sweep-runs": {"task": "runs.sweep", "schedule": float(os.environ.get("RUN_SWEEP_SECONDS", "60"))},
    "sweep-suites": {"task": "testcases.sweep", "schedule": float(os.environ.get("RUN_SWEEP_SECONDS", "60"))},
    "sweep-impact": {"task": "impact.sweep", "schedule": float(os.environ.get("RUN_SWEEP_SECONDS", "60"))},
}

# Runs and batches
RUN_INPUT_MAX_BYTES = int(os.environ.get("RUN_INPUT_MAX_BYTES", 64 * 1024))
RUN_SOFT_TIME_LIMIT = int(os.environ.get("RUN_SOFT_TIME_LIMIT", "60"))
RUN_TIME_LIMIT = int(os.environ.get("RUN_TIME_LIMIT", "90"))
RUN_MAX_ATTEMPTS = int(os.environ.get("RUN_MAX_ATTEMPTS", "3"))
RUN_REQUEUE_AFTER_SECONDS = int(os.environ.get("RUN_REQUEUE_AFTER_SECONDS", "120"))
RUN_STUCK_AFTER_SECONDS = int(os.environ.get("RUN_STUCK_AFTER_SECONDS", RUN_TIME_LIMIT + 60))
BATCH_MAX_BYTES = int(os.environ.get("BATCH_MAX_BYTES", 20 * 1024 * 1024))
BATCH_CHUNK_SIZE = int(os.environ.get("BATCH_CHUNK_SIZE", "250"))
BATCH_CHUNK_SOFT_TIME_LIMIT = int(os.environ.get("BATCH_CHUNK_SOFT_TIME_LIMIT", "600"))
BATCH_CHUNK_TIME_LIMIT = int(os.environ.get("BATCH_CHUNK_TIME_LIMIT", "660"))
# Test suites and impact analysis
SUITE_SOFT_TIME_LIMIT = int(os.environ.get("SUITE_SOFT_TIME_LIMIT", "600"))
SUITE_TIME_LIMIT = int(os.environ.get("SUITE_TIME_LIMIT", "660"))
IMPACT_MAX_RUNS = int(os.environ.get("IMPACT_MAX_RUNS", "100000"))
IMPACT_CHUNK_SIZE = int(os.environ.get("IMPACT_CHUNK_SIZE", "500"))
IMPACT_SAMPLE_SIZE = int(os.environ.get("IMPACT_SAMPLE_SIZE", "25"))
IMPACT_CHUNK_SOFT_TIME_LIMIT = int(os.environ.get("IMPACT_CHUNK_SOFT_TIME_LIMIT", "600"))
IMPACT_CHUNK_TIME_LIMIT = int(os.environ.get("IMPACT_CHUNK_TIME_LIMIT", "660"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
HEALTH_CHECK_TIMEOUT_SECONDS = float(os.environ.get("HEALTH_CHECK_TIMEOUT_SECONDS", "2"))
# /metrics (pipelines_admin.metrics): Prometheus sends `Authorization: Bearer <METRICS_TOKEN>`;
# while it is not set the endpoint answers 404 (off, never open).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "").strip()

# REST API (pipelines_admin.api). Personal API tokens first: without credentials the
# answer is 401 with `WWW-Authenticate: Bearer`. Throttling counts requests per user in
# Django's cache (API_THROTTLE_USER, e.g. "600/minute"; a shared cache counts across
# web processes).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pipelines_admin.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["pipelines_admin.api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "pipelines_admin.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "pipelines_admin.api.schema.ApiAutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["pipelines_admin.api.throttling.PerUserThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": os.environ.get("API_THROTTLE_USER", "600/minute")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rules console API",
    "DESCRIPTION": (
        "Pipelines, versions, validation, environments, releases, runs, batches, test cases, suite runs and the "
        "release gate, impact analysis, audit and dashboards: "
        "everything the console does. Authenticate with a personal API token "
        "(`Authorization: Bearer <token>`) or a console session. Every failure answers "
        '`{"message": ..., "extra": ...}` with its status.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "pipelines_admin.runs.models.Run.Status",
        "BatchStatusEnum": "pipelines_admin.runs.models.Batch.Status",
        "SuiteRunStatusEnum": "pipelines_admin.testcases.models.SuiteRun.Status",
        "BindingKindEnum": "pipelines_admin.configs.models.ServiceBinding.Kind",
        "ServiceInterfaceEnum": "pipelines_admin.configs.models.INTERFACE_NAMES",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
