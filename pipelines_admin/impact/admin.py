"""Impact analyses in the admin: read-only (their samples are stored masked)."""

from django.contrib import admin

from pipelines_admin.core.admin_site import ReadOnlyAdmin, console
from pipelines_admin.impact.models import ImpactChunk, ImpactReport


@admin.register(ImpactReport)
class ImpactReportAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See it (or cancel it) in the console"
    list_display = (
        "id",
        "pipeline",
        "environment",
        "candidate_version",
        "status",
        "window",
        "total",
        "processed",
        "requested_by",
        "created_at",
    )
    list_filter = ("status", "environment", "pipeline")
    search_fields = ("pipeline__slug", "candidate_hash", "baseline_hash")
    list_select_related = ("pipeline", "environment", "candidate_version", "requested_by")
    date_hierarchy = "created_at"

    def console_url(self, obj):
        return console("impact-report", slug=obj.pipeline.slug, report_id=obj.pk)


@admin.register(ImpactChunk)
class ImpactChunkAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See its analysis in the console"
    list_display = ("report", "index", "status", "attempts", "finished_at")
    list_filter = ("status",)
    search_fields = ("report__pipeline__slug",)

    def console_url(self, obj):
        return console("impact-report", slug=obj.report.pipeline.slug, report_id=obj.report_id)
