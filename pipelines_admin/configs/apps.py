from django.apps import AppConfig


class ConfigsConfig(AppConfig):
    name = "pipelines_admin.configs"
    verbose_name = "Pipelines, versions and releases"
