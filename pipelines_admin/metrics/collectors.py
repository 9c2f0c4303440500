"""The metric families /metrics serves, read from the database at scrape time.

Nothing is counted in the web or worker processes' memory: the families read what the
runs' own transactions wrote (the all-time metric totals, runs.MetricTotal), model
counts through indexed status filters, the audit trail and the sweep's recovery
counters. Every web process then answers the same, for any number of web and worker
processes on any number of machines, and a restart loses nothing. No family reads the
runs in general: each costs one query over rows whose number depends on the pipelines,
rules and work in progress, not on how many runs there were; the review backlog reads
only the runs in review, through the runs' status index.

Each family is one small function taking the scrape (`Scrape`: queries shared by
several families, made once per scrape) and yielding prometheus-client metric families;
FAMILIES lists them in the order they are served. Adding one is a function and a line.
Latencies are in seconds, as Prometheus names them (`..._seconds`); the histograms'
`le` bounds are the rollups' LATENCY_BOUNDS_MS in seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property

from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry
from prometheus_client.utils import floatToGoString

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.impact.models import ImpactChunk
from pipelines_admin.reviews.models import ReviewCase, ReviewDisposition
from pipelines_admin.reviews.selectors import backlog_by_place
from pipelines_admin.runs.metrics import BUCKETS, LATENCY_BOUNDS_MS, SLOW
from pipelines_admin.runs.models import Alert, Batch, BatchChunk, MetricTotal, Run, SweepRecovery
from pipelines_admin.testcases.models import SuiteRun
from rules_engine import OUTCOMES as RULE_OUTCOMES

PREFIX = "rules_console"
#: the histograms' `le` labels: the rollups' bucket bounds, in seconds
LE_BOUNDS = tuple(floatToGoString(ms / 1000) for ms in LATENCY_BOUNDS_MS) + ("+Inf",)
#: the review decision histogram's bounds, in seconds: a minute to a week
DECISION_BOUNDS_SECONDS = (
    60,
    300,
    900,
    1800,
    3600,
    4 * 3600,
    8 * 3600,
    24 * 3600,
    48 * 3600,
    72 * 3600,
    7 * 86400,
)


class Scrape:
    """What several families read, read once per scrape."""

    @cached_property
    def totals(self) -> list[dict]:
        """Every metric total row with its pipeline's slug and environment's name."""
        return list(
            MetricTotal.objects.order_by("pipeline__slug", "environment__name", "stage", "rule").values(  # type: ignore[arg-type]  # rows: TypedDicts to the stubs
                "pipeline__slug", "environment__name", "stage", "rule", "counts", "histogram", "sum_ms"
            )
        )

    def level(self, level: str) -> list[dict]:
        """The total rows of whole runs ("run"), of stages ("stage") or of rules ("rule")."""
        return [
            row
            for row in self.totals
            if level == ("rule" if row["rule"] else "stage" if row["stage"] else "run")
        ]


def _where(row: dict) -> list[str]:
    return [row["pipeline__slug"], row["environment__name"]]


def _cumulative(histogram: list[int]) -> list[tuple[str, int]]:
    """Prometheus buckets (cumulative, ending with +Inf) of a rollup histogram."""
    counts = (list(histogram) + [0] * BUCKETS)[:BUCKETS]
    buckets, seen = [], 0
    for le, n in zip(LE_BOUNDS, counts, strict=True):
        seen += n
        buckets.append((le, seen))
    return buckets


def _latency(
    name: str, what: str, labels: list[str], rows: list[dict], label_values: Callable[[dict], list[str]]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(
        f"{PREFIX}_{name}_duration_seconds",
        f"How long {what} took, in seconds, by {', '.join(labels)} (buckets: the metric rollups' bounds).",
        labels=labels,
    )
    for row in rows:
        family.add_metric(label_values(row), _cumulative(row["histogram"]), row["sum_ms"] / 1000)
    return family


# -- the families ------------------------------------------------------------------------


def runs(scrape: Scrape) -> Iterable[Metric]:
    family = CounterMetricFamily(
        f"{PREFIX}_runs",
        "Runs finished, by pipeline, environment and status "
        "(passed, failed, review, undecided, error); batch runs included.",
        labels=["pipeline", "environment", "status"],
    )
    for row in scrape.level("run"):
        for status in sorted({*Run.DECISIONS, *row["counts"]}):
            family.add_metric([*_where(row), status], row["counts"].get(status, 0))
    yield family


def rule_outcomes(scrape: Scrape) -> Iterable[Metric]:
    family = CounterMetricFamily(
        f"{PREFIX}_rule_outcomes",
        "Rule outcomes of finished runs, by pipeline, "
        "environment, stage, rule and outcome (pass, fail, skip, error, timeout).",
        labels=["pipeline", "environment", "stage", "rule", "outcome"],
    )
    for row in scrape.level("rule"):
        for outcome in sorted({*RULE_OUTCOMES, *row["counts"]} - {SLOW}):
            family.add_metric(
                [*_where(row), row["stage"], row["rule"], outcome], row["counts"].get(outcome, 0)
            )
    yield family


def slow_rules(scrape: Scrape) -> Iterable[Metric]:
    family = CounterMetricFamily(
        f"{PREFIX}_slow_rules",
        "Times a rule ran past its config's slow-rule threshold "
        "(execution_settings.performance_monitoring.slow_rule_threshold_ms), by pipeline, "
        "environment, stage and rule.",
        labels=["pipeline", "environment", "stage", "rule"],
    )
    for row in scrape.level("rule"):
        if row["counts"].get(SLOW):
            family.add_metric([*_where(row), row["stage"], row["rule"]], row["counts"][SLOW])
    yield family


def alerts(scrape: Scrape) -> Iterable[Metric]:
    family = CounterMetricFamily(
        f"{PREFIX}_alerts",
        "Alerts runs raised (kind timeout: a rule timed out where its "
        "config sets performance_monitoring.alert_on_timeout), by pipeline, environment, "
        "kind, stage and rule.",
        labels=["pipeline", "environment", "kind", "stage", "rule"],
    )
    rows = (
        Alert.objects.values("pipeline__slug", "environment__name", "kind", "stage", "rule")
        .annotate(n=Count("id"))
        .order_by("pipeline__slug", "environment__name", "kind", "stage", "rule")
    )
    for row in rows:
        family.add_metric(
            [row["pipeline__slug"], row["environment__name"], row["kind"], row["stage"], row["rule"]],
            row["n"],
        )
    yield family


def run_latency(scrape: Scrape) -> Iterable[Metric]:
    yield _latency(
        "run",
        "runs (not those that never ran, such as runs given up on)",
        ["pipeline", "environment"],
        scrape.level("run"),
        _where,
    )


def stage_latency(scrape: Scrape) -> Iterable[Metric]:
    yield _latency(
        "stage",
        "the stages of runs",
        ["pipeline", "environment", "stage"],
        scrape.level("stage"),
        lambda row: [*_where(row), row["stage"]],
    )


def rule_latency(scrape: Scrape) -> Iterable[Metric]:
    yield _latency(
        "rule",
        "the rules of runs (not skipped ones)",
        ["pipeline", "environment", "stage", "rule"],
        scrape.level("rule"),
        lambda row: [*_where(row), row["stage"], row["rule"]],
    )


def batches(scrape: Scrape) -> Iterable[Metric]:
    waiting = (
        Batch.objects.filter(status__in=[Batch.Status.QUEUED, Batch.Status.RUNNING])
        .values("pipeline__slug", "environment__name", "status")
        .annotate(n=Count("id"), left=Sum(F("total") - F("processed")))
        .order_by("pipeline__slug", "environment__name", "status")
    )
    count = GaugeMetricFamily(
        f"{PREFIX}_batches",
        "Batches not finished yet, by pipeline, environment and status (queued, running).",
        labels=["pipeline", "environment", "status"],
    )
    left = GaugeMetricFamily(
        f"{PREFIX}_batch_applications_left",
        "Applications of unfinished batches not run yet, by pipeline and environment.",
        labels=["pipeline", "environment"],
    )
    lefts: dict[tuple[str, str], int] = {}
    for row in waiting:
        where = (row["pipeline__slug"], row["environment__name"])
        count.add_metric([*where, row["status"]], row["n"])
        lefts[where] = lefts.get(where, 0) + (row["left"] or 0)
    for where, n in lefts.items():
        left.add_metric(list(where), n)
    yield count
    yield left


def queue_depth(scrape: Scrape) -> Iterable[Metric]:
    family = GaugeMetricFamily(
        f"{PREFIX}_queue_depth",
        "Work waiting for a worker, or being done, by queue: runs "
        "(queued), batch_chunks and impact_chunks (not written yet), suite_runs (queued).",
        labels=["queue"],
    )
    family.add_metric(["runs"], Run.objects.filter(status=Run.Status.QUEUED).count())
    family.add_metric(["batch_chunks"], BatchChunk.objects.filter(status=BatchChunk.Status.QUEUED).count())
    family.add_metric(["suite_runs"], SuiteRun.objects.filter(status=SuiteRun.Status.QUEUED).count())
    family.add_metric(["impact_chunks"], ImpactChunk.objects.filter(status=ImpactChunk.Status.QUEUED).count())
    yield family


def sweep_recoveries(scrape: Scrape) -> Iterable[Metric]:
    family = CounterMetricFamily(
        f"{PREFIX}_sweep_recoveries",
        "Lost work the sweeps recovered, by kind (run, "
        "batch_chunk, suite_run, impact_chunk) and action (enqueued: never reached the "
        "broker; requeued: lost, sent again; gave_up: out of attempts, recorded as an error).",
        labels=["kind", "action"],
    )
    counts = {(row.kind, row.action): row.count for row in SweepRecovery.objects.all()}
    for kind in SweepRecovery.Kind.values:
        for action in SweepRecovery.Action.values:
            family.add_metric([kind, action], counts.get((kind, action), 0))
    yield family


def gate_overrides(scrape: Scrape) -> Iterable[Metric]:
    family = CounterMetricFamily(
        f"{PREFIX}_release_gate_overrides",
        "Changes made to a protected environment "
        "without a passing test suite (release_gate.overridden audit events), by pipeline "
        "and environment.",
        labels=["pipeline", "environment"],
    )
    rows = (
        AuditEvent.objects.filter(action="release_gate.overridden")
        .values("pipeline", "environment")
        .annotate(n=Count("id"))
        .order_by("pipeline", "environment")
    )
    for row in rows:
        family.add_metric([row["pipeline"], row["environment"]], row["n"])
    yield family


def suite_runs(scrape: Scrape) -> Iterable[Metric]:
    family = CounterMetricFamily(
        f"{PREFIX}_suite_runs",
        "Test suite runs finished, by pipeline, environment and status (passed, failed, error).",
        labels=["pipeline", "environment", "status"],
    )
    rows = (
        SuiteRun.objects.filter(status__in=SuiteRun.FINISHED)
        .values("pipeline__slug", "environment__name", "status")
        .annotate(n=Count("id"))
        .order_by("pipeline__slug", "environment__name", "status")
    )
    for row in rows:
        family.add_metric([row["pipeline__slug"], row["environment__name"], row["status"]], row["n"])
    yield family


def review_backlog(scrape: Scrape) -> Iterable[Metric]:
    waiting = GaugeMetricFamily(
        f"{PREFIX}_review_backlog",
        "Applications waiting in the review queue (runs in review without a final disposition), "
        "by pipeline and environment.",
        labels=["pipeline", "environment"],
    )
    oldest = GaugeMetricFamily(
        f"{PREFIX}_review_oldest_waiting_seconds",
        "How long the oldest application of the review queue has waited since it was submitted, "
        "by pipeline and environment.",
        labels=["pipeline", "environment"],
    )
    now = timezone.now()
    for row in backlog_by_place():
        where = [row["pipeline__slug"], row["environment__name"]]
        waiting.add_metric(where, row["waiting"])
        oldest.add_metric(where, (now - row["oldest"]).total_seconds())
    yield waiting
    yield oldest


def review_dispositions(scrape: Scrape) -> Iterable[Metric]:
    family = CounterMetricFamily(
        f"{PREFIX}_review_dispositions",
        "Reviewers' dispositions (one per reviewer and case), by pipeline, environment, decision "
        "(approve, decline), reason code and reviewer.",
        labels=["pipeline", "environment", "decision", "reason_code", "reviewer"],
    )
    rows = (
        ReviewDisposition.objects.values(
            "case__pipeline__slug", "case__environment__name", "decision", "reason_code", "reviewer__username"
        )
        .annotate(n=Count("id"))
        .order_by(
            "case__pipeline__slug", "case__environment__name", "decision", "reason_code", "reviewer__username"
        )
    )
    for row in rows:
        family.add_metric(
            [
                row["case__pipeline__slug"],
                row["case__environment__name"],
                row["decision"],
                row["reason_code"],
                row["reviewer__username"],
            ],
            row["n"],
        )
    yield family


def review_decisions(scrape: Scrape) -> Iterable[Metric]:
    family = HistogramMetricFamily(
        f"{PREFIX}_review_decision_seconds",
        "Time from an application's submission to its final review disposition (approved or "
        "declined), in seconds, by pipeline and environment.",
        labels=["pipeline", "environment"],
    )
    buckets = {
        f"le_{i}": Count("id", filter=Q(decision_seconds__lte=b))
        for i, b in enumerate(DECISION_BOUNDS_SECONDS)
    }
    rows = (
        ReviewCase.objects.filter(status__in=ReviewCase.DECIDED)
        .values("pipeline__slug", "environment__name")
        .annotate(n=Count("id"), total=Sum("decision_seconds"), **buckets)
        .order_by("pipeline__slug", "environment__name")
    )
    for row in rows:
        cumulative = [(floatToGoString(b), row[f"le_{i}"]) for i, b in enumerate(DECISION_BOUNDS_SECONDS)]
        family.add_metric(
            [row["pipeline__slug"], row["environment__name"]],
            [*cumulative, ("+Inf", row["n"])],
            row["total"] or 0.0,
        )
    yield family


FAMILIES: list[Callable[[Scrape], Iterable[Metric]]] = [
    runs,
    rule_outcomes,
    slow_rules,
    run_latency,
    stage_latency,
    rule_latency,
    batches,
    queue_depth,
    sweep_recoveries,
    gate_overrides,
    suite_runs,
    alerts,
    review_backlog,
    review_dispositions,
    review_decisions,
]


class DatabaseCollector:
    """Every family of FAMILIES, read afresh at each scrape."""

    def collect(self) -> Iterable[Metric]:
        scrape = Scrape()
        for family in FAMILIES:
            yield from family(scrape)


#: the registry /metrics serves: these families only (no per-process metrics, which
#: would describe whichever web process happened to answer)
REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(DatabaseCollector())
