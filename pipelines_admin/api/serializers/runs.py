"""Runs and batches."""

from __future__ import annotations

from rest_framework import serializers

from pipelines_admin.api.serializers.common import JsonObjectField, UsernameField
from pipelines_admin.runs.models import Batch, Run


class RunSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()
    pipeline = serializers.SlugField(source="pipeline.slug")
    environment = serializers.CharField(source="environment.name")
    version = serializers.IntegerField(source="config_version.number")
    release = serializers.IntegerField(
        source="release_id",
        allow_null=True,
        help_text="The live release it ran; null when a version was pinned.",
    )
    effective_hash = serializers.CharField(allow_blank=True)
    source = serializers.ChoiceField(choices=Run.Source.choices)  # type: ignore[assignment]  # an API field named like a DRF attribute
    status = serializers.ChoiceField(
        choices=Run.Status.choices,
        help_text="queued and running until the worker is done; then the decision: "
        "passed, failed, review (nothing failed, but a rule referred the application to a "
        "person: `result.decision.review` names the rules), undecided (no rule failed, but a "
        "check did not run: never an approval; `result.undecided` names each), or error.",
    )
    partial = serializers.BooleanField(  # type: ignore[assignment]  # an API field named like a DRF attribute
        help_text="Only some stages ran: the decision is not the pipeline's, and never an approval."
    )
    submitted_by = UsernameField()
    batch = serializers.UUIDField(source="batch_id", allow_null=True)
    line_number = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.FloatField(allow_null=True)
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class RunSerializer(RunSummarySerializer):
    stages = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="Only these stages ran, when set: the run is partial, never passed.",
    )
    input = JsonObjectField(source="input_masked", help_text="The application, PII masked.")
    result = JsonObjectField(
        allow_null=True,
        help_text="The engine's result (PII masked) once finished: status, "
        "decision (its status, reasons with each rule's reason_code and customer_message, "
        "next_steps, and for review the routed rules and approvals needed; absent from runs "
        "recorded before decisions were), partial, undecided (the checks that did not run), "
        "stages with each rule's outcome and message (`review: true` on a rule routed to "
        "review), data, changes.",
    )
    error = serializers.CharField(source="error_message", allow_blank=True)
    enqueued_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)


class ProgressSerializer(serializers.Serializer):
    percent = serializers.FloatField()
    rate_per_second = serializers.FloatField(allow_null=True)
    seconds_left = serializers.FloatField(allow_null=True)
    finished = serializers.BooleanField()


class RejectedRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    reason = serializers.CharField()


class BatchResultsLinksSerializer(serializers.Serializer):
    csv = serializers.URLField()
    jsonl = serializers.URLField()


class BatchSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()
    pipeline = serializers.SlugField(source="pipeline.slug")
    environment = serializers.CharField(source="environment.name")
    version = serializers.IntegerField(source="release.version.number")
    release = serializers.IntegerField(source="release_id")
    filename = serializers.CharField()
    source = serializers.ChoiceField(choices=Run.Source.choices)  # type: ignore[assignment]  # an API field named like a DRF attribute
    status = serializers.ChoiceField(choices=Batch.Status.choices)
    submitted_by = UsernameField()
    total = serializers.IntegerField()
    processed = serializers.IntegerField()
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    review = serializers.IntegerField(
        help_text="Runs referred to a person: nothing failed, but a rule routed its result to review."
    )
    undecided = serializers.IntegerField(help_text="Runs where no rule failed but a check did not run.")
    errored = serializers.IntegerField()
    rejected_rows = RejectedRowSerializer(many=True, help_text="Rows that could not be read.")
    progress = ProgressSerializer()
    results = BatchResultsLinksSerializer(help_text="Where to download the results.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
