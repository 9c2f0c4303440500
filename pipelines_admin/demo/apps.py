from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "pipelines_admin.demo"
    verbose_name = "Demo users and pipelines"
