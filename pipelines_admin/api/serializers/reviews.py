"""The review queue: a run waiting for (or decided by) reviewers, its dispositions."""

from __future__ import annotations

from rest_framework import serializers

from pipelines_admin.api.serializers.common import JsonObjectField, UsernameField
from pipelines_admin.reviews.models import REASON_CODES, ReviewCase, ReviewDisposition


class DispositionSerializer(serializers.Serializer):
    reviewer = UsernameField()
    decision = serializers.ChoiceField(choices=ReviewDisposition.Decision.choices)
    reason_code = serializers.CharField(
        help_text="approve: "
        + ", ".join(REASON_CODES["approve"])
        + "; decline: "
        + ", ".join(REASON_CODES["decline"])
        + "."
    )
    reason = serializers.CharField(source="reason_label", help_text="What the reason code means.")
    note = serializers.CharField(allow_blank=True, help_text="The applicant's personal values masked.")
    created_at = serializers.DateTimeField()


class ReviewReasonSerializer(serializers.Serializer):
    stage = serializers.CharField()
    rule = serializers.CharField()
    outcome = serializers.CharField()
    reason_code = serializers.CharField(allow_null=True, required=False)
    customer_message = serializers.CharField(allow_null=True, required=False)


class ReviewSummarySerializer(serializers.Serializer):
    run = serializers.UUIDField(source="run.pk")
    url = serializers.URLField(help_text="This review.")
    run_url = serializers.URLField(help_text="The run.")
    pipeline = serializers.SlugField(source="run.pipeline.slug")
    environment = serializers.CharField(source="run.environment.name")
    submitted_at = serializers.DateTimeField(source="run.created_at")
    status = serializers.ChoiceField(
        choices=ReviewCase.Status.choices,
        help_text="open while it waits; approved or declined once decided (the run's own status stays review).",
    )
    rules = serializers.ListField(
        child=serializers.CharField(), help_text="The rules that sent it to review."
    )
    approvals = serializers.IntegerField(help_text="Different reviewers who approved it so far.")
    approvals_required = serializers.IntegerField(
        help_text="Different reviewers who must approve it (the config's review.approvals)."
    )
    approvals_missing = serializers.IntegerField()
    claimed_by = UsernameField(help_text="The reviewer holding it; null when free.")
    age_seconds = serializers.FloatField(
        source="sla.seconds", help_text="Waiting so far, or until its decision once decided."
    )
    sla = serializers.ChoiceField(
        source="sla.colour",
        choices=["green", "amber", "red"],
        help_text="green: under half of REVIEW_SLA_HOURS; amber: under it; red: past it.",
    )


class ReviewSerializer(ReviewSummarySerializer):
    claimed_at = serializers.DateTimeField(source="case.claimed_at", allow_null=True, default=None)
    decided_at = serializers.DateTimeField(source="case.decided_at", allow_null=True, default=None)
    reasons = ReviewReasonSerializer(
        many=True, help_text="The decision's reasons: the rules routed to review."
    )
    dispositions = DispositionSerializer(many=True)
    revealable_fields = serializers.ListField(
        child=serializers.CharField(),
        help_text="Masked fields of the input a reviewer may reveal (POST .../reveal/).",
    )
    input = JsonObjectField(source="run.input_masked", help_text="The application, PII masked.")
    result = JsonObjectField(source="run.result", allow_null=True, help_text="The run's result, PII masked.")


class RevealedSerializer(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.JSONField(help_text="The clear value: shown to you, never stored.")


class DispositionCountSerializer(serializers.Serializer):
    reviewer = serializers.CharField()
    decision = serializers.ChoiceField(choices=ReviewDisposition.Decision.choices)
    reason_code = serializers.CharField()
    reason = serializers.CharField()
    count = serializers.IntegerField()


class ReviewFiguresSerializer(serializers.Serializer):
    pipeline = serializers.CharField(allow_null=True)
    environment = serializers.CharField(allow_null=True)
    since = serializers.DateTimeField()
    hours = serializers.IntegerField()
    backlog = serializers.IntegerField(help_text="Applications waiting for a reviewer now.")
    oldest_seconds = serializers.FloatField(
        allow_null=True, help_text="How long the oldest of them has waited."
    )
    decided = serializers.IntegerField(help_text="Cases decided in the window.")
    approved = serializers.IntegerField()
    declined = serializers.IntegerField()
    decision_p50_seconds = serializers.FloatField(
        allow_null=True,
        help_text="Time from submission to the final disposition, median, over the window's cases.",
    )
    decision_p95_seconds = serializers.FloatField(allow_null=True)
    dispositions = DispositionCountSerializer(
        many=True, help_text="The window's dispositions by reviewer, decision and reason code."
    )
