"""Dashboard summaries: throughput, outcomes, latency and rule statistics, from the
metric rollups (never from raw runs)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from pipelines_admin.api.base import ApiView
from pipelines_admin.api.serializers.common import WindowFilters
from pipelines_admin.configs import selectors as config_selectors
from pipelines_admin.runs import selectors


class RuleStatsSerializer(serializers.Serializer):
    stage = serializers.CharField()
    rule = serializers.CharField()
    total = serializers.IntegerField()
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="outcome -> count; also 'slow': runs it was flagged slow in",
    )
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)
    mean_ms = serializers.FloatField(allow_null=True)
    failure_rate = serializers.FloatField()
    slow = serializers.IntegerField(
        help_text="Runs in which it ran past its config's slow-rule threshold "
        "(execution_settings.performance_monitoring)."
    )


class AlertSerializer(serializers.Serializer):
    kind = serializers.CharField()
    pipeline = serializers.CharField(source="pipeline.slug")
    environment = serializers.CharField(source="environment.name")
    run = serializers.UUIDField(source="run_id")
    stage = serializers.CharField()
    rule = serializers.CharField()
    message = serializers.CharField()
    created_at = serializers.DateTimeField()


class LatencySerializer(serializers.Serializer):
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class SeriesSerializer(serializers.Serializer):
    labels = serializers.ListField(
        child=serializers.CharField(),
        help_text=(
            "The start (ISO 8601) of every slot of the summary's grain in the window, oldest first (the "
            "first may be partial: the window starts inside it); the counts of a slot without runs are zero."
        ),
    )
    passed = serializers.ListField(child=serializers.IntegerField())
    failed = serializers.ListField(child=serializers.IntegerField())
    review = serializers.ListField(
        child=serializers.IntegerField(), help_text="Runs referred to a person (status review)."
    )
    undecided = serializers.ListField(child=serializers.IntegerField())
    error = serializers.ListField(child=serializers.IntegerField())


class DashboardSummaryView(ApiView):
    Filters = WindowFilters

    class Output(serializers.Serializer):
        pipeline = serializers.CharField(allow_null=True)
        environment = serializers.CharField(allow_null=True)
        since = serializers.DateTimeField()
        hours = serializers.IntegerField()
        grain = serializers.IntegerField(
            help_text="The length of the series' slots, in seconds: 300 (five minutes) under 24 hours, "
            "3600 (an hour) up to 24 days, 86400 (a day) from then on."
        )
        total_runs = serializers.IntegerField()
        counts = serializers.DictField(
            child=serializers.IntegerField(),
            help_text="run status (passed, failed, review, undecided, error) -> count; statuses "
            "without runs are left out",
        )
        failure_rate = serializers.FloatField()
        latency = LatencySerializer(help_text="Run latency percentiles, in ms.")
        series = SeriesSerializer(help_text="Runs per time slot and status.")
        slowest_rules = RuleStatsSerializer(many=True)
        flagged_slow = RuleStatsSerializer(
            many=True, help_text="Rules flagged slow at least once, most often first."
        )
        failing_rules = RuleStatsSerializer(many=True)
        alert_count = serializers.IntegerField(
            help_text="Alerts raised in the window (timeouts, where the config "
            "sets performance_monitoring.alert_on_timeout)."
        )
        recent_alerts = AlertSerializer(many=True, help_text="The newest ten.")

    @extend_schema(
        operation_id="dashboards_summary",
        summary="Dashboard summary",
        parameters=[Filters],
        responses={200: Output},
    )
    def get(self, request):
        filters = self.Filters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        pipeline = config_selectors.pipeline_get(values["pipeline"]) if values.get("pipeline") else None
        environment = (
            config_selectors.environment_get(values["environment"]) if values.get("environment") else None
        )
        summary = selectors.dashboard(pipeline=pipeline, environment=environment, hours=values["hours"])
        summary["pipeline"] = pipeline.slug if pipeline else None
        summary["environment"] = environment.name if environment else None
        return Response(self.Output(summary).data)
