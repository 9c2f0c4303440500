"""Test cases of a pipeline (an application and the outcome it must get) and suite
runs (every test case of a pipeline run against one exact effective config).

A test case's input and expectations are stored encrypted, like a run's input, with a
masked copy for display. A suite run records the effective-config hash it ran and the
fingerprint of the test cases it ran, so a release gate can tell whether a pass still
holds: any change to the config or to the test cases voids it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property

from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline
from pipelines_admin.core.fields import OrderedJSONField
from pipelines_admin.core.jobs import QueuedWork


class TestCase(models.Model):
    __test__ = False  # a model, not a pytest class

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="test_cases")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    input_encrypted = models.TextField()
    input_masked = models.JSONField(default=dict)
    expected_encrypted = models.TextField()
    expected_masked = models.JSONField(default=dict, help_text="status, rules and fields, PII masked")
    source_run = models.ForeignKey(
        "runs.Run",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The run it was saved from, if any.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pipeline", "name"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "name"], name="test_case_name_unique")]

    def __str__(self) -> str:
        return f"{self.pipeline.slug}: {self.name}"


class SuiteRun(QueuedWork):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        PASSED = "passed"
        FAILED = "failed"
        ERROR = "error"

    FINISHED = (Status.PASSED, Status.FAILED, Status.ERROR)
    PENDING = (Status.QUEUED, Status.RUNNING)

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="suite_runs")
    environment = models.ForeignKey(
        Environment,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Whose service bindings ran, and whose release the config is or would be.",
    )
    version = models.ForeignKey(ConfigVersion, on_delete=models.PROTECT, related_name="suite_runs")
    override = OrderedJSONField(default=dict, blank=True, help_text="The merge patch applied to the version.")
    effective_hash = models.CharField(max_length=71, db_index=True)
    cases_fingerprint = models.CharField(max_length=71)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list, help_text="one entry per test case, PII masked")
    coverage = models.JSONField(default=dict, help_text="stage/rule -> outcome -> how many test cases")
    error_message = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["pipeline", "effective_hash", "status"], name="suite_gate_idx"),
            # the suite runs waiting (the sweep and the queue-depth metric count them)
            models.Index(fields=["status"], condition=models.Q(status="queued"), name="suite_queued_idx"),
        ]

    def __str__(self) -> str:
        return f"suite run #{self.pk} of {self.pipeline.slug} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else (100 if self.finished else 0)

    @cached_property
    def target(self) -> str:
        """What was tested, in words, against what is live in the environment now."""
        from pipelines_admin.configs.candidates import config_label
        from pipelines_admin.configs.selectors import release_live

        return config_label(
            self.environment,
            self.version.number,
            self.override,
            self.effective_hash,
            release_live(self.pipeline_id, self.environment_id),
        )
