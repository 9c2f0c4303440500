from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "pipelines_admin.webhooks"
    verbose_name = "Webhooks"
