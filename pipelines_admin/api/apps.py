from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "pipelines_admin.api"
    label = "api"
    verbose_name = "REST API"

    def ready(self):
        # registers the OpenAPI description of the token authentication
        from pipelines_admin.api import schema  # noqa: F401
