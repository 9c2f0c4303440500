"""Reads of impact reports, and the figures a report page shows."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from pipelines_admin.configs.models import ConfigVersion, Pipeline
from pipelines_admin.core.errors import NotFound
from pipelines_admin.impact.models import ImpactReport
from pipelines_admin.impact.tally import DIRECTIONS, REVIEW_FLIPS, latency_summary
from pipelines_admin.testcases.expectations import OUTCOMES, STATUSES


def impact_report_list(pipeline: Pipeline, version: ConfigVersion | None = None) -> QuerySet[ImpactReport]:
    qs = pipeline.impact_reports.select_related(
        "environment", "candidate_version", "baseline_release__version", "requested_by"
    ).defer("samples")
    if version is not None:
        qs = qs.filter(candidate_version=version)
    return qs.order_by("-created_at", "-id")


def impact_report_get(pipeline: Pipeline, report_id) -> ImpactReport:
    try:
        return pipeline.impact_reports.select_related(
            "pipeline",
            "environment",
            "candidate_version",
            "baseline_release__version",
            "requested_by",
        ).get(pk=report_id)
    except (ImpactReport.DoesNotExist, ValueError, ValidationError):
        raise NotFound(
            f"{pipeline.slug} has no impact report {report_id}.", {"impact_report": str(report_id)}
        ) from None


@dataclass(frozen=True)
class RuleImpact:
    key: str
    before: dict[str, int]
    after: dict[str, int]
    changed: int

    @property
    def stage(self) -> str:
        return self.key.partition("/")[0]

    @property
    def rule(self) -> str:
        return self.key.partition("/")[2]

    def pairs(self) -> list[tuple[str, int, int]]:
        return [
            (o, self.before.get(o, 0), self.after.get(o, 0))
            for o in OUTCOMES
            if self.before.get(o) or self.after.get(o)
        ]


@dataclass(frozen=True)
class ImpactSummary:
    replayed: int
    unchanged: int
    flips: dict[str, int]
    skipped: int
    decisions: list[tuple[str, list[int]]]  # before status, counts per after status (STATUSES order)
    rules: list[RuleImpact]  # changed first
    latency: dict[str, dict]
    statuses: tuple[str, ...] = STATUSES

    @property
    def flipped(self) -> int:
        """Applications whose decision would change (to_review and from_review count
        some of them again)."""
        return sum(self.flips.get(direction, 0) for direction in DIRECTIONS)


def impact_summary(report: ImpactReport) -> ImpactSummary:
    t = report.tally or {}
    decisions = [
        (before, [t.get("decisions", {}).get(before, {}).get(after, 0) for after in STATUSES])
        for before in STATUSES
    ]
    rules = [
        RuleImpact(key, e.get("before", {}), e.get("after", {}), e.get("changed", 0))
        for key, e in t.get("rules", {}).items()
    ]
    rules.sort(key=lambda r: (-r.changed, r.key))
    return ImpactSummary(
        t.get("replayed", 0),
        t.get("unchanged", 0),
        {**dict.fromkeys((*DIRECTIONS, *REVIEW_FLIPS), 0), **t.get("flips", {})},
        t.get("skipped", 0),
        decisions,
        rules,
        latency_summary(t),
    )
