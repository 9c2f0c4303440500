"""Reads of runs, batches and the dashboards (which read metric rollups only)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from pipelines_admin.core.errors import NotFound
from pipelines_admin.runs.metrics import (
    BUCKET_SECONDS,
    BUCKETS,
    SLOW,
    bucket_start,
    merge_histograms,
    quantile,
)
from pipelines_admin.runs.models import Alert, Batch, MetricRollup, Run

RUN_FILTERS = ("pipeline", "environment", "status", "source", "batch")


def run_list(filters: dict | None = None) -> QuerySet[Run]:
    """Runs, newest first, filtered by pipeline slug, environment name, status, source or batch id."""
    filters = filters or {}
    qs = Run.objects.select_related("pipeline", "environment", "config_version", "submitted_by").defer(
        "input_encrypted", "result"
    )
    if filters.get("pipeline"):
        qs = qs.filter(pipeline__slug=filters["pipeline"])
    if filters.get("environment"):
        qs = qs.filter(environment__name=filters["environment"])
    if filters.get("status") in Run.Status.values:
        qs = qs.filter(status=filters["status"])
    if filters.get("source") in Run.Source.values:
        qs = qs.filter(source=filters["source"])
    if filters.get("batch"):
        try:
            qs = qs.filter(batch_id=uuid.UUID(str(filters["batch"])))
        except ValueError:  # not a batch id: no batch has it
            return qs.none()
    return qs.order_by("-created_at", "-id")


def run_get(run_id) -> Run:
    try:
        return Run.objects.select_related(
            "pipeline", "environment", "config_version", "submitted_by", "batch"
        ).get(pk=run_id)
    except (Run.DoesNotExist, ValidationError, ValueError):  # a malformed id is no run either
        raise NotFound("There is no such run.", {"run": str(run_id)}) from None


def batch_get(batch_id) -> Batch:
    try:
        return Batch.objects.select_related(
            "pipeline", "environment", "release__version", "submitted_by"
        ).get(pk=batch_id)
    except (Batch.DoesNotExist, ValidationError, ValueError):
        raise NotFound("There is no such batch.", {"batch": str(batch_id)}) from None


def batch_list() -> QuerySet[Batch]:
    return Batch.objects.select_related("pipeline", "environment", "submitted_by").order_by("-created_at")


@dataclass(frozen=True)
class BatchOutcome:
    field: str  # the Batch counter
    label: str
    status: str  # the status class it is shown with


_OUTCOME_LABELS = {
    Run.Status.PASSED: "Passed",
    Run.Status.FAILED: "Failed",
    Run.Status.UNDECIDED: "Undecided",
    Run.Status.ERROR: "Errors",
}

#: A batch's outcome counters (Batch.COUNTERS), in the order they are shown.
BATCH_OUTCOMES = tuple(
    BatchOutcome(field, _OUTCOME_LABELS[status], str(status)) for status, field in Batch.COUNTERS.items()
)


def batch_outcome_counts(batch: Batch) -> list[tuple[BatchOutcome, int]]:
    return [(outcome, getattr(batch, outcome.field)) for outcome in BATCH_OUTCOMES]


@dataclass(frozen=True)
class BatchProgress:
    total: int
    processed: int
    passed: int
    failed: int
    undecided: int
    errored: int
    percent: float
    rate_per_second: float | None
    seconds_left: float | None
    status: str

    @property
    def finished(self) -> bool:
        return self.status in (Batch.Status.COMPLETED, Batch.Status.CANCELLED)


def batch_progress(batch: Batch, now=None) -> BatchProgress:
    now = now or timezone.now()
    rate = left = None
    if batch.started_at and batch.processed:
        elapsed = ((batch.finished_at or now) - batch.started_at).total_seconds()
        rate = batch.processed / elapsed if elapsed > 0 else None
        if rate and batch.status == Batch.Status.RUNNING:
            left = (batch.total - batch.processed) / rate
    percent = 100.0 * batch.processed / batch.total if batch.total else 100.0
    return BatchProgress(
        batch.total,
        batch.processed,
        batch.passed,
        batch.failed,
        batch.undecided,
        batch.errored,
        round(percent, 1),
        rate,
        left,
        batch.status,
    )


# --- dashboards -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleStats:
    stage: str
    rule: str
    total: int
    counts: dict
    p50: float | None
    p95: float | None
    p99: float | None
    mean_ms: float | None

    @property
    def failure_rate(self) -> float:
        bad = sum(self.counts.get(k, 0) for k in ("fail", "error", "timeout"))
        return bad / self.total if self.total else 0.0

    @property
    def slow(self) -> int:
        """Runs in which it ran past its config's slow-rule threshold (performance_monitoring)."""
        return self.counts.get(SLOW, 0)


#: the run statuses the throughput series counts, one list each
SERIES_STATUSES = tuple(str(status) for status in Run.FINISHED)


def _slots(since, now, seen) -> list:
    """Every five-minute bucket of the window, oldest first, those without runs included
    (so a chart's time axis has no hidden gaps), and any bucket a rollup row has."""
    step = timedelta(seconds=BUCKET_SECONDS)
    slot = bucket_start(since)
    if slot < since:  # the bucket `since` falls in started before the window: rows there are not read
        slot += step
    slots = set(seen)
    while slot <= now:
        slots.add(slot)
        slot += step
    return sorted(slots)


def dashboard(*, pipeline=None, environment=None, hours: int = 24, now=None) -> dict:
    """Throughput, outcomes, latency percentiles and rule statistics over the last
    `hours`, from the metric rollups only."""
    now = now or timezone.now()
    since = now - timedelta(hours=hours)
    rows = MetricRollup.objects.filter(bucket_start__gte=since)
    if pipeline is not None:
        rows = rows.filter(pipeline=pipeline)
    if environment is not None:
        rows = rows.filter(environment=environment)
    series: dict = defaultdict(lambda: defaultdict(int))
    run_counts: dict[str, int] = defaultdict(int)
    run_hist = [0] * BUCKETS
    rules: dict[tuple[str, str], dict] = {}
    for row in rows.values(
        "bucket_start", "stage", "rule", "counts", "histogram", "total", "sum_ms"
    ).iterator():
        if not row["stage"] and not row["rule"]:
            for status, n in row["counts"].items():
                series[row["bucket_start"]][status] += n
                run_counts[status] += n
            run_hist = merge_histograms(run_hist, row["histogram"])
        elif row["rule"]:
            key = (row["stage"], row["rule"])
            agg = rules.setdefault(
                key, {"counts": defaultdict(int), "hist": [0] * BUCKETS, "total": 0, "sum": 0.0}
            )
            for outcome, n in row["counts"].items():
                agg["counts"][outcome] += n
            agg["hist"] = merge_histograms(agg["hist"], row["histogram"])
            agg["total"] += row["total"]
            agg["sum"] += row["sum_ms"]
    rule_stats = []
    for (stage, rule), agg in rules.items():
        timed = sum(agg["hist"])
        rule_stats.append(
            RuleStats(
                stage,
                rule,
                agg["total"],
                dict(agg["counts"]),
                quantile(agg["hist"], 0.5),
                quantile(agg["hist"], 0.95),
                quantile(agg["hist"], 0.99),
                agg["sum"] / timed if timed else None,
            )
        )
    total = sum(run_counts.values())
    slots = _slots(since, now, series)
    return {
        "since": since,
        "hours": hours,
        "total_runs": total,
        "counts": dict(run_counts),
        "failure_rate": (run_counts.get("failed", 0) + run_counts.get("error", 0)) / total if total else 0.0,
        "latency": {
            "p50": quantile(run_hist, 0.5),
            "p95": quantile(run_hist, 0.95),
            "p99": quantile(run_hist, 0.99),
        },
        "series": {
            "labels": [slot.isoformat() for slot in slots],
            **{
                status: [series[slot].get(status, 0) if slot in series else 0 for slot in slots]
                for status in SERIES_STATUSES
            },
        },
        "slowest_rules": sorted((r for r in rule_stats if r.p95 is not None), key=lambda r: -(r.p95 or 0))[
            :10
        ],
        "flagged_slow": sorted((r for r in rule_stats if r.slow), key=lambda r: (-r.slow, r.stage, r.rule)),
        "failing_rules": sorted((r for r in rule_stats if r.failure_rate > 0), key=lambda r: -r.failure_rate)[
            :10
        ],
        **_alerts(pipeline, environment, since),
    }


def _alerts(pipeline, environment, since) -> dict:
    """The alerts raised in the window: how many, and the newest ten."""
    alerts = Alert.objects.filter(created_at__gte=since)
    if pipeline is not None:
        alerts = alerts.filter(pipeline=pipeline)
    if environment is not None:
        alerts = alerts.filter(environment=environment)
    return {
        "alert_count": alerts.count(),
        "recent_alerts": list(alerts.select_related("pipeline", "environment")[:10]),
    }


def recent_runs_by_pipeline(pipeline_ids, per_pipeline: int = 5) -> dict[int, list[Run]]:
    """The newest runs of each pipeline (one query), for overviews."""
    from django.db.models import F, Window
    from django.db.models.functions import RowNumber

    ranked = (
        Run.objects.filter(pipeline_id__in=list(pipeline_ids))
        .annotate(rank=Window(RowNumber(), partition_by=F("pipeline_id"), order_by=F("created_at").desc()))
        .filter(rank__lte=per_pipeline)
        .select_related("environment")
        .only("id", "pipeline_id", "status", "stages", "created_at", "environment__name")
        .order_by("pipeline_id", "-created_at")
    )
    recent: dict[int, list[Run]] = {}
    for run in ranked:
        recent.setdefault(run.pipeline_id, []).append(run)
    return recent
