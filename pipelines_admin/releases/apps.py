from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "pipelines_admin.releases"
    verbose_name = "Releases, overrides and config as code"
