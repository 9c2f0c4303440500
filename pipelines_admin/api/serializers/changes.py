"""Change requests: a change to an environment under change control (or an override of
the release gate), its approvals and where it stands now."""

from __future__ import annotations

from rest_framework import serializers

from pipelines_admin.api.serializers.common import JsonObjectField, UsernameField
from pipelines_admin.api.serializers.impact import ImpactReportSummarySerializer
from pipelines_admin.api.serializers.pipelines import ChangeSerializer, ReleaseSerializer
from pipelines_admin.api.serializers.testing import GateStateSerializer
from pipelines_admin.changes.models import ChangeApproval, ChangeRequest

STATE_HELP = (
    "open (waiting for approvals), approved (open, with every approval it needs: ready to apply unless a "
    "blocker says otherwise), applied, rejected or withdrawn."
)
PAYLOAD_HELP = (
    "What it applies, by kind. release: {version, override}; rollback: {to_release}; override: {override}; "
    "toggle: {stage, rule|null, enabled, disable_dependents}; binding: {interface, name, remove, values, "
    "expect}; environment: any of {protected, position, description, change_requests_required, "
    "approvals_required}."
)


class ApprovalSerializer(serializers.Serializer):
    approver = UsernameField(source="approval.approver")
    decision = serializers.ChoiceField(source="approval.decision", choices=ChangeApproval.Decision.choices)
    comment = serializers.CharField(source="approval.comment", allow_blank=True)
    request_revision = serializers.IntegerField(
        source="approval.request_revision", help_text="The revision of the request it was given to."
    )
    effective_hash = serializers.CharField(
        source="approval.effective_hash", help_text="What the change produced when it was given."
    )
    created_at = serializers.DateTimeField(source="approval.created_at")
    voided_at = serializers.DateTimeField(source="approval.voided_at", allow_null=True)
    standing = serializers.SerializerMethodField(
        help_text="stands: it counts; voided: it no longer does (`why_not` says why)."
    )
    why_not = serializers.CharField(
        allow_blank=True,
        help_text="Why it no longer stands: the request was revised, the environment or "
        "the test cases changed since...",
    )

    def get_standing(self, obj) -> str:
        return "stands" if obj.stands else "voided"


class ChangeRequestSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="request.pk")
    url = serializers.URLField(help_text="This change request.")
    kind = serializers.ChoiceField(source="request.kind", choices=ChangeRequest.Kind.choices)
    title = serializers.CharField(source="request.title", help_text="What it does, in a few words.")
    pipeline = serializers.SlugField(
        source="request.pipeline.slug",
        allow_null=True,
        default=None,
        help_text="Null for binding and environment settings changes.",
    )
    environment = serializers.CharField(source="request.environment.name")
    status = serializers.ChoiceField(source="request.status", choices=ChangeRequest.Status.choices)
    state = serializers.ChoiceField(
        choices=["open", "approved", "applied", "rejected", "withdrawn"], help_text=STATE_HELP
    )
    reason = serializers.CharField(source="request.reason")
    gate_override = serializers.BooleanField(
        source="request.gate_override", help_text="It releases although the release gate is closed."
    )
    author = UsernameField(source="request.author")
    revision = serializers.IntegerField(source="request.revision", help_text="+1 on each revision.")
    approvals_required = serializers.IntegerField(source="required")
    approvals_missing = serializers.IntegerField()
    scheduled_for = serializers.DateTimeField(source="request.scheduled_for", allow_null=True)
    created_at = serializers.DateTimeField(source="request.created_at")
    updated_at = serializers.DateTimeField(source="request.updated_at")


class ChangeRequestSerializer(ChangeRequestSummarySerializer):
    status_message = serializers.CharField(
        source="request.status_message",
        allow_blank=True,
        help_text="Why it was rejected, or why its scheduled apply did not apply it.",
    )
    payload = JsonObjectField(source="request.payload", help_text=PAYLOAD_HELP)
    effective_hash = serializers.CharField(
        source="request.effective_hash",
        help_text="What it produces: the effective config's hash, or the hash of the proposed binding or "
        "settings. Approvals are bound to it.",
    )
    base_revision = serializers.CharField(
        source="request.base_revision", allow_blank=True, help_text="What the environment held when opened."
    )
    approvals = ApprovalSerializer(many=True, help_text="Every decision, voided ones included.")
    blockers = serializers.ListField(
        child=serializers.CharField(), help_text="Why it cannot be applied now; empty when it can."
    )
    ready = serializers.BooleanField(help_text="It may be applied now.")
    gate = GateStateSerializer(
        allow_null=True, help_text="The release gate for what it would release (pipeline kinds)."
    )
    diff = ChangeSerializer(
        many=True, source="plan.changes", default=list, help_text="What it changes, one entry per change."
    )
    impact = ImpactReportSummarySerializer(
        allow_null=True,
        default=None,
        help_text="The newest impact analysis of exactly what it would release, when one has run.",
    )
    plan_error = serializers.CharField(
        allow_blank=True, help_text="Why it can no longer be made as asked (then `diff` is empty)."
    )
    scheduled_by = UsernameField(source="request.scheduled_by")
    applied_release = ReleaseSerializer(
        source="request.applied_release", allow_null=True, help_text="The release it made, once applied."
    )
    applied_at = serializers.DateTimeField(source="request.applied_at", allow_null=True)
    applied_by = UsernameField(source="request.applied_by")
    break_glass = serializers.BooleanField(
        source="request.break_glass", help_text="A superuser applied it without its approvals."
    )
    break_glass_reason = serializers.CharField(source="request.break_glass_reason", allow_blank=True)
