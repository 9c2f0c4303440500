"""Every environment variable the settings read, typed, with its default and meaning.

`read()` parses them once (pydantic-settings); a value of the wrong type stops
start-up with a message naming the variable and what it should be, instead of a
traceback from deep inside Django or a setting silently falling back. The README's
configuration table lists exactly these variables (a test compares the two).
"""

from __future__ import annotations

from typing import Annotated

from django.core.exceptions import ImproperlyConfigured
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: variables whose values are never repeated in an error message
SECRET_WORDS = ("KEY", "TOKEN", "URL", "PASSWORD", "SECRET")

#: a comma-separated list ("a,b,c"), blanks dropped
CommaList = Annotated[list[str], NoDecode]


class EnvironmentVariables(BaseSettings):
    """The console's settings from the process environment. Each field is one variable,
    named as the field; the description says what it does."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", env_ignore_empty=True)

    # -- the basics
    DEBUG: bool = Field(
        True,
        description="Development mode: generated keys under var/, detailed error pages. "
        "Set false in production.",
    )
    SECRET_KEY: str = Field(
        "",
        description="Django's signing key. Required when DEBUG is off; while DEBUG, one "
        "is generated once into var/dev-secret-key.",
    )
    RUN_INPUT_KEYS: CommaList = Field(
        [],
        description="Fernet keys, newest first, that encrypt stored run "
        "inputs (older ones still decrypt). Required when DEBUG is "
        "off; while DEBUG, one is generated into var/.",
    )
    ALLOWED_HOSTS: CommaList = Field(
        ["localhost", "127.0.0.1", "[::1]"], description="Host names the console answers to."
    )
    CSRF_TRUSTED_ORIGINS: CommaList = Field(
        [],
        description="Origins trusted for CSRF, like https://rules.example.com "
        "(needed behind a proxy on another origin).",
    )
    VAR_DIR: str = Field(
        "",
        description="Folder for the development database, generated keys, the filesystem "
        "broker and static files. Default: var/ in the project.",
    )
    STATIC_MANIFEST: bool = Field(
        False,
        description="Serve static files with hashed names and compression "
        "(after collectstatic), as the production image does.",
    )
    LOG_LEVEL: str = Field("INFO", description="Level of the root logger (DEBUG, INFO, WARNING, ERROR).")

    # -- storage and broker
    DATABASE_URL: str = Field(
        "",
        description="The database, like postgres://user:pass@host:5432/db. Default: "
        "SQLite at var/db.sqlite3.",
    )
    DATABASE_CONN_MAX_AGE: int = Field(60, ge=0, description="Seconds a PostgreSQL connection is kept open.")
    CELERY_BROKER_URL: str = Field(
        "filesystem://",
        description="The broker, like redis://host:6379/0. Default: a folder under "
        "var/broker (kombu's filesystem transport, each message written whole).",
    )
    CELERY_BROKER_FOLDER: str = Field(
        "", description="The filesystem transport's folder (default var/broker)."
    )
    CELERY_RESULT_BACKEND: str = Field(
        "",
        description="Where task results go, like redis://host:6379/1. "
        "Default: files under var/celery-results.",
    )
    CELERY_TASK_DEFAULT_QUEUE: str = Field("pipelines", description="The queue tasks are sent to.")

    # -- HTTPS and login (production)
    SECURE_SSL_REDIRECT: bool = Field(
        True,
        description="When DEBUG is off: redirect plain HTTP to HTTPS (false "
        "behind a proxy that does it itself).",
    )
    SECURE_HSTS_SECONDS: int = Field(365 * 24 * 3600, ge=0, description="When DEBUG is off: HSTS max-age.")
    SECURE_HSTS_INCLUDE_SUBDOMAINS: bool = Field(
        True, description="When DEBUG is off: HSTS for subdomains too."
    )
    SECURE_HSTS_PRELOAD: bool = Field(True, description="When DEBUG is off: HSTS preload.")
    SECURE_COOKIES: bool = Field(
        True, description="When DEBUG is off: session and CSRF cookies over HTTPS only."
    )
    LOGIN_THROTTLE: bool = Field(True, description="false turns login throttling (django-axes) off.")
    LOGIN_FAILURE_LIMIT: int = Field(
        5, ge=1, description="Failed logins per username and address before a lockout."
    )
    LOGIN_LOCKOUT_MINUTES: float = Field(15, gt=0, description="How long a lockout lasts.")
    API_THROTTLE_USER: str = Field(
        "600/minute",
        pattern=r"^\d+/(second|minute|hour|day)$",
        description="API requests per user, like 600/minute.",
    )
    METRICS_TOKEN: str = Field(
        "", description="The bearer token Prometheus sends to /metrics; unset, /metrics answers 404."
    )

    # -- runs and background work
    RUN_SWEEP_SECONDS: float = Field(
        5, gt=0, description="How often the sweep re-sends lost runs, batch chunks, suites and analyses."
    )
    JOB_LEASE_SECONDS: float = Field(
        15,
        gt=0,
        description="A claimed run, chunk, suite or analysis whose worker's heartbeat stopped for this "
        "long is sent again.",
    )
    JOB_HEARTBEAT_SECONDS: float = Field(
        5,
        gt=0,
        description="How often a worker renews the lease of the work it runs. Less than JOB_LEASE_SECONDS.",
    )
    WORKER_MAX_MEMORY_PER_CHILD_KIB: int = Field(
        512_000,
        ge=50_000,
        description="A worker process grown past this many KiB is replaced once its task is done.",
    )
    RUN_INPUT_MAX_BYTES: int = Field(64 * 1024, ge=1, description="Largest application accepted, in bytes.")
    RUN_SOFT_TIME_LIMIT: int = Field(
        60, ge=1, description="Seconds a run may take before it is stopped softly."
    )
    RUN_TIME_LIMIT: int = Field(90, ge=1, description="Seconds a run may take before its worker is killed.")
    RUN_MAX_ATTEMPTS: int = Field(
        3,
        ge=1,
        description="Deliveries of a run (or chunk, suite, analysis) before it is given up on as an error.",
    )
    RUN_REQUEUE_AFTER_SECONDS: int = Field(
        120,
        ge=1,
        description="Work sent to the broker but not picked up after this long is sent again.",
    )
    BATCH_MAX_BYTES: int = Field(20 * 1024 * 1024, ge=1, description="Largest batch file accepted, in bytes.")
    BATCH_CHUNK_SIZE: int = Field(250, ge=1, description="Applications per batch chunk (one task each).")
    BATCH_CHUNK_SOFT_TIME_LIMIT: int = Field(600, ge=1, description="Seconds a batch chunk may take (soft).")
    BATCH_CHUNK_TIME_LIMIT: int = Field(660, ge=1, description="Seconds a batch chunk may take (hard).")
    SUITE_SOFT_TIME_LIMIT: int = Field(600, ge=1, description="Seconds a test suite run may take (soft).")
    SUITE_TIME_LIMIT: int = Field(660, ge=1, description="Seconds a test suite run may take (hard).")
    IMPACT_MAX_RUNS: int = Field(100_000, ge=1, description="Most past runs one impact analysis replays.")
    IMPACT_CHUNK_SIZE: int = Field(500, ge=1, description="Runs replayed per impact chunk (one task each).")
    IMPACT_SAMPLE_SIZE: int = Field(25, ge=0, description="Flipped applications an impact report keeps.")
    IMPACT_CHUNK_SOFT_TIME_LIMIT: int = Field(
        600, ge=1, description="Seconds an impact chunk may take (soft)."
    )
    IMPACT_CHUNK_TIME_LIMIT: int = Field(660, ge=1, description="Seconds an impact chunk may take (hard).")
    HEALTH_CHECK_TIMEOUT_SECONDS: float = Field(
        2, gt=0, description="How long /healthz waits for the database and the broker."
    )
    CHANGE_SCHEDULE_SECONDS: float = Field(
        15,
        gt=0,
        description="How often beat applies the scheduled change requests whose time has come.",
    )
    EMAIL_BACKEND: str = Field(
        "django.core.mail.backends.console.EmailBackend",
        description="How notifications (change requests decided, applied, refused; break glass) "
        "are mailed: the console backend prints them to the log; "
        "django.core.mail.backends.smtp.EmailBackend sends them.",
    )
    EMAIL_HOST: str = Field("localhost", description="The SMTP server, for the SMTP backend.")
    EMAIL_PORT: int = Field(25, gt=0, description="The SMTP server's port.")
    EMAIL_HOST_USER: str = Field("", description="The SMTP user name, if the server needs one.")
    EMAIL_HOST_PASSWORD: str = Field("", description="The SMTP password, if the server needs one.")
    EMAIL_USE_TLS: bool = Field(False, description="Whether to talk to the SMTP server over STARTTLS.")
    DEFAULT_FROM_EMAIL: str = Field(
        "pipelines@localhost", description="The sender of the console's notification emails."
    )
    REVIEW_SLA_HOURS: float = Field(
        24,
        gt=0,
        description="Hours an application may wait in the review queue: green under half of it, "
        "amber under it, red past it.",
    )

    # -- webhooks
    WEBHOOK_TIMEOUT_SECONDS: float = Field(
        5, gt=0, description="Seconds a webhook receiver has to answer a delivery."
    )
    WEBHOOK_MAX_ATTEMPTS: int = Field(
        8, ge=1, description="Attempts at a webhook delivery before it is recorded as failed."
    )
    WEBHOOK_RETRY_BASE_SECONDS: float = Field(
        30,
        gt=0,
        description="Wait before a webhook delivery's second attempt; it doubles at each further attempt.",
    )
    WEBHOOK_RETRY_MAX_SECONDS: float = Field(
        3600, gt=0, description="The longest wait between two attempts at a webhook delivery."
    )
    WEBHOOK_DISABLE_AFTER: int = Field(
        5,
        ge=1,
        description="Webhook deliveries failed in a row (every attempt) before the subscription is disabled.",
    )

    @field_validator("RUN_INPUT_KEYS", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", mode="before")
    @classmethod
    def _comma_list(cls, value):
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


def read() -> EnvironmentVariables:
    """The variables, parsed; ImproperlyConfigured naming each bad one."""
    try:
        return EnvironmentVariables()
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"])
            shown = "" if any(word in name for word in SECRET_WORDS) else f"={problem.get('input')!r}"
            lines.append(f"{name}{shown}: {problem['msg']}")
        raise ImproperlyConfigured("Bad environment variables:\n  " + "\n  ".join(lines)) from None
