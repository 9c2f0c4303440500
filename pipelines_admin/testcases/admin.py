"""Test cases and suite runs in the admin: read-only; applications and expectations are
shown masked only (never decrypted)."""

from django.contrib import admin

from pipelines_admin.core.admin_site import ReadOnlyAdmin, console
from pipelines_admin.testcases.models import SuiteRun, TestCase


@admin.register(TestCase)
class TestCaseAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("name", "pipeline", "created_by", "created_at", "updated_at")
    list_filter = ("pipeline",)
    search_fields = ("name", "description", "pipeline__slug")
    list_select_related = ("pipeline", "created_by")
    exclude = ("input_encrypted", "expected_encrypted")

    def console_url(self, obj):
        return console("test-case-edit", slug=obj.pipeline.slug, case_id=obj.pk)


@admin.register(SuiteRun)
class SuiteRunAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See it in the console"
    list_display = (
        "id",
        "pipeline",
        "environment",
        "version",
        "status",
        "total",
        "passed",
        "failed",
        "requested_by",
        "created_at",
    )
    list_filter = ("status", "environment", "pipeline")
    search_fields = ("pipeline__slug", "effective_hash")
    list_select_related = ("pipeline", "environment", "version", "requested_by")
    date_hierarchy = "created_at"

    def console_url(self, obj):
        return console("suite-run", slug=obj.pipeline.slug, suite_id=obj.pk)
