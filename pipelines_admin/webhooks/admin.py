"""Webhook subscriptions and their deliveries in the admin: shown, never changed here
(the services check the role and audit each change). The signing secret is never
shown, not even encrypted."""

from django.contrib import admin

from pipelines_admin.core.admin_site import ReadOnlyAdmin, console
from pipelines_admin.webhooks.models import WebhookDelivery, WebhookSubscription


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("name", "url", "pipeline", "environment", "active", "consecutive_failures", "created_at")
    list_filter = ("active", "pipeline", "environment")
    search_fields = ("name", "url")
    list_select_related = ("pipeline", "environment")
    exclude = ("secret_encrypted",)

    def console_url(self, obj):
        return console("webhook", webhook_id=obj.pk)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("id", "subscription", "event", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "event")
    search_fields = ("event", "subscription__name", "event_id", "delivery")
    list_select_related = ("subscription",)
    date_hierarchy = "created_at"

    def console_url(self, obj):
        return console("webhook", webhook_id=obj.subscription_id)
