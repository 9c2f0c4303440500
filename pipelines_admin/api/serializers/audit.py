"""Audit events."""

from __future__ import annotations

from rest_framework import serializers


class AuditEventSerializer(serializers.Serializer):
    sequence = serializers.IntegerField(help_text="Position in the hash chain, from 1.")
    occurred_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_name", allow_blank=True)
    action = serializers.CharField(help_text="e.g. config_version.created, release.created, run.completed.")
    object_type = serializers.CharField()
    object_id = serializers.CharField(allow_blank=True)
    object_repr = serializers.CharField(allow_blank=True)
    pipeline = serializers.CharField(allow_blank=True)
    environment = serializers.CharField(allow_blank=True)
    diff = serializers.JSONField(help_text="What changed (for changes).")
    reason = serializers.CharField(allow_blank=True)
    data = serializers.DictField()  # type: ignore[assignment]  # an API field named like a DRF attribute
    prev_hash = serializers.CharField(help_text="The hash of the event before (the chain).")
    hash = serializers.CharField(help_text="sha256 of this event's canonical JSON, prev_hash included.")
