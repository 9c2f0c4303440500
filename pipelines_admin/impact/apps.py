from django.apps import AppConfig


class ImpactConfig(AppConfig):
    name = "pipelines_admin.impact"
    verbose_name = "Impact analysis: past applications replayed against a change"
