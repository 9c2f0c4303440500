"""Pipelines, versions, environments, releases and service bindings in the admin: shown,
never changed here (the services check roles, protection, the release gate and
validation, and record each change in the audit trail)."""

from django.contrib import admin

from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline, Release, ServiceBinding
from pipelines_admin.core.admin_site import ReadOnlyAdmin, console


@admin.register(Pipeline)
class PipelineAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("slug", "name", "created_by", "created_at")
    search_fields = ("slug", "name", "description")
    date_hierarchy = "created_at"

    def console_url(self, obj):
        return console("pipeline-detail", slug=obj.slug)


@admin.register(ConfigVersion)
class ConfigVersionAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "See it in the console"
    list_display = ("pipeline", "number", "message", "author", "created_at", "content_hash")
    list_filter = ("pipeline",)
    search_fields = ("pipeline__slug", "message", "content_hash")
    list_select_related = ("pipeline", "author")
    date_hierarchy = "created_at"

    def console_url(self, obj):
        return console("version-detail", slug=obj.pipeline.slug, number=obj.number)


@admin.register(Environment)
class EnvironmentAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("name", "protected", "position", "description", "updated_at")
    list_filter = ("protected",)
    search_fields = ("name", "description")

    def console_url(self, obj):
        return console("environment", env=obj.name)


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "Release, roll back or override in the console"
    list_display = (
        "id",
        "pipeline",
        "environment",
        "version",
        "kind",
        "released_by",
        "released_at",
        "reason",
    )
    list_filter = ("environment", "kind", "pipeline")
    search_fields = ("pipeline__slug", "reason", "effective_hash")
    list_select_related = ("pipeline", "environment", "version", "released_by")
    date_hierarchy = "released_at"

    def console_url(self, obj):
        return console("environment-detail", slug=obj.pipeline.slug, env=obj.environment.name)


@admin.register(ServiceBinding)
class ServiceBindingAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("environment", "interface", "name", "kind", "served_by", "updated_at")
    list_filter = ("environment", "kind", "interface")
    search_fields = ("interface", "name", "url", "secret_env")
    list_select_related = ("environment",)

    @admin.display(description="Settings")
    def served_by(self, obj):
        """The settings of its kind only; the secret by its variable's name."""
        if obj.kind == ServiceBinding.Kind.HTTP:
            secret = f", secret from {obj.secret_env}" if obj.secret_env else ", no secret"
            return f"{obj.url} (timeout {obj.timeout_seconds:g} s{secret})"
        return f"{obj.latency_ms} ms latency, failure rate {obj.failure_rate:g}"

    def console_url(self, obj):
        return console("environment", {"service": obj.service}, "#binding-form", env=obj.environment.name)
