"""Runs, batches, alerts and metrics in the admin: read-only. Inputs are shown masked
only; the encrypted input and batch chunks are never decrypted nor shown."""

from django.contrib import admin

from pipelines_admin.core.admin_site import ReadOnlyAdmin, console
from pipelines_admin.runs.models import (
    Alert,
    Batch,
    BatchChunk,
    MetricRollup,
    MetricTotal,
    Run,
    SweepRecovery,
)


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See it in the console"
    list_display = (
        "id",
        "pipeline",
        "environment",
        "config_version",
        "status",
        "source",
        "submitted_by",
        "created_at",
        "duration_ms",
    )
    list_filter = ("status", "environment", "source", "pipeline")
    search_fields = ("id", "pipeline__slug", "error_message")
    list_select_related = ("pipeline", "environment", "config_version", "submitted_by")
    exclude = ("input_encrypted",)
    date_hierarchy = "created_at"

    def console_url(self, obj):
        return console("run-detail", run_id=obj.pk)


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See it (or cancel it) in the console"
    list_display = (
        "id",
        "pipeline",
        "environment",
        "filename",
        "status",
        "total",
        "processed",
        "passed",
        "failed",
        "review",
        "undecided",
        "errored",
        "submitted_by",
        "created_at",
    )
    list_filter = ("status", "environment", "pipeline")
    search_fields = ("id", "filename", "pipeline__slug")
    list_select_related = ("pipeline", "environment", "submitted_by")
    date_hierarchy = "created_at"

    def console_url(self, obj):
        return console("batch-detail", batch_id=obj.pk)


@admin.register(BatchChunk)
class BatchChunkAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See its batch in the console"
    list_display = ("batch", "index", "first_line", "size", "status", "attempts", "finished_at")
    list_filter = ("status",)
    search_fields = ("batch__id",)
    exclude = ("records_encrypted",)

    def console_url(self, obj):
        return console("batch-detail", batch_id=obj.batch_id)


@admin.register(MetricRollup)
class MetricRollupAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See the dashboards"
    list_display = ("pipeline", "environment", "grain", "bucket_start", "stage", "rule", "total", "sum_ms")
    list_filter = ("grain", "environment", "pipeline")
    search_fields = ("stage", "rule")
    list_select_related = ("pipeline", "environment")
    date_hierarchy = "bucket_start"

    def console_url(self, obj):
        return console("dashboards")


@admin.register(MetricTotal)
class MetricTotalAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See the dashboards"
    list_display = ("pipeline", "environment", "stage", "rule", "total", "sum_ms")
    list_filter = ("environment", "pipeline")
    search_fields = ("stage", "rule")
    list_select_related = ("pipeline", "environment")

    def console_url(self, obj):
        return console("dashboards")


@admin.register(SweepRecovery)
class SweepRecoveryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See the dashboards"
    list_display = ("kind", "action", "count")
    list_filter = ("kind", "action")

    def console_url(self, obj):
        return console("dashboards")


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See its run in the console"
    list_display = ("created_at", "kind", "pipeline", "environment", "stage", "rule")
    list_filter = ("kind", "environment", "pipeline")
    search_fields = ("stage", "rule", "message")
    list_select_related = ("pipeline", "environment")
    date_hierarchy = "created_at"

    def console_url(self, obj):
        return console("run-detail", run_id=obj.run_id)
