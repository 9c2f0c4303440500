"""Reads of the review queue: the runs waiting for a person, one case with its trace,
the backlog and the review figures of the dashboards and /metrics.

The queue is the runs in status "review" without a decided case (a case exists once
someone has worked the run), oldest first. It is read through the runs' (status,
created_at) index; the decided runs in review are skipped by an anti-join on the cases.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, Min, OuterRef, QuerySet
from django.utils import timezone

from pipelines_admin.core.errors import NotFound
from pipelines_admin.reviews.models import REASON_CODES, ReviewCase, ReviewDisposition
from pipelines_admin.runs.models import Run
from pipelines_admin.runs.services import run_document

QUEUE_FILTERS = ("pipeline", "environment")


# -- a run's review ------------------------------------------------------------------------


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _decision(run: Run) -> dict:
    """The run's result's `decision` (see the engine's result), {} when it has none."""
    return _mapping(_mapping(run.result).get("decision"))


def approvals_required(run: Run) -> int:
    """How many different reviewers must approve: the run's decision.review.approvals (1 to 3; 1 when absent)."""
    value = _mapping(_decision(run).get("review")).get("approvals")
    if isinstance(value, int) and not isinstance(value, bool):
        return min(max(value, 1), 3)
    return 1


def routed_rules(run: Run) -> list[str]:
    """The rules whose result was sent to a person: decision.review.rules, else every rule entry marked review."""
    rules = _mapping(_decision(run).get("review")).get("rules")
    if isinstance(rules, list):
        return [str(r) for r in rules]
    return [
        str(rule.get("id"))
        for stage in _mapping(run.result).get("stages") or []
        if isinstance(stage, dict)
        for rule in stage.get("rules") or []
        if isinstance(rule, dict) and rule.get("review")
    ]


def decision_reasons(run: Run) -> list[dict]:
    reasons = _decision(run).get("reasons")
    return [r for r in reasons if isinstance(r, dict)] if isinstance(reasons, list) else []


def masked_fields(run: Run) -> frozenset[str]:
    """The field names masked in the run's stored input and result."""
    return run.pipeline.masked_fields_for(run_document(run))


def revealable_fields(run: Run) -> list[str]:
    """The dotted paths of the masked values of the run's input: what a reviewer may reveal."""
    fields = masked_fields(run)
    found: list[str] = []

    def walk(record: dict, prefix: str) -> None:
        for key, value in record.items():
            path = f"{prefix}{key}"
            if str(key).lower() in fields and value is not None:
                found.append(path)
            elif isinstance(value, dict):
                walk(value, f"{path}.")

    if isinstance(run.input_masked, dict):
        walk(run.input_masked, "")
    return found


def case_of(run: Run) -> ReviewCase | None:
    """The run's review case with its dispositions, or None while nobody has worked it."""
    case = (
        ReviewCase.objects.select_related("claimed_by")
        .prefetch_related("dispositions__reviewer")
        .filter(run_id=run.pk)
        .first()
    )
    if case is not None:
        case.run = run
    return case


@dataclass
class Review:
    """One run's review as a page shows it: the case (None before anyone worked it), how
    many approvals it needs and still misses, the routed rules and the decision's reasons.
    The interface showing it may add its links and the fields a reviewer may reveal."""

    run: Run
    case: ReviewCase | None
    approvals_required: int
    rules: list[str]
    reasons: list[dict]
    url: str = ""
    run_url: str = ""
    revealable_fields: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.case.status if self.case is not None else ReviewCase.Status.OPEN

    @property
    def decided(self) -> bool:
        return self.case is not None and self.case.decided

    @property
    def approvals(self) -> int:
        return self.case.approvals if self.case is not None else 0

    @property
    def approvals_missing(self) -> int:
        return max(self.approvals_required - self.approvals, 0)

    @property
    def claimed_by(self):
        return self.case.claimed_by if self.case is not None else None

    @property
    def dispositions(self) -> list[ReviewDisposition]:
        return list(self.case.dispositions.all()) if self.case is not None else []

    def approved_by(self, user) -> bool:
        return any(d.reviewer_id == user.pk and d.decision == "approve" for d in self.dispositions)

    @property
    def sla(self) -> Sla:
        return sla_of(self.run.created_at, until=self.case.decided_at if self.decided else None)  # type: ignore[union-attr]  # decided: a case


def review_of(run: Run) -> Review | None:
    """The review of `run`, or None for a run that never went to review."""
    case = case_of(run)
    if case is None and run.status != Run.Status.REVIEW:
        return None
    required = case.approvals_required if case is not None else approvals_required(run)
    return Review(
        run=run,
        case=case,
        approvals_required=required,
        rules=routed_rules(run),
        reasons=decision_reasons(run),
    )


def review_get(run_id) -> Review:
    """The review of a run in review (decided or not); NotFound otherwise."""
    try:
        run = Run.objects.select_related("pipeline", "environment", "config_version", "submitted_by").get(
            pk=uuid.UUID(str(run_id))
        )
    except (Run.DoesNotExist, ValueError):
        raise NotFound("There is no such run.", {"run": str(run_id)}) from None
    review = review_of(run)
    if review is None:
        raise NotFound("This run was not sent to review.", {"run": str(run_id)})
    return review


# -- age and SLA ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Sla:
    seconds: float
    colour: str  # green: under half the SLA; amber: under it; red: past it

    @property
    def label(self) -> str:
        return duration_label(self.seconds)


def sla_of(since: datetime, *, until: datetime | None = None, now: datetime | None = None) -> Sla:
    seconds = max(((until or now or timezone.now()) - since).total_seconds(), 0.0)
    limit = float(settings.REVIEW_SLA_HOURS) * 3600
    colour = "green" if seconds < limit / 2 else "amber" if seconds < limit else "red"
    return Sla(seconds, colour)


def duration_label(seconds: float | None) -> str:
    """3 min, 2 h 05 min, 3 d 4 h."""
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


# -- the queue -----------------------------------------------------------------------------


def _decided_case():
    return ReviewCase.objects.filter(run_id=OuterRef("pk"), status__in=ReviewCase.DECIDED)


def waiting_runs() -> QuerySet[Run]:
    """Every run in review without a decided case."""
    return Run.objects.filter(status=Run.Status.REVIEW).filter(~Exists(_decided_case()))


def review_queue(filters: dict | None = None) -> QuerySet[Run]:
    """The queue: runs waiting for a reviewer, oldest first, by pipeline slug and environment name."""
    filters = filters or {}
    qs = waiting_runs().select_related("pipeline", "environment", "review_case__claimed_by")
    if filters.get("pipeline"):
        qs = qs.filter(pipeline__slug=filters["pipeline"])
    if filters.get("environment"):
        qs = qs.filter(environment__name=filters["environment"])
    return qs.defer("input_encrypted").order_by("created_at", "id")


def queue_rows(runs) -> list[Review]:
    """The reviews of a page of the queue (its runs with their cases selected)."""
    rows = []
    for run in runs:
        case = getattr(run, "review_case", None)  # None while nobody has worked it
        required = case.approvals_required if case is not None else approvals_required(run)
        rows.append(
            Review(run=run, case=case, approvals_required=required, rules=routed_rules(run), reasons=[])
        )
    return rows


def backlog_count() -> int:
    return waiting_runs().count()


def backlog_by_place() -> list[dict]:
    """[{pipeline, environment, waiting, oldest}] of the queue, by pipeline slug and environment name."""
    return list(
        waiting_runs()
        .values("pipeline__slug", "environment__name")
        .annotate(waiting=Count("id"), oldest=Min("created_at"))
        .order_by("pipeline__slug", "environment__name")
    )


# -- the dashboards ------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) of `values`, interpolated between the nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def review_dashboard(*, pipeline=None, environment=None, hours: int = 24, now=None) -> dict:
    """The review figures of the dashboards: the backlog now (count, oldest wait), the
    time to a decision (p50, p95, from submission to the final disposition) of the cases
    decided in the window, and the window's dispositions by reviewer and reason code."""
    now = now or timezone.now()
    since = now - timedelta(hours=hours)
    waiting = waiting_runs()
    decided = ReviewCase.objects.filter(status__in=ReviewCase.DECIDED, decided_at__gte=since)
    dispositions = ReviewDisposition.objects.filter(created_at__gte=since)
    if pipeline is not None:
        waiting, decided = waiting.filter(pipeline=pipeline), decided.filter(pipeline=pipeline)
        dispositions = dispositions.filter(case__pipeline=pipeline)
    if environment is not None:
        waiting, decided = waiting.filter(environment=environment), decided.filter(environment=environment)
        dispositions = dispositions.filter(case__environment=environment)
    backlog = waiting.aggregate(count=Count("id"), oldest=Min("created_at"))
    times = [s for s in decided.values_list("decision_seconds", flat=True) if s is not None]
    by_status = dict(decided.values_list("status").annotate(n=Count("id")).order_by())
    rows = (
        dispositions.values("reviewer__username", "decision", "reason_code")
        .annotate(n=Count("id"))
        .order_by("reviewer__username", "decision", "reason_code")
    )
    oldest = backlog["oldest"]
    return {
        "since": since,
        "hours": hours,
        "backlog": backlog["count"],
        "oldest_seconds": (now - oldest).total_seconds() if oldest else None,
        "oldest_sla": sla_of(oldest, now=now) if oldest else None,
        "decided": len(times),
        "approved": by_status.get(ReviewCase.Status.APPROVED, 0),
        "declined": by_status.get(ReviewCase.Status.DECLINED, 0),
        "decision_p50_seconds": percentile(times, 0.5),
        "decision_p95_seconds": percentile(times, 0.95),
        "dispositions": [
            {
                "reviewer": row["reviewer__username"],
                "decision": row["decision"],
                "reason_code": row["reason_code"],
                "reason": REASON_CODES.get(row["decision"], {}).get(row["reason_code"], row["reason_code"]),
                "count": row["n"],
            }
            for row in rows
        ],
    }
