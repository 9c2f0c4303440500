"""Reads the API needs that the apps' selectors do not offer (in the same style)."""
from __future__ import annotations

from django.db.models import QuerySet

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.audit.selectors import audit_event_list
from pipelines_admin.configs.models import Environment, Pipeline, Release
from pipelines_admin.core.errors import NotFound


def release_get(pipeline: Pipeline, environment: Environment, release_id: int) -> Release:
    """One release of `pipeline` in `environment`."""
    release = (Release.objects.select_related("version", "environment", "pipeline")
               .filter(pk=release_id, pipeline=pipeline, environment=environment).first())
    if release is None:
        raise NotFound(f"Release {release_id} is not a release of {pipeline.slug} in {environment.name}.",
                       {"release_id": release_id})
    return release


def audit_events(filters: dict) -> QuerySet[AuditEvent]:
    """audit_event_list's filters, plus a time window (since/until) and `after_sequence`
    (what a tool that pulls the trail regularly already has)."""
    qs = audit_event_list({k: filters.get(k) for k in ("pipeline", "environment", "action", "actor")})
    if filters.get("since"):
        qs = qs.filter(occurred_at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(occurred_at__lt=filters["until"])
    if filters.get("after_sequence") is not None:
        qs = qs.filter(sequence__gt=filters["after_sequence"])
    return qs
