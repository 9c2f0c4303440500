"""The audit trail in the admin: read-only, as it is append-only everywhere."""

from django.contrib import admin

from pipelines_admin.audit.models import AuditChainHead, AuditEvent
from pipelines_admin.core.admin_site import ReadOnlyAdmin, console


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See it in the audit trail"
    list_display = (
        "sequence",
        "occurred_at",
        "actor_name",
        "action",
        "pipeline",
        "environment",
        "object_repr",
    )
    list_filter = ("action", "environment", "pipeline", "object_type")
    search_fields = ("actor_name", "action", "object_repr", "reason", "object_id")
    date_hierarchy = "occurred_at"

    def console_url(self, obj):
        return console("audit", {"action": obj.action})


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See the audit trail"
    list_display = ("id", "sequence", "last_hash")
    search_fields = ("last_hash",)

    def console_url(self, obj):
        return console("audit")
