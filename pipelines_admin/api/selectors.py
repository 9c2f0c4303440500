"""Reads the API needs that the apps' selectors do not offer (in the same style)."""

from __future__ import annotations

from django.db.models import QuerySet

from pipelines_admin.api.serializers.common import MAX_INT
from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.audit.selectors import audit_event_list
from pipelines_admin.configs.models import Environment, Pipeline, Release
from pipelines_admin.core.errors import NotFound
from pipelines_admin.impact import selectors as impact_selectors
from pipelines_admin.impact.models import ImpactReport
from pipelines_admin.testcases import selectors as testcase_selectors
from pipelines_admin.testcases.models import SuiteRun, TestCase


def release_get(pipeline: Pipeline, environment: Environment, release_id: int) -> Release:
    """One release of `pipeline` in `environment`."""
    release = (
        Release.objects.select_related("version", "environment", "pipeline")
        .filter(pk=release_id, pipeline=pipeline, environment=environment)
        .first()
    )
    if release is None:
        raise NotFound(
            f"Release {release_id} is not a release of {pipeline.slug} in {environment.name}.",
            {"release_id": release_id},
        )
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


def _in_range(number: int) -> bool:
    """Ids in a path are integers of any size; the database's are not."""
    return 1 <= number <= MAX_INT


def case_get(pipeline: Pipeline, case_id: int) -> TestCase:
    if not _in_range(case_id):
        raise NotFound(f"{pipeline.slug} has no test case {case_id}.", {"test_case": str(case_id)})
    return testcase_selectors.case_get(pipeline, case_id)


def suite_run_get(pipeline: Pipeline, suite_run_id: int) -> SuiteRun:
    if not _in_range(suite_run_id):
        raise NotFound(f"{pipeline.slug} has no suite run {suite_run_id}.", {"suite_run": str(suite_run_id)})
    return testcase_selectors.suite_run_get(pipeline, suite_run_id)


def impact_report_get(pipeline: Pipeline, report_id: int) -> ImpactReport:
    if not _in_range(report_id):
        raise NotFound(
            f"{pipeline.slug} has no impact report {report_id}.", {"impact_report": str(report_id)}
        )
    return impact_selectors.impact_report_get(pipeline, report_id)


def latest_outcomes(pipeline: Pipeline) -> tuple[SuiteRun | None, dict[int, dict]]:
    """The pipeline's newest suite run that ran its cases, and test case id -> its entry there."""
    suite_run = testcase_selectors.suite_run_latest(pipeline)
    return suite_run, testcase_selectors.case_outcomes(suite_run)
