from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "pipelines_admin.runs"
    verbose_name = "Runs, batches and metrics"
