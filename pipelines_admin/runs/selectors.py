"""Reads of runs, batches and the dashboards (which read metric rollups only)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone

from pipelines_admin.core.errors import NotFound
from pipelines_admin.runs.decisions import Decision, decision_of
from pipelines_admin.runs.metrics import BUCKET_SECONDS, GRAINS, SLOW, bucket_start, quantile
from pipelines_admin.runs.models import (
    BUCKETS,
    COUNTED,
    LATENCY_COLUMNS,
    Alert,
    Batch,
    MetricRollup,
    Run,
    count_column,
)

#: the unit Trunc cuts a timestamp to for each coarser grain
UNITS = {int(MetricRollup.Grain.HOUR): "hour", int(MetricRollup.Grain.DAY): "day"}

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


def run_decision(run: Run) -> Decision | None:
    """The decision a finished run's result records; None while it runs, when it ended
    before the rules ran, or when it was recorded before decisions were."""
    return decision_of(run.result) if run.finished else None


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
    Run.Status.REVIEW: "To review",
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
    review: int
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
        batch.review,
        batch.undecided,
        batch.errored,
        round(percent, 1),
        rate,
        left,
        batch.status,
    )


@dataclass(frozen=True)
class BatchResultRow:
    run: Run
    decision: Decision | None


def batch_result_runs(batch: Batch, status: str = "") -> QuerySet[Run]:
    """The batch's runs in file order, of one decision when `status` names one."""
    runs = batch.runs.order_by("line_number", "id").only(
        "id", "batch_id", "line_number", "status", "result", "error_message", "duration_ms"
    )
    if status in Run.DECISIONS:
        runs = runs.filter(status=status)
    return runs


def batch_result_rows(runs) -> list[BatchResultRow]:
    """Each run with the decision its result records (status, reasons, next steps)."""
    return [BatchResultRow(run, decision_of(run.result)) for run in runs]


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
#: the fewest slots the chart of a window may have: the dashboards read the coarsest
#: grain that gives the window at least this many (1 h and 6 h: five minutes; 24 h and
#: 7 days: hours; 24 days and more: days)
MIN_POINTS = 24


def dashboard_grain(hours: int) -> int:
    """The grain (seconds) a window of `hours` is read at: the coarsest of GRAINS that
    still cuts the window into at least MIN_POINTS slots, five minutes for short windows."""
    fitting = [grain for grain in GRAINS if hours * 3600 // grain >= MIN_POINTS]
    return int(fitting[-1] if fitting else GRAINS[0])


def _window(since, grain: int) -> tuple:
    """The rollup rows of the window from `since` read at `grain`, and its first slot.

    The window starts at the first five-minute bucket at or after `since` (as it always
    has). The slots of `grain` that lie wholly inside are read from that grain's rows;
    the partial first slot from the finer grains' rows: whole hours, then five-minute
    buckets. So every grain counts the same runs, and only the first slot is partial."""
    start = bucket_start(since)
    if start < since:  # the bucket `since` falls in started before the window: not read
        start += timedelta(seconds=BUCKET_SECONDS)
    finer = [g for g in GRAINS if g <= grain]
    bounds = [_ceil(start, g) for g in finer]  # where each grain's whole buckets begin
    window = Q(grain=grain, bucket_start__gte=bounds[-1])
    for index in range(len(finer) - 1):
        window |= Q(grain=finer[index], bucket_start__gte=bounds[index], bucket_start__lt=bounds[index + 1])
    return window, bucket_start(start, grain)


def _ceil(when, grain: int):
    floor = bucket_start(when, grain)
    return floor if floor == when else floor + timedelta(seconds=grain)


def _slots(first, now, grain: int, seen) -> list:
    """Every slot of `grain` from `first` to `now`, oldest first, those without runs
    included (so a chart's time axis has no hidden gaps), and any slot a rollup row has."""
    step = timedelta(seconds=grain)
    slots = set(seen)
    slot = first
    while slot <= now:
        slots.add(slot)
        slot += step
    return sorted(slots)


_COUNT_SUMS = {key: Coalesce(Sum(count_column(key)), 0) for key in COUNTED}
_LATENCY_SUMS = {f"_h{index}": Coalesce(Sum(column), 0) for index, column in enumerate(LATENCY_COLUMNS)}


def _counts(row: dict) -> dict[str, int]:
    return {key: row[key] for key in COUNTED if row[key]}


def _histogram(row: dict) -> list[int]:
    return [row[f"_h{index}"] for index in range(BUCKETS)]


def dashboard(*, pipeline=None, environment=None, hours: int = 24, now=None) -> dict:
    """Throughput, outcomes, latency percentiles and rule statistics over the last
    `hours`, from the metric rollups only, summed in SQL.

    The window is read at the grain dashboard_grain chooses (the coarsest that still
    gives the chart MIN_POINTS slots), its partial first slot from finer rollups, so
    the figures are those of the five-minute buckets from the window's start, whatever
    the grain. The chart's series has every slot of that grain in the window."""
    now = now or timezone.now()
    since = now - timedelta(hours=hours)
    grain = dashboard_grain(hours)
    window, first = _window(since, grain)
    rows = MetricRollup.objects.filter(window)
    if pipeline is not None:
        rows = rows.filter(pipeline=pipeline)
    if environment is not None:
        rows = rows.filter(environment=environment)
    runs = rows.filter(stage="", rule="")
    slot = F("bucket_start") if grain == GRAINS[0] else Trunc("bucket_start", UNITS[grain], tzinfo=UTC)
    series = {
        row["slot"]: row
        for row in runs.annotate(slot=slot)
        .values("slot")
        .annotate(**{status: Coalesce(Sum(count_column(status)), 0) for status in SERIES_STATUSES})
        .order_by()
    }
    overall = runs.aggregate(**_COUNT_SUMS, **_LATENCY_SUMS)
    run_counts = _counts(overall)
    run_hist = _histogram(overall)
    rule_stats = []
    for row in (
        rows.exclude(rule="")
        .values("stage", "rule")
        .annotate(**_COUNT_SUMS, **_LATENCY_SUMS, _total=Sum("total"), _sum_ms=Sum("sum_ms"))
        .order_by()
    ):
        histogram = _histogram(row)
        timed = sum(histogram)
        rule_stats.append(
            RuleStats(
                row["stage"],
                row["rule"],
                row["_total"],
                _counts(row),
                quantile(histogram, 0.5),
                quantile(histogram, 0.95),
                quantile(histogram, 0.99),
                row["_sum_ms"] / timed if timed else None,
            )
        )
    total = sum(run_counts.values())
    slots = _slots(first, now, grain, series)
    return {
        "since": since,
        "hours": hours,
        "grain": grain,
        "grain_label": str(MetricRollup.Grain(grain).label),
        "total_runs": total,
        "counts": run_counts,
        "failure_rate": (run_counts.get("failed", 0) + run_counts.get("error", 0)) / total if total else 0.0,
        "latency": {
            "p50": quantile(run_hist, 0.5),
            "p95": quantile(run_hist, 0.95),
            "p99": quantile(run_hist, 0.99),
        },
        "series": {
            "labels": [slot.isoformat() for slot in slots],
            **{
                status: [series[slot][status] if slot in series else 0 for slot in slots]
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
