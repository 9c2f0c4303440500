"""Runs of a pipeline on one application, batches of them, and metric rollups.

A run's input is stored encrypted (so it can be replayed) and, separately, masked
(what every page, API response and export shows). Its result is stored masked too.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline
from pipelines_admin.core.fields import RowJSONField
from pipelines_admin.core.jobs import QueuedWork
from rules_engine import OUTCOMES


class Run(QueuedWork):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        PASSED = "passed"
        FAILED = "failed"
        #: no rule failed, but a check did not run (see rules_engine.result): never an approval
        UNDECIDED = "undecided"
        ERROR = "error"
        #: nothing failed, but a rule routed its result to a person (on_fail / on_error /
        #: on_flag: review): waits in the review queue for a reviewer's disposition
        REVIEW = "review"

    FINISHED = (Status.PASSED, Status.FAILED, Status.REVIEW, Status.UNDECIDED, Status.ERROR)
    PENDING = (Status.QUEUED, Status.RUNNING)
    #: the decisions, in the order pages and exports list them
    DECISIONS = (Status.PASSED, Status.FAILED, Status.REVIEW, Status.UNDECIDED, Status.ERROR)

    class Source(models.TextChoices):
        BROWSER = "browser"
        API = "api"
        BATCH = "batch"
        CLI = "cli"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # the indexes of pipeline, status and batch are the first columns of Meta.indexes
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="runs", db_index=False)
    environment = models.ForeignKey(
        Environment,
        on_delete=models.PROTECT,
        related_name="runs",
        help_text="Whose live config (unless a version is pinned) and service bindings ran.",
    )
    config_version = models.ForeignKey(ConfigVersion, on_delete=models.PROTECT, related_name="runs")
    release = models.ForeignKey(
        "configs.Release",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="runs",
        help_text="The live release it ran; empty when a version was pinned.",
    )
    effective_hash = models.CharField(max_length=71, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.BROWSER)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    stages = models.JSONField(null=True, blank=True, help_text="Only these stages, when set.")
    input_encrypted = models.TextField()
    # written many at a time by batch chunks (core.fields.RowJSONField)
    input_masked = RowJSONField(default=dict)
    result = RowJSONField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    batch = models.ForeignKey(
        "Batch", null=True, blank=True, on_delete=models.CASCADE, related_name="runs", db_index=False
    )
    line_number = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["pipeline", "-created_at"], name="run_pipeline_recent_idx"),
            models.Index(fields=["status", "created_at"], name="run_status_idx"),
            models.Index(fields=["batch", "line_number"], name="run_batch_line_idx"),
        ]

    def __str__(self) -> str:
        return f"run {self.id} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def partial(self) -> bool:
        """A run of chosen stages that left an enabled stage out: never an approval
        (`stages` is stored only then, see runs.services.validate_stages)."""
        return bool(self.stages)


class Batch(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="batches")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="batches")
    release = models.ForeignKey("configs.Release", on_delete=models.PROTECT, related_name="batches")
    effective_hash = models.CharField(max_length=71)
    filename = models.CharField(max_length=255)
    source = models.CharField(max_length=16, choices=Run.Source.choices, default=Run.Source.BROWSER)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    review = models.PositiveIntegerField(default=0)
    undecided = models.PositiveIntegerField(default=0)
    errored = models.PositiveIntegerField(default=0)
    rejected_rows = models.JSONField(default=list, help_text="Rows that could not be read: line and reason.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    #: the counter of each decision
    COUNTERS = {
        Run.Status.PASSED: "passed",
        Run.Status.FAILED: "failed",
        Run.Status.REVIEW: "review",
        Run.Status.UNDECIDED: "undecided",
        Run.Status.ERROR: "errored",
    }

    def __str__(self) -> str:
        return f"batch {self.filename} ({self.processed}/{self.total})"

    def counts(self) -> dict[str, int]:
        """Runs finished so far by decision (passed, failed, review, undecided, error)."""
        return {status: getattr(self, field) for status, field in self.COUNTERS.items()}


class BatchChunk(QueuedWork):
    """A slice of a batch's records, processed by one task in one transaction."""

    class Status(models.TextChoices):
        #: waiting for a worker, or being worked on (a claim with a live lease)
        QUEUED = "queued"
        DONE = "done"
        CANCELLED = "cancelled"

    PENDING = (Status.QUEUED,)
    CLAIMED = Status.QUEUED

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    first_line = models.PositiveIntegerField()
    records_encrypted = models.TextField(help_text="[[line, record], ...] as encrypted JSON")
    size = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)

    class Meta:
        ordering = ["batch", "index"]
        constraints = [models.UniqueConstraint(fields=["batch", "index"], name="chunk_index_unique")]
        # the chunks still to do: the sweep and the queue-depth metric count them without
        # reading the done ones (a partial index, as small as the queue)
        indexes = [
            models.Index(fields=["status"], condition=models.Q(status="queued"), name="chunk_queued_idx")
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of batch {self.batch_id} ({self.status})"


#: upper bounds (ms) of the rollups' latency buckets; the last bucket is everything above
LATENCY_BOUNDS_MS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
BUCKETS = len(LATENCY_BOUNDS_MS) + 1
#: a stage's statuses in a run's result (see rules_engine.result)
STAGE_STATUSES = ("passed", "failed", "skipped", "not_run")
#: besides the outcomes, a rule's counts hold how many of its runs it was flagged slow in
#: (performance_monitoring.slow_rule_threshold_ms); not an outcome, so not in its total
SLOW = "slow"
#: what a result without a status or outcome is counted as
UNKNOWN = "unknown"
#: what rollups count, one column each: the run statuses (run rows), the rule outcomes
#: and "slow" (rule rows), the stage statuses (stage rows); anything else is "unknown"
COUNTED = tuple(dict.fromkeys([*map(str, Run.FINISHED), *OUTCOMES, *STAGE_STATUSES, SLOW, UNKNOWN]))


def count_column(key: str) -> str:
    """The column of MetricRollup counting `key` (one of COUNTED)."""
    return f"n_{key}"


def latency_column(index: int) -> str:
    """The column of MetricRollup counting the latency bucket `index` (0..BUCKETS-1)."""
    return f"latency_{index}"


COUNT_COLUMNS = tuple(count_column(key) for key in COUNTED)
LATENCY_COLUMNS = tuple(latency_column(index) for index in range(BUCKETS))


class MetricRollup(models.Model):
    """Counts per outcome and a latency histogram for one pipeline, environment, stage,
    rule and time bucket of one grain (five minutes, an hour or a day: every run is in
    one bucket of each). stage == rule == "" is the run as a whole; rule == "" with a
    stage is the stage. The counts and the histogram are integer columns (one per key
    of COUNTED, `n_<key>`, and one per latency bucket, `latency_<i>`), so SQL sums
    them. Dashboards read only these rows."""

    class Grain(models.IntegerChoices):
        FIVE_MINUTES = 300, "five minutes"
        HOUR = 3600, "hour"
        DAY = 86400, "day"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    grain = models.PositiveIntegerField(choices=Grain.choices, help_text="The bucket's length, in seconds.")
    bucket_start = models.DateTimeField()
    stage = models.CharField(max_length=100, blank=True)
    rule = models.CharField(max_length=100, blank=True)
    total = models.PositiveBigIntegerField(default=0)
    sum_ms = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "environment", "grain", "bucket_start", "stage", "rule"],
                name="rollup_key_unique",
            )
        ]
        indexes = [
            models.Index(fields=["pipeline", "grain", "bucket_start"], name="rollup_pipeline_time_idx"),
            models.Index(fields=["grain", "bucket_start"], name="rollup_time_idx"),
        ]

    def __str__(self) -> str:
        return f"metric rollup {self.stage}/{self.rule} from {self.bucket_start.isoformat()} ({self.grain} s)"

    @property
    def counts(self) -> dict[str, int]:
        """outcome -> count, the outcomes counted at least once."""
        return {key: n for key in COUNTED if (n := getattr(self, count_column(key)))}

    @property
    def histogram(self) -> list[int]:
        """count per latency bucket (see LATENCY_BOUNDS_MS)."""
        return [getattr(self, column) for column in LATENCY_COLUMNS]


for _column in COUNT_COLUMNS:
    MetricRollup.add_to_class(_column, models.PositiveBigIntegerField(default=0))
for _column in LATENCY_COLUMNS:
    MetricRollup.add_to_class(_column, models.PositiveBigIntegerField(default=0))


class Alert(models.Model):
    """Something a config asked to be told about, raised by a run: today a rule that
    timed out under `performance_monitoring.alert_on_timeout`. Written with the run."""

    class Kind(models.TextChoices):
        TIMEOUT = "timeout"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    stage = models.CharField(max_length=100)
    rule = models.CharField(max_length=100)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["pipeline", "-created_at"], name="alert_pipeline_recent_idx")]

    def __str__(self) -> str:
        return f"{self.kind} alert: {self.stage}/{self.rule}"


class MetricTotal(models.Model):
    """The same counts and latency histogram as MetricRollup, over all time (no time
    bucket): one row per pipeline, environment, stage and rule, updated by the same
    accumulator flush in the runs' transaction. /metrics reads these rows, whose number
    depends on the rules, not on time or on the number of runs."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=100, blank=True)
    rule = models.CharField(max_length=100, blank=True)
    counts = models.JSONField(default=dict, help_text="outcome -> count")
    histogram = models.JSONField(
        default=list, help_text="count per latency bucket (see runs.metrics.LATENCY_BOUNDS_MS)"
    )
    total = models.PositiveBigIntegerField(default=0)
    sum_ms = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "environment", "stage", "rule"], name="metric_total_key_unique"
            )
        ]

    def __str__(self) -> str:
        return f"metric total {self.stage}/{self.rule}"


class SweepRecovery(models.Model):
    """How many lost runs, batch chunks, suite runs and impact chunks were sent to the
    broker again, or given up on, by kind and action: one counter row each, incremented
    in the transaction that records the recovery (runs.metrics.recovery_count)."""

    class Kind(models.TextChoices):
        RUN = "run"
        BATCH_CHUNK = "batch_chunk"
        SUITE_RUN = "suite_run"
        IMPACT_CHUNK = "impact_chunk"

    class Action(models.TextChoices):
        #: never reached the broker (it was down when submitted): sent now
        ENQUEUED = "enqueued"
        #: sent before but lost (a dead worker, a broker that lost its messages): sent again
        REQUEUED = "requeued"
        #: used up RUN_MAX_ATTEMPTS: recorded as an error instead of being tried again
        GAVE_UP = "gave_up"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    action = models.CharField(max_length=16, choices=Action.choices)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "action"], name="sweep_recovery_key_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.action}: {self.count}"
