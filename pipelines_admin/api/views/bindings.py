"""Service bindings of an environment: how its rules reach each outside service
(`service:Interface:name`), simulated or over HTTP. Any service without a binding is
served by the simulated adapter. Every change validates the effective config of each
pipeline live in the environment with the new bindings first, and is refused (400,
each pipeline's problems in `extra.pipelines`, nothing changed) when one would become
invalid. In an environment under change control, a change opens a change request instead
(202 with the request): nothing changes until it is approved and applied."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from pipelines_admin.api.base import ApiView
from pipelines_admin.api.revisions import ETAG, IF_MATCH, REVISION_REQUIRED, STALE, base_revision, with_etag
from pipelines_admin.api.schema import error_response
from pipelines_admin.api.serializers.bindings import (
    KIND_HELP,
    RETRIES_HELP,
    SECRET_ENV_HELP,
    TIMEOUT_HELP,
    URL_HELP,
    BindingRefusedSerializer,
    BindingSerializer,
)
from pipelines_admin.api.views.changes import CHANGE_CONTROL, OPENED, opened
from pipelines_admin.api.views.environments import reason_field
from pipelines_admin.changes.services import change_submit
from pipelines_admin.configs import selectors
from pipelines_admin.configs.models import INTERFACE_NAMES, ServiceBinding
from pipelines_admin.core.errors import NotFound

REFUSED = OpenApiResponse(
    BindingRefusedSerializer,
    description=(
        "Invalid input: `extra.fields` names each invalid field; or the change would make the live config of "
        "pipelines in the environment invalid: `extra.pipelines` lists each with its problems (JSON-pointer paths). "
        "Nothing was changed."
    ),
)
ROLES = (
    "Editors (unprotected environments) and publishers (protected ones too, with a reason); recorded in the "
    "audit trail." + CHANGE_CONTROL
)
SERVICE_PARAMETER = OpenApiParameter(
    "service", OpenApiTypes.STR, OpenApiParameter.PATH, description="Interface:name, like KYCService:jumio."
)
LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[201, 202],
    description="The binding's URL (201), or the change request's (202).",
)
REQUEST_LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[202],
    description="The change request's URL (202 only).",
)


class BindingSettings(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ServiceBinding.Kind.choices, help_text=KIND_HELP)
    url = serializers.CharField(
        max_length=500, required=False, default="", allow_blank=True, help_text=URL_HELP
    )
    timeout_seconds = serializers.FloatField(
        required=False, default=5.0, min_value=0.01, max_value=300, help_text=TIMEOUT_HELP
    )
    retries = serializers.IntegerField(
        required=False, default=0, min_value=0, max_value=5, help_text=RETRIES_HELP
    )
    secret_env = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True, help_text=SECRET_ENV_HELP
    )
    latency_ms = serializers.IntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=60_000,
        help_text="Simulated: delay added to each call, in milliseconds.",
    )
    failure_rate = serializers.FloatField(
        required=False,
        default=0.0,
        min_value=0,
        max_value=1,
        help_text="Simulated: share of calls that fail, 0 to 1.",
    )
    reason = reason_field()


def _service(service: str) -> tuple[str, str]:
    key = selectors.parse_service(service)
    if key is None:
        raise NotFound(
            f"{service!r} is not a service: use Interface:name, like KYCService:jumio.", {"service": service}
        )
    return key


def _set(request, environment, interface: str, name: str, values: dict, expect: str):
    """Through the front door: the binding set (Submitted.applied), or a change request opened."""
    reason = values.pop("reason")
    base = base_revision(request) if expect == "existing" else None  # a new binding has no revision yet
    return change_submit(
        kind="binding",
        environment=environment,
        actor=request.user,
        reason=reason,
        base_revision=base,
        interface=interface,
        name=name,
        remove=False,
        values=values,
        expect=expect,
    )


class BindingListView(ApiView):
    class CreateInput(BindingSettings):
        interface = serializers.ChoiceField(
            choices=list(INTERFACE_NAMES), help_text="The service's interface."
        )
        name = serializers.CharField(
            max_length=64,
            help_text="The service's name, as in service:Interface:name "
            "(letters, digits, dots, dashes, underscores).",
        )

    @extend_schema(
        operation_id="bindings_list",
        summary="List an environment's service bindings",
        description="By interface and name. Services without a binding are served by the simulated "
        "adapter (GET environments/{env}/ lists the services its pipelines call).",
        responses={200: BindingSerializer(many=True)},
    )
    def get(self, request, env):
        environment = selectors.environment_get(env)
        return Response(BindingSerializer(selectors.binding_list(environment), many=True).data)

    @extend_schema(
        operation_id="bindings_create",
        summary="Bind a service in an environment",
        description=f"{ROLES} 409 when it is bound already (change it with PUT).",
        request=CreateInput,
        parameters=[LOCATION],
        responses={
            201: BindingSerializer,
            202: OPENED,
            400: REFUSED,
            409: error_response("The service is bound in this environment already."),
        },
    )
    def post(self, request, env):
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        environment = selectors.environment_get(env)
        values = dict(data.validated_data)
        interface, name = values.pop("interface"), values.pop("name")
        submitted = _set(request, environment, interface, name, values, expect="new")
        if submitted.change_request is not None:
            return opened(self, submitted.change_request)
        binding = submitted.applied
        body = BindingSerializer(binding).data
        location = self.absolute(f"{request.path}{binding.service}/")
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})


class BindingDetailView(ApiView):
    @extend_schema(
        operation_id="bindings_retrieve",
        summary="Get a service binding",
        description="The ETag is what a change or removal sends as If-Match.",
        parameters=[SERVICE_PARAMETER, ETAG],
        responses={200: BindingSerializer},
    )
    def get(self, request, env, service):
        environment = selectors.environment_get(env)
        binding = selectors.binding_get(environment, service)
        return with_etag(Response(BindingSerializer(binding).data), selectors.settings_revision(binding))

    @extend_schema(
        operation_id="bindings_update",
        summary="Change a service binding",
        description=f"{ROLES} Send the whole binding: settings left out get their defaults. Sending "
        "it as it is changes nothing (200, no audit event).",
        parameters=[SERVICE_PARAMETER, IF_MATCH, ETAG, REQUEST_LOCATION],
        request=BindingSettings,
        responses={200: BindingSerializer, 202: OPENED, 400: REFUSED, 412: STALE, 428: REVISION_REQUIRED},
    )
    def put(self, request, env, service):
        data = BindingSettings(data=request.data)
        data.is_valid(raise_exception=True)
        environment = selectors.environment_get(env)
        interface, name = _service(service)
        submitted = _set(request, environment, interface, name, dict(data.validated_data), expect="existing")
        if submitted.change_request is not None:
            return opened(self, submitted.change_request)
        binding = submitted.applied
        return with_etag(Response(BindingSerializer(binding).data), selectors.settings_revision(binding))

    class RemoveFilters(serializers.Serializer):
        reason = serializers.CharField(
            max_length=2000,
            required=False,
            default="",
            allow_blank=True,
            help_text="Why; required for protected environments, recorded in the audit trail.",
        )

    @extend_schema(
        operation_id="bindings_destroy",
        summary="Remove a service binding",
        description=f"{ROLES} Its rules call the simulated adapter again.",
        parameters=[SERVICE_PARAMETER, RemoveFilters, IF_MATCH, REQUEST_LOCATION],
        responses={204: None, 202: OPENED, 400: REFUSED, 412: STALE, 428: REVISION_REQUIRED},
    )
    def delete(self, request, env, service):
        filters = self.RemoveFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        environment = selectors.environment_get(env)
        interface, name = _service(service)
        submitted = change_submit(
            kind="binding",
            environment=environment,
            actor=request.user,
            reason=filters.validated_data["reason"],
            base_revision=base_revision(request),
            interface=interface,
            name=name,
            remove=True,
        )
        if submitted.change_request is not None:
            return opened(self, submitted.change_request)
        return Response(status=status.HTTP_204_NO_CONTENT)
