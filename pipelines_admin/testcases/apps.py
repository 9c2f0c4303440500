from django.apps import AppConfig


class TestcasesConfig(AppConfig):
    name = "pipelines_admin.testcases"
    verbose_name = "Test cases, suite runs and the release gate"
