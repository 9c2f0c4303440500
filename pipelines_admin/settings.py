"""Settings. Everything that differs between installations comes from environment
variables, read and type-checked in pipelines_admin.environment_variables (each with its
default and meaning; the README lists them); the defaults are for development."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from pipelines_admin import environment_variables

ENV = environment_variables.read()
BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(ENV.VAR_DIR) if ENV.VAR_DIR else BASE_DIR / "var"


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


DEBUG = ENV.DEBUG
SECRET_KEY = ENV.SECRET_KEY
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = development_secret_key()
# Keys (Fernet, comma-separated, newest first) that encrypt stored run inputs; older
# keys still decrypt, so keys can be rotated.
RUN_INPUT_KEYS = list(ENV.RUN_INPUT_KEYS)
if not RUN_INPUT_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("RUN_INPUT_KEYS must be set when DEBUG is off.")
    RUN_INPUT_KEYS = [development_fernet_key()]
ALLOWED_HOSTS = list(ENV.ALLOWED_HOSTS)
CSRF_TRUSTED_ORIGINS = list(ENV.CSRF_TRUSTED_ORIGINS)

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
    "pipelines_admin.webhooks",
    "pipelines_admin.runs",
    "pipelines_admin.testcases",
    "pipelines_admin.impact",
    "pipelines_admin.releases",
    "pipelines_admin.reviews",
    "pipelines_admin.changes",
    "pipelines_admin.demo",
    "pipelines_admin.console",
    "pipelines_admin.tokens",
    "pipelines_admin.api",
    "pipelines_admin.cli",
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
    "pipelines_admin.console.middleware.ConsoleErrorMiddleware",
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
        ENV.DATABASE_URL or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=ENV.DATABASE_CONN_MAX_AGE,
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
            if ENV.STATIC_MANIFEST
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
    SESSION_COOKIE_SECURE = ENV.SECURE_COOKIES
    CSRF_COOKIE_SECURE = ENV.SECURE_COOKIES
    # Off only where a proxy in front answers plain HTTP itself; /healthz stays reachable
    # over plain HTTP for the health checks of a container or load balancer.
    SECURE_SSL_REDIRECT = ENV.SECURE_SSL_REDIRECT
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = ENV.SECURE_HSTS_SECONDS
    SECURE_HSTS_INCLUDE_SUBDOMAINS = ENV.SECURE_HSTS_INCLUDE_SUBDOMAINS
    SECURE_HSTS_PRELOAD = ENV.SECURE_HSTS_PRELOAD
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
AXES_ENABLED = ENV.LOGIN_THROTTLE
AXES_FAILURE_LIMIT = ENV.LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=ENV.LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Celery: the filesystem transport needs no server (development); Redis in production.
CELERY_BROKER_URL = ENV.CELERY_BROKER_URL
CELERY_RESULT_BACKEND = ENV.CELERY_RESULT_BACKEND or f"file://{VAR_DIR / 'celery-results'}"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # one folder both ways: the web server writes messages, the worker reads them
    _broker_folder = Path(ENV.CELERY_BROKER_FOLDER) if ENV.CELERY_BROKER_FOLDER else VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_folder / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_folder / "queue"),
        "data_folder_out": str(_broker_folder / "queue"),
        "processed_folder": str(_broker_folder / "processed"),
        "control_folder": str(_broker_folder / "control"),
        "store_processed": False,
        # how long a worker waits before looking in the folder again when it could take
        # nothing (Kombu's default, a second, left a worker idle after each chunk)
        "polling_interval": 0.05,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Sending a task to a Redis that is down gives up after one quick retry (the run or
    # chunk stays queued, the sweep sends it later) instead of holding the request for
    # six seconds of reconnection attempts.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    }
if CELERY_RESULT_BACKEND.startswith("file://"):
    Path(CELERY_RESULT_BACKEND.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
CELERY_TASK_DEFAULT_QUEUE = ENV.CELERY_TASK_DEFAULT_QUEUE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# the worker runs processes (prefork, one per core by default); one that has grown is replaced
CELERY_WORKER_MAX_MEMORY_PER_CHILD = ENV.WORKER_MAX_MEMORY_PER_CHILD_KIB
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The sweeps re-send lost work (pipelines_admin.core.jobs); a sweep not picked up before
# the next one is sent is dropped, so they never pile up behind busy workers.
_SWEEP = {"schedule": ENV.RUN_SWEEP_SECONDS, "options": {"expires": ENV.RUN_SWEEP_SECONDS}}
CELERY_BEAT_SCHEDULE = {
    "apply-scheduled-changes": {
        "task": "changes.apply_due",
        "schedule": ENV.CHANGE_SCHEDULE_SECONDS,
        "options": {"expires": ENV.CHANGE_SCHEDULE_SECONDS},
    },
    "sweep-runs": {"task": "runs.sweep", **_SWEEP},
    "sweep-suites": {"task": "testcases.sweep", **_SWEEP},
    "sweep-impact": {"task": "impact.sweep", **_SWEEP},
    "sweep-webhooks": {"task": "webhooks.sweep", **_SWEEP},
}

# Notifications by email (pipelines_admin.changes.notify)
EMAIL_BACKEND = ENV.EMAIL_BACKEND
EMAIL_HOST = ENV.EMAIL_HOST
EMAIL_PORT = ENV.EMAIL_PORT
EMAIL_HOST_USER = ENV.EMAIL_HOST_USER
EMAIL_HOST_PASSWORD = ENV.EMAIL_HOST_PASSWORD
EMAIL_USE_TLS = ENV.EMAIL_USE_TLS
DEFAULT_FROM_EMAIL = ENV.DEFAULT_FROM_EMAIL

# Runs and batches
RUN_INPUT_MAX_BYTES = ENV.RUN_INPUT_MAX_BYTES
RUN_SOFT_TIME_LIMIT = ENV.RUN_SOFT_TIME_LIMIT
RUN_TIME_LIMIT = ENV.RUN_TIME_LIMIT
RUN_MAX_ATTEMPTS = ENV.RUN_MAX_ATTEMPTS
RUN_REQUEUE_AFTER_SECONDS = ENV.RUN_REQUEUE_AFTER_SECONDS
# The review queue: how long an application may wait for a reviewer (pipelines_admin.reviews)
REVIEW_SLA_HOURS = ENV.REVIEW_SLA_HOURS
# Queued work (pipelines_admin.core.jobs): a claim's lease, renewed by its worker's heartbeat
JOB_LEASE_SECONDS = ENV.JOB_LEASE_SECONDS
JOB_HEARTBEAT_SECONDS = ENV.JOB_HEARTBEAT_SECONDS
if JOB_HEARTBEAT_SECONDS >= JOB_LEASE_SECONDS:
    raise ImproperlyConfigured("JOB_HEARTBEAT_SECONDS must be less than JOB_LEASE_SECONDS.")
BATCH_MAX_BYTES = ENV.BATCH_MAX_BYTES
BATCH_CHUNK_SIZE = ENV.BATCH_CHUNK_SIZE
BATCH_CHUNK_SOFT_TIME_LIMIT = ENV.BATCH_CHUNK_SOFT_TIME_LIMIT
BATCH_CHUNK_TIME_LIMIT = ENV.BATCH_CHUNK_TIME_LIMIT
# Test suites and impact analysis
SUITE_SOFT_TIME_LIMIT = ENV.SUITE_SOFT_TIME_LIMIT
SUITE_TIME_LIMIT = ENV.SUITE_TIME_LIMIT
IMPACT_MAX_RUNS = ENV.IMPACT_MAX_RUNS
IMPACT_CHUNK_SIZE = ENV.IMPACT_CHUNK_SIZE
IMPACT_SAMPLE_SIZE = ENV.IMPACT_SAMPLE_SIZE
IMPACT_CHUNK_SOFT_TIME_LIMIT = ENV.IMPACT_CHUNK_SOFT_TIME_LIMIT
IMPACT_CHUNK_TIME_LIMIT = ENV.IMPACT_CHUNK_TIME_LIMIT
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
HEALTH_CHECK_TIMEOUT_SECONDS = ENV.HEALTH_CHECK_TIMEOUT_SECONDS
# Webhooks (pipelines_admin.webhooks): signed deliveries, retried with exponential backoff
# (WEBHOOK_RETRY_BASE_SECONDS * 2**(attempts-1), at most WEBHOOK_RETRY_MAX_SECONDS) by the
# sweep; a subscription whose deliveries fail WEBHOOK_DISABLE_AFTER times in a row is disabled.
WEBHOOK_TIMEOUT_SECONDS = ENV.WEBHOOK_TIMEOUT_SECONDS
WEBHOOK_MAX_ATTEMPTS = ENV.WEBHOOK_MAX_ATTEMPTS
WEBHOOK_RETRY_BASE_SECONDS = ENV.WEBHOOK_RETRY_BASE_SECONDS
WEBHOOK_RETRY_MAX_SECONDS = ENV.WEBHOOK_RETRY_MAX_SECONDS
WEBHOOK_DISABLE_AFTER = ENV.WEBHOOK_DISABLE_AFTER
# /metrics (pipelines_admin.metrics): Prometheus sends `Authorization: Bearer <METRICS_TOKEN>`;
# while it is not set the endpoint answers 404 (off, never open).
METRICS_TOKEN = ENV.METRICS_TOKEN.strip()

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
    "DEFAULT_THROTTLE_RATES": {"user": ENV.API_THROTTLE_USER},
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
        "ReviewStatusEnum": "pipelines_admin.reviews.models.ReviewCase.Status",
        "ReviewDecisionEnum": "pipelines_admin.reviews.models.ReviewDisposition.Decision",
        "ChangeRequestStatusEnum": "pipelines_admin.changes.models.ChangeRequest.Status",
        "ChangeRequestKindEnum": "pipelines_admin.changes.models.ChangeRequest.Kind",
        "ChangeDecisionEnum": "pipelines_admin.changes.models.ChangeApproval.Decision",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": ENV.LOG_LEVEL},
}
