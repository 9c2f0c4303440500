"""Reads of the audit trail."""
from __future__ import annotations

from django.db.models import QuerySet

from pipelines_admin.audit.models import AuditEvent

AUDIT_FILTERS = ("pipeline", "environment", "action", "actor")


def audit_event_list(filters: dict | None = None) -> QuerySet[AuditEvent]:
    """Events, newest first, filtered by pipeline slug, environment name, action or actor name."""
    filters = filters or {}
    qs = AuditEvent.objects.all()
    for field in ("pipeline", "environment", "action"):
        if filters.get(field):
            qs = qs.filter(**{field: filters[field]})
    if filters.get("actor"):
        qs = qs.filter(actor_name=filters["actor"])
    return qs.order_by("-sequence")


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())
