"""The Webhooks area: the list, one subscription and what is done to it."""

from django.urls import path

from pipelines_admin.console.views import webhooks

urlpatterns: list = [
    path("", webhooks.webhooks, name="webhooks"),
    path("<int:webhook_id>/", webhooks.webhook, name="webhook"),
    path("<int:webhook_id>/enable/", webhooks.enable, name="webhook-enable"),
    path("<int:webhook_id>/disable/", webhooks.disable, name="webhook-disable"),
    path("<int:webhook_id>/rotate-secret/", webhooks.rotate_secret, name="webhook-rotate-secret"),
    path("<int:webhook_id>/delete/", webhooks.delete, name="webhook-delete"),
    path(
        "<int:webhook_id>/deliveries/<int:delivery_id>/resend/",
        webhooks.resend,
        name="webhook-resend",
    ),
]
