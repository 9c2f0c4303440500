from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "pipelines_admin.console"
    verbose_name = "Web console"
