"""Webhook subscriptions and their deliveries (never a subscription's secret, but in the
answer that made it)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pipelines_admin.api.serializers.common import UsernameField
from pipelines_admin.webhooks.events import EVENTS
from pipelines_admin.webhooks.models import WebhookDelivery

EVENT_HELP = "Event types: " + ", ".join(EVENTS) + "."


@extend_schema_field(OpenApiTypes.STR)
class _SlugOrNull(serializers.Field):
    def __init__(self, attribute: str, **kwargs):
        self.attribute = attribute
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return getattr(value, self.attribute) if value is not None else None


class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(source="api_url", help_text="This webhook in the API.")
    name = serializers.CharField()
    target = serializers.CharField(source="url", help_text="Where deliveries are POSTed.")
    pipeline = _SlugOrNull("slug", help_text="Its pipeline's slug; null: every pipeline.")
    environment = _SlugOrNull("name", help_text="Its environment's name; null: every environment.")
    events = serializers.ListField(child=serializers.CharField(), help_text=EVENT_HELP)
    active = serializers.BooleanField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(allow_blank=True)
    consecutive_failures = serializers.IntegerField(help_text="Deliveries failed in a row.")
    created_by = UsernameField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookSecretSerializer(WebhookSerializer):
    secret = serializers.CharField(
        help_text="The signing secret: in this answer only (it is kept encrypted and never shown again)."
    )


class WebhookDeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    webhook = serializers.IntegerField(source="subscription_id")
    event = serializers.CharField()
    event_id = serializers.UUIDField(help_text="The event's id: the same in a re-send.")
    delivery = serializers.UUIDField(help_text="X-Pipelines-Delivery: this delivery's own id.")
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True, help_text="Pending: when it is tried next.")
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    last_response = serializers.CharField(allow_blank=True, help_text="The start of the receiver's answer.")
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    body = serializers.CharField(help_text="The exact JSON text sent (what the signature signs).")
