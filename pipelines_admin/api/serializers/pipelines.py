"""Pipelines, their versions and the environments they run in."""

from __future__ import annotations

from rest_framework import serializers

from pipelines_admin.api.serializers.common import JsonObjectField, UsernameField


class EnvironmentSerializer(serializers.Serializer):
    name = serializers.CharField()
    protected = serializers.BooleanField(help_text="Only publishers may release to or change it.")
    description = serializers.CharField(allow_blank=True)
    position = serializers.IntegerField(help_text="Environments are listed by it, smallest first.")
    change_requests_required = serializers.BooleanField(
        help_text="Under change control: every change there opens a change request that other publishers "
        "approve before it applies."
    )
    approvals_required = serializers.IntegerField(
        help_text="Publishers other than the author who approve each change request there (1 to 3)."
    )
    updated_at = serializers.DateTimeField(help_text="When its settings last changed.")


class LiveReleaseSummarySerializer(serializers.Serializer):
    release_id = serializers.IntegerField(source="pk")
    version = serializers.IntegerField(source="version.number")
    kind = serializers.CharField()
    released_at = serializers.DateTimeField()


class PipelineEnvironmentSerializer(serializers.Serializer):
    environment = serializers.CharField(source="environment.name")
    protected = serializers.BooleanField(source="environment.protected")
    live = LiveReleaseSummarySerializer(
        allow_null=True, help_text="The release that runs there; null before the first release."
    )


class PipelineSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    pii_fields = serializers.ListField(
        child=serializers.CharField(),
        help_text="Fields masked wherever runs are shown; empty: the standard set.",
    )
    created_at = serializers.DateTimeField()
    created_by = UsernameField()
    latest_version = serializers.IntegerField(allow_null=True)
    url = serializers.URLField()
    environments = PipelineEnvironmentSerializer(many=True)


class VersionSummarySerializer(serializers.Serializer):
    number = serializers.IntegerField()
    content_hash = serializers.CharField()
    parent = serializers.IntegerField(  # type: ignore[assignment]  # an API field named like a DRF attribute
        source="parent.number", allow_null=True, help_text="The version this one was made from."
    )
    author = UsernameField()
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    url = serializers.URLField()


class VersionSerializer(VersionSummarySerializer):
    pipeline = serializers.SlugField(source="pipeline.slug")
    document = JsonObjectField()


class ChangeSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="stage_added, rule_removed, param_changed, ...")
    summary = serializers.CharField()

    def to_representation(self, instance):
        return dict(instance)  # every key of the change (stage, rule, before, after...)


class DiffSerializer(serializers.Serializer):
    before = serializers.CharField(source="before_label")
    after = serializers.CharField(source="after_label")
    changes = ChangeSerializer(many=True, help_text="What a rules person changed, one entry per change.")
    text_diff = serializers.CharField(source="text", allow_blank=True, help_text="Unified diff of the JSON.")


class ConflictExtraSerializer(serializers.Serializer):
    base_version = serializers.IntegerField(allow_null=True)
    latest_version = serializers.IntegerField()
    changes = ChangeSerializer(many=True, help_text="What changed from your base version to the latest.")
    text_diff = serializers.CharField(allow_blank=True)


class VersionConflictSerializer(serializers.Serializer):
    message = serializers.CharField()
    extra = ConflictExtraSerializer()


class ReleaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    pipeline = serializers.SlugField(source="pipeline.slug")
    environment = serializers.CharField(source="environment.name")
    version = serializers.IntegerField(source="version.number")
    kind = serializers.ChoiceField(choices=["release", "rollback", "override", "toggle"])
    override = JsonObjectField(help_text="RFC 7396 JSON Merge Patch over the version.")
    effective_hash = serializers.CharField()
    previous = serializers.IntegerField(source="previous_id", allow_null=True)
    reason = serializers.CharField(allow_blank=True)
    released_by = UsernameField()
    released_at = serializers.DateTimeField()
