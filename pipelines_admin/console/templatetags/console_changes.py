"""The navigation's "Changes" badge: how many change requests wait for the user (to
approve, or their own approved or refused ones). Worked out once per request, and not
at all while no change request is open."""

from __future__ import annotations

from django import template

from pipelines_admin.accounts.permissions import READ, can
from pipelines_admin.changes import selectors
from pipelines_admin.changes.models import ChangeRequest

register = template.Library()


@register.simple_tag(takes_context=True)
def changes_waiting(context) -> int | None:
    """None for people who may not read the console."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not can(user, READ):
        return None
    cached = getattr(request, "_changes_waiting", None)
    if cached is None:
        open_ = ChangeRequest.objects.filter(status=ChangeRequest.Status.OPEN).exists()
        cached = selectors.open_requests_count(user) if open_ else 0
        request._changes_waiting = cached
    return cached
