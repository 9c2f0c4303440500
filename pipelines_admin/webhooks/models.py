"""Webhook subscriptions and the log of their deliveries.

A subscription says where to POST which events (of one pipeline and environment, or
of all), and holds its signing secret encrypted (webhooks.cipher). Each event that
matches it becomes a `WebhookDelivery`: the exact JSON text sent, its attempts, the
receiver's last answer, and when it is tried next."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models

from pipelines_admin.configs.models import Environment, Pipeline

#: what a receiver answered, as kept in the log
RESPONSE_KEEP_CHARS = 2000

webhook_url = URLValidator(schemes=["http", "https"])


class WebhookSubscription(models.Model):
    name = models.CharField(max_length=100, help_text="What receives it, e.g. “chat-ops bot”.")
    url = models.CharField(max_length=500, validators=[webhook_url], help_text="Where deliveries are POSTed.")
    pipeline = models.ForeignKey(
        Pipeline,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Only this pipeline's events (empty: every pipeline).",
    )
    environment = models.ForeignKey(
        Environment,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Only this environment's events (empty: every environment).",
    )
    events = models.JSONField(default=list, help_text="The event types sent (webhooks.events).")
    secret_encrypted = models.TextField(
        editable=False, help_text="The signing secret, encrypted with RUN_INPUT_KEYS."
    )
    active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0, help_text="Deliveries failed for good in a row (a delivered one resets it)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"

    @property
    def scope(self) -> str:
        pipeline = self.pipeline.slug if self.pipeline_id and self.pipeline else "every pipeline"
        environment = (
            self.environment.name if self.environment_id and self.environment else "every environment"
        )
        return f"{pipeline} · {environment}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(help_text="The event's id: the same in every delivery of the event.")
    delivery = models.UUIDField(default=uuid.uuid4, unique=True, help_text="X-Pipelines-Delivery.")
    event = models.CharField(max_length=64)
    body = models.TextField(help_text="The exact JSON text sent (what the signature signs).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When it is tried next.")
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker is sending it until then (no other sends it meanwhile)."
    )
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_response = models.TextField(blank=True, help_text=f"The first {RESPONSE_KEEP_CHARS} characters.")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.subscription_id} ({self.status})"
