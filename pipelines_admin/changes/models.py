"""Change requests: a change to an environment under change control (or an override of
the release gate anywhere) waits here until publishers other than its author approve it.

An approval holds the exact hash of what the change would produce and the test cases'
fingerprint when it was given: a revision of the request, another change to the
environment, or an edited test case leaves it standing no more (changes.selectors
says why), so nobody can approve one thing and apply another.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from pipelines_admin.configs.models import Environment, Pipeline, Release
from pipelines_admin.core.fields import OrderedJSONField


class ChangeRequest(models.Model):
    class Kind(models.TextChoices):
        RELEASE = "release", "release"
        ROLLBACK = "rollback", "rollback"
        OVERRIDE = "override", "override change"
        TOGGLE = "toggle", "toggle"
        BINDING = "binding", "service binding change"
        ENVIRONMENT = "environment", "environment settings change"

    class Status(models.TextChoices):
        OPEN = "open", "open"
        APPLIED = "applied", "applied"
        REJECTED = "rejected", "rejected"
        WITHDRAWN = "withdrawn", "withdrawn"

    #: the kinds that change what a pipeline runs (the others change the environment)
    PIPELINE_KINDS = frozenset({Kind.RELEASE, Kind.ROLLBACK, Kind.OVERRIDE, Kind.TOGGLE})

    pipeline = models.ForeignKey(
        Pipeline, null=True, blank=True, on_delete=models.PROTECT, related_name="change_requests"
    )
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="change_requests")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    payload = OrderedJSONField(help_text="What to apply; its keys depend on the kind.")
    reason = models.TextField()
    gate_override = models.BooleanField(
        default=False, help_text="Release even though the release gate is closed (the approvers see it)."
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    status_message = models.TextField(
        blank=True, help_text="Why it was rejected, or why a scheduled apply did not apply it."
    )
    effective_hash = models.CharField(
        max_length=71,
        help_text="What the change produces: the effective config's hash (pipeline kinds) or the "
        "hash of the environment's proposed state (binding and settings changes).",
    )
    base_revision = models.CharField(max_length=80, blank=True)
    cases_fingerprint = models.CharField(max_length=71, blank=True)
    revision = models.PositiveIntegerField(default=1)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refused_at = models.DateTimeField(null=True, blank=True)
    applied_release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.PROTECT, related_name="change_requests"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    break_glass = models.BooleanField(default=False)
    break_glass_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "scheduled_for"], name="change_due_idx"),
            models.Index(fields=["environment", "status"], name="change_env_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Change request #{self.pk}"

    @property
    def title(self) -> str:
        """What the change does, in a few words."""
        p = self.payload if isinstance(self.payload, dict) else {}
        where = f" in {self.environment.name}"
        on = f"{self.pipeline.slug}: " if self.pipeline is not None else ""
        if self.kind == self.Kind.RELEASE:
            return f"{on}release v{p.get('version')}{where}"
        if self.kind == self.Kind.ROLLBACK:
            return f"{on}roll back to release #{p.get('to_release')}{where}"
        if self.kind == self.Kind.OVERRIDE:
            return f"{on}change the override{where}"
        if self.kind == self.Kind.TOGGLE:
            target = f"rule {p.get('stage')}/{p.get('rule')}" if p.get("rule") else f"stage {p.get('stage')}"
            return f"{on}turn {'on' if p.get('enabled') else 'off'} {target}{where}"
        if self.kind == self.Kind.BINDING:
            verb = "remove" if p.get("remove") else "bind"
            return f"{verb} service:{p.get('interface')}:{p.get('name')}{where}"
        return f"change the settings of {self.environment.name}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class ChangeApproval(models.Model):
    """A publisher's approval or rejection of one revision of a request."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "approved"
        REJECT = "reject", "rejected"

    change_request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    comment = models.TextField(blank=True)
    effective_hash = models.CharField(max_length=71)
    cases_fingerprint = models.CharField(max_length=71, blank=True)
    request_revision = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.approver} {self.get_decision_display()} #{self.change_request_id}"
