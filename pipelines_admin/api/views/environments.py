"""Environments: their settings (list, create, change), what runs where (live release,
effective config and its provenance), overrides, stage and rule toggles, releases,
rollback, differences between them, and the release gate of protected environments.

Every change goes through changes.services.change_submit: where the environment is under
change control, or the release gate is to be overridden, it opens a change request
instead (202 with the request) and nothing changes until it is approved and applied."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from pipelines_admin.api import selectors as api_selectors
from pipelines_admin.api.base import ApiView
from pipelines_admin.api.revisions import ETAG, IF_MATCH, REVISION_REQUIRED, STALE, base_revision, with_etag
from pipelines_admin.api.schema import error_response
from pipelines_admin.api.serializers.bindings import BindingSerializer, ReferencedServiceSerializer
from pipelines_admin.api.serializers.common import MAX_INT, JsonObjectField
from pipelines_admin.api.serializers.pipelines import DiffSerializer, EnvironmentSerializer, ReleaseSerializer
from pipelines_admin.api.serializers.testing import (
    GateClosedSerializer,
    GateStateSerializer,
    RuleRefSerializer,
)
from pipelines_admin.api.views.changes import CHANGE_CONTROL, OPENED, OPENED_LOCATION, opened
from pipelines_admin.api.views.versions import get_version
from pipelines_admin.changes.services import change_submit
from pipelines_admin.configs import selectors, services
from pipelines_admin.configs.candidates import candidate_resolve
from pipelines_admin.configs.overrides import apply_override, provenance
from pipelines_admin.testcases.gate import gate_state

REASON_HELP = "Why; required for protected environments (production), recorded in the audit trail."
GATE_OVERRIDE_HELP = (
    "Ask to change a protected environment although its release gate is closed (no passing "
    "test suite on this exact config). Nobody overrides the gate for their own change: this "
    "opens a change request (202) that another publisher approves; recorded in the audit "
    "trail as a gate override once applied."
)
GATE_CLOSED = OpenApiResponse(
    GateClosedSerializer,
    description="The release gate is closed: the test suite has not "
    "passed on this exact config (`extra.gate` says "
    "why). Run it, or send `gate_override` with a "
    "reason: that opens a change request (202).",
)


class DependentsEnabledSerializer(serializers.Serializer):
    class Extra(serializers.Serializer):
        dependents = RuleRefSerializer(
            many=True,
            help_text="Every enabled rule that depends on what would be "
            "turned off, directly or through other rules.",
        )
        environment = serializers.CharField()

    message = serializers.CharField()
    extra = Extra()


TOGGLE_CONFLICT = OpenApiResponse(
    DependentsEnabledSerializer,
    description="Turning it off would leave enabled rules that depend on it unable to run (`extra.dependents` "
    "lists them): send `disable_dependents: true` to turn them off in the same release. Also the "
    "closed release gate of a protected environment (`extra.gate`).",
)
TOGGLE_RESPONSES = {
    200: ReleaseSerializer,
    202: OPENED,
    409: TOGGLE_CONFLICT,
    412: STALE,
    428: REVISION_REQUIRED,
}
GATE_DESCRIPTION = (
    " In a protected environment the release gate must be open (GET .../gate/), or "
    "`gate_override` sent (which opens a change request): otherwise 409 with `extra.gate`."
) + CHANGE_CONTROL


def reason_field():
    return serializers.CharField(
        max_length=2000, allow_blank=True, required=False, default="", help_text=REASON_HELP
    )


def gate_override_field():
    return serializers.BooleanField(required=False, default=False, help_text=GATE_OVERRIDE_HELP)


def _target(slug: str, env: str):
    return selectors.pipeline_get(slug), selectors.environment_get(env)


def _changed(release) -> Response:
    """A write's answer: the release it made, with the environment's new ETag."""
    return with_etag(Response(_release(release)), selectors.environment_revision(release))


def _release(release) -> dict:
    return ReleaseSerializer(release).data


def _submit(view: ApiView, kind: str, pipeline, environment, *, created: bool = False, **values) -> Response:
    """Make a change to what a pipeline runs through the front door: the release it made
    (201 for releases and rollbacks, 200 with the new ETag for the others), or 202 with
    the change request opened instead."""
    submitted = change_submit(
        kind=kind, pipeline=pipeline, environment=environment, actor=view.request.user, **values
    )
    if submitted.change_request is not None:
        return opened(view, submitted.change_request)
    if created:
        return Response(_release(submitted.applied), status=status.HTTP_201_CREATED)
    return _changed(submitted.applied)


ENVIRONMENT_LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[201],
    description="The environment's URL.",
)
POSITION_HELP = "Environments are listed by it, smallest first (0 to 10000)."
CHANGE_REQUESTS_REQUIRED_HELP = (
    "Under change control: every change there (releases, overrides, toggles, rollbacks, bindings, its "
    "settings) opens a change request that other publishers approve before it applies."
)
APPROVALS_REQUIRED_HELP = "How many publishers other than the author approve each change request (1 to 3)."


class LiveSummarySerializer(serializers.Serializer):
    pipeline = serializers.SlugField(source="pipeline.slug")
    version = serializers.IntegerField(source="version.number")
    release_id = serializers.IntegerField(source="pk")
    released_at = serializers.DateTimeField()


class EnvironmentDetailSerializer(EnvironmentSerializer):
    url = serializers.URLField()
    live = LiveSummarySerializer(many=True, help_text="Each pipeline released there, with its live version.")
    bindings = BindingSerializer(
        many=True, help_text="Its service bindings; any other service is served by the simulated adapter."
    )
    services = ReferencedServiceSerializer(
        many=True, help_text="Every service the pipelines live there call, from their rules' params."
    )


def environment_body(view: ApiView, environment) -> dict:
    return {
        "name": environment.name,
        "protected": environment.protected,
        "description": environment.description,
        "position": environment.position,
        "change_requests_required": environment.change_requests_required,
        "approvals_required": environment.approvals_required,
        "updated_at": environment.updated_at,
        "url": view.absolute(reverse("api:environment-detail", kwargs={"env": environment.name})),
        "live": selectors.environment_live_releases(environment),
        "bindings": selectors.binding_list(environment),
        "services": selectors.environment_services(environment),
    }


class EnvironmentListView(ApiView):
    class CreateInput(serializers.Serializer):
        name = serializers.CharField(
            max_length=50,
            help_text="Lower-case letters and digits, words joined by "
            "dashes (uat, eu-production); it never changes.",
        )
        protected = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Only publishers may then release to or change it, each "
            "change with a reason and the release gate.",
        )
        position = serializers.IntegerField(
            required=False, default=100, min_value=0, max_value=10_000, help_text=POSITION_HELP
        )
        description = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)

    @extend_schema(
        operation_id="environments_list",
        summary="List environments",
        responses={200: EnvironmentSerializer(many=True)},
    )
    def get(self, request):
        return Response(EnvironmentSerializer(selectors.environment_list(), many=True).data)

    @extend_schema(
        operation_id="environments_create",
        summary="Create an environment",
        description="Publishers (and superusers). Recorded in the audit trail. Nothing is released "
        "there yet; its services are served by the simulated adapters until bound.",
        request=CreateInput,
        parameters=[ENVIRONMENT_LOCATION],
        responses={
            201: EnvironmentDetailSerializer,
            409: error_response("An environment with this name already exists."),
        },
    )
    def post(self, request):
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        environment = services.environment_create(actor=request.user, **data.validated_data)
        body = EnvironmentDetailSerializer(environment_body(self, environment)).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})


class EnvironmentDetailView(ApiView):
    class UpdateInput(serializers.Serializer):
        protected = serializers.BooleanField(
            required=False, help_text="Protecting or unprotecting is for publishers, with a reason."
        )
        position = serializers.IntegerField(
            required=False, min_value=0, max_value=10_000, help_text=POSITION_HELP
        )
        description = serializers.CharField(max_length=300, required=False, allow_blank=True)
        change_requests_required = serializers.BooleanField(
            required=False, help_text=CHANGE_REQUESTS_REQUIRED_HELP + " Publishers, with a reason."
        )
        approvals_required = serializers.IntegerField(
            required=False, min_value=1, max_value=3, help_text=APPROVALS_REQUIRED_HELP
        )
        reason = reason_field()

    @extend_schema(
        operation_id="environments_retrieve",
        summary="Get an environment",
        description="Its settings, the pipelines live there, its service bindings, and the services "
        "those pipelines call. The ETag (of its settings) is what a change sends as "
        "If-Match.",
        parameters=[ETAG],
        responses={200: EnvironmentDetailSerializer},
    )
    def get(self, request, env):
        environment = selectors.environment_get(env)
        return with_etag(
            Response(EnvironmentDetailSerializer(environment_body(self, environment)).data),
            selectors.settings_revision(environment),
        )

    @extend_schema(
        operation_id="environments_update",
        summary="Change an environment's settings",
        description="Send the settings to change; the others are kept. Editors change the description "
        "and order of unprotected environments; publishers of any, with a reason for a "
        "protected one. Protecting or unprotecting needs a publisher and a reason. The "
        "name never changes. Sending the settings it already has is a 400. Change control "
        "(`change_requests_required`, `approvals_required`) is set by publishers, with a reason; on an "
        "environment under change control every change to its settings, loosening or tightening it, "
        "is itself a change request (202)." + CHANGE_CONTROL,
        parameters=[IF_MATCH, ETAG, OPENED_LOCATION],
        request=UpdateInput,
        responses={
            200: EnvironmentDetailSerializer,
            202: OPENED,
            412: STALE,
            428: REVISION_REQUIRED,
        },
    )
    def patch(self, request, env):
        data = self.UpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        environment = selectors.environment_get(env)
        settings = dict(data.validated_data)
        reason = settings.pop("reason")
        submitted = change_submit(
            kind="environment",
            environment=environment,
            actor=request.user,
            reason=reason,
            base_revision=base_revision(request),
            **settings,
        )
        if submitted.change_request is not None:
            return opened(self, submitted.change_request)
        environment = submitted.applied
        return with_etag(
            Response(EnvironmentDetailSerializer(environment_body(self, environment)).data),
            selectors.settings_revision(environment),
        )


class PipelineEnvironmentView(ApiView):
    class Output(serializers.Serializer):
        pipeline = serializers.SlugField()
        environment = EnvironmentSerializer()
        live_release = ReleaseSerializer(allow_null=True, help_text="Null until a version is released there.")
        effective_config = JsonObjectField(
            allow_null=True, help_text="The live version merged with the override."
        )
        provenance = serializers.DictField(
            child=serializers.ChoiceField(choices=["base", "override", "removed"]),
            allow_null=True,
            help_text="JSON pointer of each value of the effective config -> where it came from.",
        )

    @extend_schema(
        operation_id="pipeline_environments_retrieve",
        summary="What runs in an environment",
        description="The live release, the effective config (version + override) and where each of "
        "its values came from. The ETag is what overrides and toggles send as If-Match.",
        parameters=[ETAG],
        responses={200: Output},
    )
    def get(self, request, slug, env):
        pipeline, environment = _target(slug, env)
        live = selectors.release_live(pipeline, environment)
        body = {
            "pipeline": pipeline.slug,
            "environment": environment,
            "live_release": live,
            "effective_config": apply_override(live.version.document, live.override) if live else None,
            "provenance": provenance(live.version.document, live.override) if live else None,
        }
        return with_etag(Response(self.Output(body).data), selectors.environment_revision(live))


class OverrideView(ApiView):
    class Input(serializers.Serializer):
        override = JsonObjectField(help_text="RFC 7396 JSON Merge Patch over the live version; {} for none.")
        reason = reason_field()
        gate_override = gate_override_field()

    @extend_schema(
        operation_id="overrides_set",
        summary="Replace the environment's override",
        description="Editors (unprotected environments) and publishers. Recorded as a new release."
        + GATE_DESCRIPTION,
        request=Input,
        parameters=[IF_MATCH, ETAG, OPENED_LOCATION],
        responses={
            200: ReleaseSerializer,
            202: OPENED,
            409: GATE_CLOSED,
            412: STALE,
            428: REVISION_REQUIRED,
        },
    )
    def put(self, request, slug, env):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        pipeline, environment = _target(slug, env)
        return _submit(
            self,
            "override",
            pipeline,
            environment,
            base_revision=base_revision(request),
            **data.validated_data,
        )


class ToggleInput(serializers.Serializer):
    enabled = serializers.BooleanField()
    reason = reason_field()
    gate_override = gate_override_field()
    disable_dependents = serializers.BooleanField(
        default=False,
        help_text="When turning off: also turn off, in the same release, every enabled rule that "
        "depends on it (otherwise 409 listing them). The audit event names each.",
    )


class StageToggleView(ApiView):
    @extend_schema(
        operation_id="stages_toggle",
        summary="Enable or disable a stage in an environment",
        description="Editors (unprotected environments) and publishers. Recorded as a new release. "
        "Turning off what enabled rules depend on answers 409 naming them, unless "
        "`disable_dependents` turns them off too." + GATE_DESCRIPTION,
        parameters=[IF_MATCH, ETAG, OPENED_LOCATION],
        request=ToggleInput,
        responses=TOGGLE_RESPONSES,
    )
    def post(self, request, slug, env, stage):
        data = ToggleInput(data=request.data)
        data.is_valid(raise_exception=True)
        pipeline, environment = _target(slug, env)
        return _submit(
            self,
            "toggle",
            pipeline,
            environment,
            base_revision=base_revision(request),
            stage=stage,
            rule=None,
            **data.validated_data,
        )


class RuleToggleView(ApiView):
    @extend_schema(
        operation_id="rules_toggle",
        summary="Enable or disable a rule in an environment",
        description="Editors (unprotected environments) and publishers. Recorded as a new release. "
        "Turning off what enabled rules depend on answers 409 naming them, unless "
        "`disable_dependents` turns them off too." + GATE_DESCRIPTION,
        parameters=[IF_MATCH, ETAG, OPENED_LOCATION],
        request=ToggleInput,
        responses=TOGGLE_RESPONSES,
    )
    def post(self, request, slug, env, stage, rule):
        data = ToggleInput(data=request.data)
        data.is_valid(raise_exception=True)
        pipeline, environment = _target(slug, env)
        return _submit(
            self,
            "toggle",
            pipeline,
            environment,
            base_revision=base_revision(request),
            stage=stage,
            rule=rule,
            **data.validated_data,
        )


class ReleaseListView(ApiView):
    class CreateInput(serializers.Serializer):
        version = serializers.IntegerField(
            min_value=1, max_value=MAX_INT, help_text="The version number to release."
        )
        reason = reason_field()
        override = JsonObjectField(
            required=False, help_text="A new override; by default the environment keeps its current one."
        )
        gate_override = gate_override_field()

    @extend_schema(
        operation_id="releases_list",
        summary="Release history of a pipeline in an environment",
        description="Newest first; the first is live.",
        responses={200: ReleaseSerializer(many=True)},
    )
    def get(self, request, slug, env):
        pipeline, environment = _target(slug, env)
        return Response(ReleaseSerializer(selectors.release_history(pipeline, environment), many=True).data)

    @extend_schema(
        operation_id="releases_create",
        summary="Release a version to an environment",
        description="Editors (unprotected environments) and publishers (protected ones too, with a "
        "reason). The effective config is validated against the environment's service "
        "bindings first." + GATE_DESCRIPTION,
        request=CreateInput,
        parameters=[OPENED_LOCATION],
        responses={201: ReleaseSerializer, 202: OPENED, 409: GATE_CLOSED},
    )
    def post(self, request, slug, env):
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        pipeline, environment = _target(slug, env)
        values = data.validated_data
        version = get_version(pipeline, values["version"])
        return _submit(
            self,
            "release",
            pipeline,
            environment,
            created=True,
            reason=values["reason"],
            gate_override=values["gate_override"],
            version=version.number,
            override=values.get("override"),
        )


class RollbackView(ApiView):
    class Input(serializers.Serializer):
        release_id = serializers.IntegerField(
            min_value=1, max_value=MAX_INT, help_text="The earlier release to run again."
        )
        reason = reason_field()
        gate_override = gate_override_field()

    @extend_schema(
        operation_id="releases_rollback",
        summary="Roll back to an earlier release",
        description="Runs an earlier release's version and override again, as a new release."
        + GATE_DESCRIPTION,
        request=Input,
        parameters=[OPENED_LOCATION],
        responses={201: ReleaseSerializer, 202: OPENED, 409: GATE_CLOSED},
    )
    def post(self, request, slug, env):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        pipeline, environment = _target(slug, env)
        to_release = api_selectors.release_get(pipeline, environment, data.validated_data["release_id"])
        return _submit(
            self,
            "rollback",
            pipeline,
            environment,
            created=True,
            reason=data.validated_data["reason"],
            gate_override=data.validated_data["gate_override"],
            to_release=to_release.pk,
        )


class EnvironmentDiffView(ApiView):
    @extend_schema(
        operation_id="pipeline_environments_diff",
        summary="How the effective config differs between two environments",
        responses={
            200: DiffSerializer,
            404: error_response("No such pipeline or environment, or it is not released in one of them."),
        },
    )
    def get(self, request, slug, env, other):
        pipeline = selectors.pipeline_get(slug)
        diff = selectors.environments_diff(
            pipeline, selectors.environment_get(env), selectors.environment_get(other)
        )
        return Response(DiffSerializer(diff).data)


class ReleaseGateView(ApiView):
    class Filters(serializers.Serializer):
        version = serializers.IntegerField(
            min_value=1,
            max_value=MAX_INT,
            required=False,
            help_text="The version to release; by default the one live there now.",
        )

    class Output(GateStateSerializer):
        pipeline = serializers.SlugField()
        environment = serializers.CharField()
        version = serializers.IntegerField()
        target = serializers.CharField(help_text="The config, in words.")
        effective_hash = serializers.CharField(
            help_text="The exact config (version + the environment's override) the gate is about."
        )
        live = serializers.BooleanField(help_text="This exact config is what runs there now.")

    @extend_schema(
        operation_id="release_gate_retrieve",
        summary="Whether a version may be released",
        description="The release gate for `version` (default: live) with the environment's current "
        "override: protected environments need a passing suite run on that exact config, "
        "with the test cases as they are now. Unprotected ones never require it.",
        parameters=[Filters],
        responses={200: Output},
    )
    def get(self, request, slug, env):
        filters = self.Filters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        pipeline, environment = _target(slug, env)
        number = filters.validated_data.get("version")
        candidate = candidate_resolve(
            pipeline, environment, version=get_version(pipeline, number) if number else None
        )
        body = {
            **gate_state(pipeline, environment, candidate.effective_hash).as_dict(),
            "pipeline": pipeline.slug,
            "environment": environment.name,
            "version": candidate.version.number,
            "target": candidate.label,
            "effective_hash": candidate.effective_hash,
            "live": candidate.is_live,
        }
        return Response(self.Output(body).data)
