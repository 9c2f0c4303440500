"""The audit trail: append-only events, each carrying the hash of the one before.

Editing or deleting an event breaks the chain, which `manage.py verify_audit` reports.
`AuditChainHead` is a single row holding the last sequence number and hash; appending
locks it, so concurrent writers queue instead of forking the chain.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

GENESIS_HASH = "sha256:" + "0" * 64


class AppendOnlyError(Exception):
    """Audit events are never changed or deleted."""


class AuditChainHead(models.Model):
    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=71, default=GENESIS_HASH)

    class Meta:
        verbose_name = "audit chain head"

    def __str__(self) -> str:
        return f"audit chain head at #{self.sequence}"


class AuditEvent(models.Model):
    sequence = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    pipeline = models.CharField(max_length=80, blank=True, db_index=True)
    environment = models.CharField(max_length=50, blank=True, db_index=True)
    diff = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=71)
    hash = models.CharField(max_length=71, unique=True)

    class Meta:
        ordering = ["-sequence"]
        indexes = [models.Index(fields=["occurred_at"])]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events cannot be deleted")

    def hashed_fields(self) -> dict:
        """What the hash covers: everything but the hash itself."""
        return {
            "sequence": self.sequence,
            "occurred_at": self.occurred_at.isoformat(timespec="microseconds"),
            "actor": self.actor_name,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "pipeline": self.pipeline,
            "environment": self.environment,
            "diff": self.diff,
            "reason": self.reason,
            "data": self.data,
            "prev_hash": self.prev_hash,
        }
