from django.apps import AppConfig


class ChangesConfig(AppConfig):
    name = "pipelines_admin.changes"
    verbose_name = "Change requests: four eyes on protected environments"
