"""Reading webhooks: the subscriptions with their latest delivery, one subscription, its
delivery log. No writes."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from pipelines_admin.core.errors import NotFound
from pipelines_admin.webhooks.models import WebhookDelivery, WebhookSubscription


def subscriptions() -> QuerySet[WebhookSubscription]:
    """Every subscription by name, with its latest delivery's status, time and answer."""
    latest = WebhookDelivery.objects.filter(subscription=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        WebhookSubscription.objects.select_related("pipeline", "environment", "created_by")
        .annotate(
            last_delivery_status=Subquery(latest.values("status")[:1]),
            last_delivery_at=Subquery(latest.values("created_at")[:1]),
            last_delivery_code=Subquery(latest.values("last_status_code")[:1]),
            last_delivery_event=Subquery(latest.values("event")[:1]),
        )
        .order_by("name", "id")
    )


def subscription_get(pk) -> WebhookSubscription:
    try:
        return subscriptions().get(pk=int(pk))
    except (ValueError, TypeError, WebhookSubscription.DoesNotExist):
        raise NotFound(f"No webhook {pk}.", {"webhook": str(pk)}) from None


def deliveries(subscription: WebhookSubscription) -> QuerySet[WebhookDelivery]:
    """The subscription's delivery log, newest first."""
    return WebhookDelivery.objects.filter(subscription=subscription).order_by("-created_at", "-id")


def delivery_get(pk, subscription: WebhookSubscription | None = None) -> WebhookDelivery:
    queryset = WebhookDelivery.objects.select_related("subscription")
    if subscription is not None:
        queryset = queryset.filter(subscription=subscription)
    try:
        return queryset.get(pk=int(pk))
    except (ValueError, TypeError, WebhookDelivery.DoesNotExist):
        raise NotFound(f"No webhook delivery {pk}.", {"delivery": str(pk)}) from None
