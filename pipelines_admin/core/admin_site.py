"""Django's admin, for superusers only: staff accounts without superuser rights are sent
to its login page like anyone else (and see nothing once there).

Every model of the project is registered (each app's admin.py). What a service governs
(roles, protection, the release gate, the audit trail) is read-only here: each object
links to the console page that changes it. Users and groups (the console's roles) are
Django's own and are changed here."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin import AdminSite
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html


class ConsoleAdminSite(AdminSite):
    site_header = "Rules console administration"
    site_title = "Rules console admin"
    index_title = "Everything the console stores (changes go through the console)"
    enable_nav_sidebar = False  # the lists need the width

    def has_permission(self, request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)


class ReadOnlyAdmin:
    """A model the admin only shows: no add, change or delete (those go through the
    services, in the console). `console_url(obj)` is where it is changed or shown; the
    list and the object's page link there."""

    console_label = "Change in the console"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def console_url(self, obj) -> str | None:  # pragma: no cover - each admin says
        return None

    @admin.display(description="In the console")
    def in_the_console(self, obj):
        try:
            url = self.console_url(obj) if obj is not None and obj.pk is not None else None
        except NoReverseMatch:
            url = None
        return format_html('<a href="{}">{}</a>', url, self.console_label) if url else "—"

    def get_readonly_fields(self, request, obj=None):
        return ("in_the_console", *super().get_readonly_fields(request, obj))

    def get_fields(self, request, obj=None):
        """The console link first, then the model's fields."""
        return ["in_the_console", *[f for f in super().get_fields(request, obj) if f != "in_the_console"]]

    def get_list_display(self, request):
        return (*super().get_list_display(request), "in_the_console")


def console(name: str, query: dict | None = None, anchor: str = "", **kwargs) -> str:
    """The console page `name` (with its URL kwargs), optionally with a query and an anchor."""
    return reverse(f"console:{name}", kwargs=kwargs) + (f"?{urlencode(query)}" if query else "") + anchor
