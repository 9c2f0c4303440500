from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "pipelines_admin.accounts"
    verbose_name = "Accounts and roles"
