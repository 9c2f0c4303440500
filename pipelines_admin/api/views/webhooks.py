"""Webhooks: subscriptions (list, create with the secret in that answer only, change,
delete, enable, disable, rotate the secret), a subscription's deliveries, re-sending one.
Everyone with a console role reads them; publishers and superusers manage them."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from pipelines_admin.api.base import ApiView
from pipelines_admin.api.pagination import NewestFirstPagination
from pipelines_admin.api.schema import error_response
from pipelines_admin.api.serializers.webhooks import (
    EVENT_HELP,
    WebhookDeliverySerializer,
    WebhookSecretSerializer,
    WebhookSerializer,
)
from pipelines_admin.configs import selectors as config_selectors
from pipelines_admin.webhooks import selectors, services
from pipelines_admin.webhooks.events import EVENTS

MANAGE = "Publishers and superusers."
NO_STORE = {"Cache-Control": "no-store"}


class DeliveryPagination(NewestFirstPagination):
    ordering = ("-created_at", "-id")


def _with_url(view: ApiView, subscription):
    subscription.api_url = view.absolute(
        reverse("api:webhook-detail", kwargs={"webhook_id": subscription.pk})
    )
    return subscription


def _scope(values: dict) -> dict:
    """pipeline / environment from their slug and name (null: all), when given."""
    scope: dict[str, object] = {}
    if "pipeline" in values:
        slug = values.pop("pipeline")
        scope["pipeline"] = config_selectors.pipeline_get(slug) if slug else None
    if "environment" in values:
        name = values.pop("environment")
        scope["environment"] = config_selectors.environment_get(name) if name else None
    return {**values, **scope}


def _detail(view: ApiView, pk, *, secret: str | None = None, code: int = 200) -> Response:
    subscription = _with_url(view, selectors.subscription_get(pk))
    if secret is None:
        return Response(WebhookSerializer(subscription).data, status=code)
    subscription.secret = secret
    return Response(WebhookSecretSerializer(subscription).data, status=code, headers=NO_STORE)


class WebhookInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=500, help_text="Where deliveries are POSTed (http or https).")
    pipeline = serializers.SlugField(
        max_length=80,
        required=False,
        allow_null=True,
        help_text="A pipeline's slug; null or absent: every one.",
    )
    environment = serializers.SlugField(
        max_length=50,
        required=False,
        allow_null=True,
        help_text="An environment's name; null or absent: every one.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENTS)), allow_empty=False, help_text=EVENT_HELP
    )


class WebhookListView(ApiView):
    @extend_schema(
        operation_id="webhooks_list",
        summary="List the webhooks",
        description="By name, with their state; never their secrets.",
        responses={200: WebhookSerializer(many=True)},
    )
    def get(self, request):
        rows = [_with_url(self, s) for s in selectors.subscriptions()]
        return Response(WebhookSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        summary="Create a webhook",
        description=f"{MANAGE} The answer holds its signing secret, and only this answer.",
        request=WebhookInput,
        responses={201: WebhookSecretSerializer},
    )
    def post(self, request):
        data = WebhookInput(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.subscription_create(actor=request.user, **_scope(dict(data.validated_data)))
        return _detail(self, created.subscription.pk, secret=created.secret, code=status.HTTP_201_CREATED)


class WebhookDetailView(ApiView):
    class PatchInput(WebhookInput):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for field in self.fields.values():
                field.required = False

    @extend_schema(
        operation_id="webhooks_retrieve", summary="Get a webhook", responses={200: WebhookSerializer}
    )
    def get(self, request, webhook_id):
        return _detail(self, webhook_id)

    @extend_schema(
        operation_id="webhooks_partial_update",
        summary="Change a webhook",
        description=f"{MANAGE} What is given changes; the rest stays. The secret changes by rotating it.",
        request=PatchInput,
        responses={200: WebhookSerializer},
    )
    def patch(self, request, webhook_id):
        subscription = selectors.subscription_get(webhook_id)
        data = self.PatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.subscription_update(
            subscription=subscription, actor=request.user, **_scope(dict(data.validated_data))
        )
        return _detail(self, webhook_id)

    @extend_schema(
        operation_id="webhooks_destroy",
        summary="Delete a webhook",
        description=f"{MANAGE} With its delivery log; the audit trail keeps that it was.",
        responses={204: None},
    )
    def delete(self, request, webhook_id):
        services.subscription_delete(subscription=selectors.subscription_get(webhook_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretView(ApiView):
    @extend_schema(
        operation_id="webhooks_rotate_secret",
        summary="Rotate a webhook's secret",
        description=f"{MANAGE} The answer holds the new secret, and only this answer; the old one signs nothing more.",
        request=None,
        responses={200: WebhookSecretSerializer},
    )
    def post(self, request, webhook_id):
        secret = services.subscription_rotate_secret(
            subscription=selectors.subscription_get(webhook_id), actor=request.user
        )
        return _detail(self, webhook_id, secret=secret)


class WebhookEnableView(ApiView):
    @extend_schema(
        operation_id="webhooks_enable",
        summary="Enable a webhook",
        description=f"{MANAGE} Its failure count is reset; the deliveries waiting are sent.",
        request=None,
        responses={200: WebhookSerializer},
    )
    def post(self, request, webhook_id):
        services.subscription_enable(subscription=selectors.subscription_get(webhook_id), actor=request.user)
        return _detail(self, webhook_id)


class WebhookDisableView(ApiView):
    class Input(serializers.Serializer):
        reason = serializers.CharField(max_length=300, required=False, allow_blank=True)

    @extend_schema(
        operation_id="webhooks_disable",
        summary="Disable a webhook",
        description=f"{MANAGE} Nothing is sent until it is enabled again: deliveries already waiting are kept, new events are not stored for it.",
        request=Input,
        responses={200: WebhookSerializer},
    )
    def post(self, request, webhook_id):
        data = self.Input(data=request.data or {})
        data.is_valid(raise_exception=True)
        services.subscription_disable(
            subscription=selectors.subscription_get(webhook_id),
            actor=request.user,
            reason=data.validated_data.get("reason", ""),
        )
        return _detail(self, webhook_id)


class WebhookDeliveryListView(ApiView):
    pagination_class = DeliveryPagination

    @extend_schema(
        operation_id="webhooks_deliveries",
        summary="A webhook's deliveries",
        description="Newest first, cursor-paginated: status, attempts, the receiver's last answer, the next attempt.",
        responses={200: WebhookDeliverySerializer(many=True)},
    )
    def get(self, request, webhook_id):
        subscription = selectors.subscription_get(webhook_id)
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(selectors.deliveries(subscription), request, view=self)
        return paginator.get_paginated_response(WebhookDeliverySerializer(rows, many=True).data)


class WebhookDeliveryResendView(ApiView):
    @extend_schema(
        operation_id="webhook_deliveries_resend",
        summary="Re-send a delivery",
        description=f"{MANAGE} The same event (the same body and event id) as a new delivery with its own "
        "attempts; 409 while the webhook is disabled.",
        request=None,
        responses={202: WebhookDeliverySerializer, 409: error_response("The webhook is disabled.")},
    )
    def post(self, request, delivery_id):
        again = services.delivery_resend(delivery=selectors.delivery_get(delivery_id), actor=request.user)
        return Response(WebhookDeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)
