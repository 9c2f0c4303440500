"""Review cases and dispositions in the admin: read-only; they change through the
review pages and the API."""

from django.contrib import admin

from pipelines_admin.core.admin_site import ReadOnlyAdmin, console
from pipelines_admin.reviews.models import ReviewCase, ReviewDisposition


@admin.register(ReviewCase)
class ReviewCaseAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See it in the console"
    list_display = (
        "run",
        "pipeline",
        "environment",
        "status",
        "approvals",
        "approvals_required",
        "claimed_by",
    )
    list_filter = ("status", "environment", "pipeline")
    search_fields = ("run__id", "pipeline__slug")
    list_select_related = ("run", "pipeline", "environment", "claimed_by")

    def console_url(self, obj):
        return console("review", run_id=obj.run_id)


@admin.register(ReviewDisposition)
class ReviewDispositionAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See it in the console"
    list_display = ("case", "reviewer", "decision", "reason_code", "created_at")
    list_filter = ("decision", "reason_code")
    search_fields = ("reviewer__username", "reason_code")
    list_select_related = ("case", "reviewer")

    def console_url(self, obj):
        return console("review", run_id=obj.case.run_id)
