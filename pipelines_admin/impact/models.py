"""Impact reports: a window of past runs replayed against what is live and against a
candidate change, with every decision that would flip.

The replay reads each run's stored (encrypted) input; nothing it computes is stored
unmasked, and it writes no runs, metrics or per-application audit events: only the
report's tallies and a masked sample of flipped applications.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property

from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline, Release
from pipelines_admin.core.fields import OrderedJSONField
from pipelines_admin.core.jobs import QueuedWork


class ImpactReport(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    FINISHED = (Status.COMPLETED, Status.CANCELLED)

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="impact_reports")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    baseline_release = models.ForeignKey(
        Release,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="What was live when the analysis started.",
    )
    baseline_hash = models.CharField(max_length=71)
    candidate_version = models.ForeignKey(
        ConfigVersion, on_delete=models.PROTECT, related_name="impact_reports"
    )
    candidate_override = OrderedJSONField(default=dict, blank=True)
    candidate_hash = models.CharField(max_length=71)
    window = models.PositiveIntegerField(help_text="How many of the latest runs were asked for.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    tally = models.JSONField(default=dict, help_text="see impact.tally.ImpactTally")
    samples = models.JSONField(default=list, help_text="flipped applications, both results, PII masked")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"impact report #{self.pk} of {self.pipeline.slug} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else 100

    @cached_property
    def live_now(self) -> Release | None:
        """What runs in the environment now (the baseline, or a release made since)."""
        from pipelines_admin.configs.selectors import release_live

        return release_live(self.pipeline_id, self.environment_id)

    @property
    def candidate_label(self) -> str:
        """The candidate, in words, against what is live now."""
        from pipelines_admin.configs.candidates import config_label

        return config_label(
            self.environment,
            self.candidate_version.number,
            self.candidate_override,
            self.candidate_hash,
            self.live_now,
        )

    @property
    def baseline_live(self) -> bool:
        """The baseline is still what runs there."""
        return self.live_now is not None and self.live_now.effective_hash == self.baseline_hash


class ImpactChunk(QueuedWork):
    """A slice of the window's run ids, replayed by one task and tallied in one transaction."""

    class Status(models.TextChoices):
        #: waiting for a worker, or being worked on (a claim with a live lease)
        QUEUED = "queued"
        DONE = "done"
        CANCELLED = "cancelled"

    PENDING = (Status.QUEUED,)
    CLAIMED = Status.QUEUED

    report = models.ForeignKey(ImpactReport, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    run_ids = models.JSONField(help_text="ids of the runs to replay, newest first")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)

    class Meta:
        ordering = ["report", "index"]
        constraints = [models.UniqueConstraint(fields=["report", "index"], name="impact_chunk_index_unique")]
        # the chunks still to do (the sweep and the queue-depth metric count them)
        indexes = [
            models.Index(
                fields=["status"], condition=models.Q(status="queued"), name="impact_chunk_queued_idx"
            )
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of impact report #{self.report_id} ({self.status})"
