from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "pipelines_admin.health"
    verbose_name = "Health checks"
