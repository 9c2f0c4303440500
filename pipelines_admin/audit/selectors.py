"""Reads of the audit trail."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from pipelines_admin.audit.models import AuditEvent

AUDIT_FILTERS = ("pipeline", "environment", "action", "actor", "from", "to")


def _day(value) -> date | None:
    """A filter's date (an ISO date such as 2026-03-01); None when empty or not a date."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()) if value else None
    except ValueError:
        return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def audit_event_list(filters: dict | None = None) -> QuerySet[AuditEvent]:
    """Events, newest first, filtered by pipeline slug, environment name, action, actor
    name, and the days they happened on: `from` and `to` are dates, both included."""
    filters = filters or {}
    qs = AuditEvent.objects.all()
    for field in ("pipeline", "environment", "action"):
        if filters.get(field):
            qs = qs.filter(**{field: filters[field]})
    if filters.get("actor"):
        qs = qs.filter(actor_name=filters["actor"])
    first, last = _day(filters.get("from")), _day(filters.get("to"))
    if first is not None:
        qs = qs.filter(occurred_at__gte=_start_of(first))
    if last is not None and last < date.max:
        qs = qs.filter(occurred_at__lt=_start_of(last + timedelta(days=1)))
    return qs.order_by("-sequence")


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())


def audit_actors() -> list[str]:
    """Everyone who appears in the trail (their username, or "system")."""
    return list(AuditEvent.objects.order_by("actor_name").values_list("actor_name", flat=True).distinct())
