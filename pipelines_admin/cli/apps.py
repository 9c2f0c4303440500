from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "pipelines_admin.cli"
    verbose_name = "Command line"
