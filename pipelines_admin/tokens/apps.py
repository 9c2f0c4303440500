from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "pipelines_admin.tokens"
    verbose_name = "API tokens"
