"""Django's admin app, with the console's admin site (superusers only) as its default site."""

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "pipelines_admin.core.admin_site.ConsoleAdminSite"
