"""Change requests and approvals in the admin: read-only. A change request is opened,
decided, scheduled and applied only through the console and the API, where the
four-eyes checks are; the admin cannot approve, apply or edit one."""

from django.contrib import admin

from pipelines_admin.changes.models import ChangeApproval, ChangeRequest
from pipelines_admin.core.admin_site import ReadOnlyAdmin, console


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "Decide or apply it in the console"
    list_display = (
        "id",
        "kind",
        "pipeline",
        "environment",
        "status",
        "author",
        "scheduled_for",
        "created_at",
    )
    list_filter = ("status", "kind", "environment")
    search_fields = ("reason", "effective_hash", "pipeline__slug")
    list_select_related = ("pipeline", "environment", "author")
    date_hierarchy = "created_at"

    def console_url(self, obj):
        return console("change-request", pk=obj.pk)


@admin.register(ChangeApproval)
class ChangeApprovalAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See it in the console"
    list_display = ("change_request", "approver", "decision", "request_revision", "voided_at", "created_at")
    list_filter = ("decision",)
    list_select_related = ("change_request", "approver")

    def console_url(self, obj):
        return console("change-request", pk=obj.change_request_id)
