"""Who may call the API at all. Reads need a console role (viewer, editor or
publisher); what each write needs is checked by the service it calls."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from pipelines_admin.accounts.permissions import READ, can


class CanRead(BasePermission):
    """Authenticated, with a role that may read pipelines (a user without any role gets 403)."""

    message = "Your account has no role in this console: ask an administrator for the viewer role."

    def has_permission(self, request, view) -> bool:
        return can(request.user, READ)
