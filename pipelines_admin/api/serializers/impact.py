"""Impact reports: past applications replayed against what is live and a candidate."""

from __future__ import annotations

from rest_framework import serializers

from pipelines_admin.api.serializers.common import JsonObjectField, UsernameField
from pipelines_admin.api.serializers.testing import TaskProgressSerializer
from pipelines_admin.impact.models import ImpactReport


class ImpactCandidateSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    override = JsonObjectField(help_text="The merge patch applied to the version.")
    label = serializers.CharField(help_text="What it is, in words, against what is live there now.")  # type: ignore[assignment]  # an API field named like a DRF attribute
    effective_hash = serializers.CharField()


class ImpactBaselineSerializer(serializers.Serializer):
    release = serializers.IntegerField(help_text="The release that was live when the analysis started.")
    version = serializers.IntegerField()
    effective_hash = serializers.CharField()


class ImpactReportSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    pipeline = serializers.SlugField(source="pipeline.slug")
    environment = serializers.CharField(source="environment.name")
    status = serializers.ChoiceField(choices=ImpactReport.Status.choices)
    last = serializers.IntegerField(source="window", help_text="How many of the latest runs were asked for.")
    total = serializers.IntegerField(help_text="How many runs are replayed (at most `last`).")
    processed = serializers.IntegerField()
    progress = TaskProgressSerializer()
    candidate = ImpactCandidateSerializer()
    baseline = ImpactBaselineSerializer()
    requested_by = UsernameField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class FlipsSerializer(serializers.Serializer):
    to_fail = serializers.IntegerField(help_text="Passed before, would not pass now.")
    to_pass = serializers.IntegerField(help_text="Did not pass before, would pass now.")
    other = serializers.IntegerField(
        help_text="Changed between failed, review, undecided and error (neither side passed)."
    )
    to_review = serializers.IntegerField(
        help_text="Not referred to a person before, would be now (also counted in to_fail or other)."
    )
    from_review = serializers.IntegerField(
        help_text="Referred to a person before, would not be now (also counted in to_pass or other)."
    )


class RuleImpactSerializer(serializers.Serializer):
    stage = serializers.CharField()
    rule = serializers.CharField()
    before = serializers.DictField(
        child=serializers.IntegerField(), help_text="outcome -> count, live config."
    )
    after = serializers.DictField(child=serializers.IntegerField(), help_text="outcome -> count, candidate.")
    changed = serializers.IntegerField(help_text="Applications whose outcome of this rule changed.")


class LatencyFiguresSerializer(serializers.Serializer):
    """Replay latency in ms; null when nothing was replayed."""

    mean = serializers.FloatField(allow_null=True)
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class LatencyPairSerializer(serializers.Serializer):
    before = LatencyFiguresSerializer()
    after = LatencyFiguresSerializer()


class ImpactFiguresSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    flips = FlipsSerializer()
    skipped = serializers.IntegerField(
        help_text="Runs that could not be replayed (the worker gave up on them)."
    )
    decisions = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="decision before -> decision after -> count.",
    )
    rules = RuleImpactSerializer(many=True, help_text="Rules whose outcome changed most first.")
    latency_ms = LatencyPairSerializer()


class ImpactSampleSerializer(serializers.Serializer):
    run = serializers.UUIDField(help_text="The past run replayed.")
    direction = serializers.ChoiceField(choices=["to_fail", "to_pass", "other"])
    before_status = serializers.CharField()
    after_status = serializers.CharField()
    input = JsonObjectField(help_text="The application, PII masked.")
    before = JsonObjectField(allow_null=True, help_text="The live config's result, PII masked.")
    after = JsonObjectField(allow_null=True, help_text="The candidate's result, PII masked.")


class ImpactReportSerializer(ImpactReportSummarySerializer):
    summary = ImpactFiguresSerializer(help_text="The figures so far (final once completed).")
    samples = ImpactSampleSerializer(many=True, help_text="Some applications whose decision would flip.")
