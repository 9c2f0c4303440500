"""Pipelines, their immutable config versions, environments, releases and service bindings.

- A ConfigVersion never changes once saved; a change is a new version.
- A Release says: in this environment, this pipeline runs this version with this
  override (an RFC 7396 JSON Merge Patch). The newest release of a pipeline in an
  environment is live; the older ones are its history. Toggles, override changes and
  rollbacks are new releases too, so the history shows every state that ever ran.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator, URLValidator
from django.db import models

from pipelines_admin.core.fields import OrderedJSONField
from rules_engine import DEFAULT_PII_FIELDS, INTERFACES


class ImmutableError(Exception):
    """Versions and releases are history: they are never edited or deleted."""


class ImmutableModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableError(f"{type(self).__name__} cannot be changed once saved")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError(f"{type(self).__name__} cannot be deleted")


class Pipeline(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    pii_fields = models.JSONField(
        default=list,
        blank=True,
        help_text="Fields masked wherever runs are shown; empty means the standard set "
        "(ssn, date_of_birth, names, email, phone, address, ...).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_fields(self) -> frozenset[str]:
        return frozenset(f.lower() for f in self.pii_fields) if self.pii_fields else DEFAULT_PII_FIELDS

    def masked_fields_for(self, *documents: dict | None) -> frozenset[str]:
        """The pipeline's own PII fields (or the standard set) together with the
        `pii_fields` each config document names: what runs of those configs mask."""
        fields = set(self.masked_fields)
        for document in documents:
            extra = document.get("pii_fields") if isinstance(document, dict) else None
            if isinstance(extra, list):
                fields.update(f.lower() for f in extra if isinstance(f, str))
        return frozenset(fields)


class ConfigVersion(ImmutableModel):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    document = OrderedJSONField()
    content_hash = models.CharField(max_length=71)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pipeline", "-number"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "number"], name="version_number_unique")]

    def __str__(self) -> str:
        return f"{self.pipeline.slug} v{self.number}"


environment_name = RegexValidator(
    r"^[a-z0-9]+(-[a-z0-9]+)*$",
    "Lower-case letters and digits, words joined by dashes, like uat or eu-production.",
)


class Environment(models.Model):
    """Where pipelines run (development, staging, production...). Its name is in URLs,
    runs and audit events, so it never changes once created."""

    name = models.SlugField(max_length=50, unique=True, validators=[environment_name])
    position = models.PositiveSmallIntegerField(
        default=100,
        validators=[MaxValueValidator(10_000)],
        help_text="Environments are listed by it, smallest first.",
    )
    protected = models.BooleanField(default=False, help_text="Only publishers may release to or change it.")
    description = models.CharField(max_length=300, blank=True)
    change_requests_required = models.BooleanField(
        default=False,
        help_text="Every change here (release, rollback, override, toggle, binding, these settings) "
        "goes through a change request that other publishers approve.",
    )
    approvals_required = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(3)],
        help_text="How many publishers other than the author approve a change request here.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Release(ImmutableModel):
    class Kind(models.TextChoices):
        RELEASE = "release", "release"
        ROLLBACK = "rollback", "rollback"
        OVERRIDE = "override", "override change"
        TOGGLE = "toggle", "toggle"

    #: set by the toggles: the rules turned off with what was toggled
    disabled_dependents: list[dict]

    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="releases")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="releases")
    version = models.ForeignKey(ConfigVersion, on_delete=models.PROTECT, related_name="releases")
    override = OrderedJSONField(default=dict, blank=True)
    effective_hash = models.CharField(max_length=71)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.RELEASE)
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["pipeline", "environment", "-id"], name="release_live_idx")]

    def __str__(self) -> str:
        return f"{self.pipeline.slug}@{self.environment.name}: v{self.version.number}"


env_var_name = RegexValidator(r"^[A-Z_][A-Z0-9_]*$", "Use an environment variable name, like KYC_API_KEY.")
identifier = RegexValidator(r"^[A-Za-z_][A-Za-z0-9_]*$", "Letters, digits and underscores only.")
service_name = RegexValidator(r"^[A-Za-z0-9_.\-]+$", "Letters, digits, dots, dashes and underscores only.")

#: the interfaces the engine has adapters for (rules_engine.services.interfaces)
INTERFACE_NAMES = tuple(sorted(INTERFACES))

#: the console's own settings: a binding may not send any of them to a vendor as its secret
CONSOLE_SECRET_ENV = frozenset(
    {
        "SECRET_KEY",
        "RUN_INPUT_KEYS",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "POSTGRES_PASSWORD",
        "DEMO_ADMIN_PASSWORD",
        "DEMO_EDITOR_PASSWORD",
        "DEMO_VIEWER_PASSWORD",
    }
)
CONSOLE_SECRET_ENV_PREFIXES = ("DJANGO_", "DEMO_", "POSTGRES_", "CELERY_")


def not_a_console_secret(value: str) -> None:
    if value in CONSOLE_SECRET_ENV or value.startswith(CONSOLE_SECRET_ENV_PREFIXES):
        raise ValidationError(
            f"{value} holds one of the console's own settings, not a vendor's secret: "
            f"name the variable that holds the vendor's API key."
        )


def finite(value) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError("Enter a number.")


def endpoint_url(value: str) -> None:
    """An http(s) endpoint the HTTP adapter can append an operation to: no user name or
    password in it (secrets go in an environment variable), no query, no fragment."""
    URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// URL.")(value)
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "Leave credentials out of the URL: name the environment variable holding the secret instead."
        )
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValidationError(
            "The URL cannot have a query or a fragment: the operation's name is appended to it."
        )


class ServiceBinding(models.Model):
    """How an environment reaches one service (`service:Interface:name`). Secrets are
    named by environment variable, never stored."""

    class Kind(models.TextChoices):
        SIMULATED = "simulated", "simulated"
        HTTP = "http", "HTTP JSON endpoint"

    #: set by service_binding_set: whether the call changed anything
    changed: bool

    #: the settings each kind uses; the others keep their defaults
    KIND_FIELDS = {
        "simulated": ("latency_ms", "failure_rate"),
        "http": ("url", "timeout_seconds", "retries", "secret_env"),
    }

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="service_bindings")
    interface = models.CharField(
        max_length=64, validators=[identifier], choices=[(i, i) for i in INTERFACE_NAMES]
    )
    name = models.CharField(max_length=64, validators=[service_name])
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SIMULATED)
    url = models.CharField(
        "URL",
        max_length=500,
        blank=True,
        validators=[endpoint_url],
        help_text="The endpoint; each operation's name is appended to it.",
    )
    timeout_seconds = models.FloatField(
        default=5.0, validators=[finite, MinValueValidator(0.01), MaxValueValidator(300)]
    )
    retries = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(5)],
        help_text="Times a call that failed transiently (no answer, no "
        "connection, 429 or 5xx) is sent again, waiting 0.2 s, "
        "then twice as long each time.",
    )
    secret_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[env_var_name, not_a_console_secret],
        help_text="The NAME of the environment variable holding the API key (sent as "
        "a bearer token); the key itself is never stored.",
    )
    latency_ms = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(60_000)])
    failure_rate = models.FloatField(
        default=0.0, validators=[finite, MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["environment", "interface", "name"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "interface", "name"], name="binding_unique")
        ]

    def __str__(self) -> str:
        return f"{self.environment.name}: service:{self.interface}:{self.name} ({self.kind})"

    @property
    def service(self) -> str:
        """Interface:name, as the binding is keyed in URLs and services specs."""
        return f"{self.interface}:{self.name}"

    @property
    def reference(self) -> str:
        """service:Interface:name, as rules' params name it."""
        return f"service:{self.interface}:{self.name}"

    @classmethod
    def field_default(cls, name: str) -> Any:
        """What a new binding holds in the setting `name`."""
        field = cls._meta.get_field(name)
        return field.get_default() if isinstance(field, models.Field) else None
