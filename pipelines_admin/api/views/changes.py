"""Change requests: a change to an environment under change control, or an override of
the release gate anywhere, waits here until publishers other than its author approve
it; then it is applied (now, or at a scheduled time). Each approval is bound to the
exact result the change produces: a revision, another change to the environment or an
edited test case voids it, and the request says why. Superusers may break glass:
apply without approvals, with a reason, recorded and announced."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from pipelines_admin.api.base import ApiView
from pipelines_admin.api.pagination import NewestFirstPagination
from pipelines_admin.api.revisions import etag
from pipelines_admin.api.schema import error_response
from pipelines_admin.api.serializers.bindings import BindingSerializer
from pipelines_admin.api.serializers.changes import ChangeRequestSerializer, ChangeRequestSummarySerializer
from pipelines_admin.api.serializers.common import MAX_INT, JsonObjectField
from pipelines_admin.api.serializers.pipelines import EnvironmentSerializer, ReleaseSerializer
from pipelines_admin.api.views.impact import report_summary
from pipelines_admin.changes import selectors, services
from pipelines_admin.changes.models import ChangeRequest
from pipelines_admin.configs import selectors as config_selectors
from pipelines_admin.configs.models import INTERFACE_NAMES, Environment, Release, ServiceBinding
from pipelines_admin.configs.services import BINDING_FIELDS
from pipelines_admin.core.errors import InvalidInput, Stale

PUBLISHERS = (
    "Publishers (and superusers) other than the request's author, and other than the author of a version it "
    "releases."
)
OPENED_DESCRIPTION = (
    "A change request was opened instead: the environment is under change control (or the release gate is "
    "to be overridden). Nothing changed yet; the request (its URL in `Location`) waits for approvals."
)
OPENED = OpenApiResponse(ChangeRequestSerializer, description=OPENED_DESCRIPTION)
OPENED_LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[202],
    description="The change request's URL (202 only).",
)
CHANGE_CONTROL = (
    " Under change control (the environment's `change_requests_required`), or with `gate_override`, nothing "
    "is changed: a change request is opened and the answer is 202 with it (`Location`: its URL); it applies "
    "once approved (POST /api/v1/change-requests/{id}/apply/)."
)
STALE_REQUEST = error_response(
    "If-Match was sent and the request is no longer that revision (its author revised it, or what it produces "
    "changed): read it again; nothing was done."
)
ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description="The request's revision and what it produces: send it as If-Match when deciding, so you "
    "decide exactly what you read.",
)
IF_MATCH_OPTIONAL = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag of the request as you read it: when sent and no longer current, 412 and nothing "
    "is done.",
)


def request_etag(change_request: ChangeRequest) -> str:
    return f"change-request-{change_request.pk}-r{change_request.revision}-{change_request.effective_hash}"


def _url(view: ApiView, change_request: ChangeRequest) -> str:
    return view.absolute(reverse("api:change-request-detail", kwargs={"request_id": change_request.pk}))


def _standing(view: ApiView, change_request: ChangeRequest) -> selectors.Standing:
    standing = selectors.request_standing(change_request)
    standing.url = _url(view, change_request)  # type: ignore[attr-defined]
    report = selectors.impact_for(change_request)
    standing.impact = report_summary(view, report) if report else None  # type: ignore[attr-defined]
    return standing


def change_request_response(view: ApiView, change_request: ChangeRequest, code: int = 200) -> Response:
    change_request = selectors.change_request_get(change_request.pk)
    body = ChangeRequestSerializer(_standing(view, change_request)).data
    headers = {"ETag": etag(request_etag(change_request))}
    if code in (201, 202):
        headers["Location"] = body["url"]
    return Response(body, status=code, headers=headers)


def opened(view: ApiView, change_request: ChangeRequest) -> Response:
    """The answer of a change endpoint that opened a change request instead of applying."""
    return change_request_response(view, change_request, status.HTTP_202_ACCEPTED)


def _check_if_match(request, change_request: ChangeRequest) -> int | None:
    """The revision the caller read (If-Match), for the service to check again under its
    lock; None when no If-Match was sent."""
    sent = request.headers.get("If-Match", "").strip()
    if not sent or sent == "*":
        return None
    sent = sent.removeprefix("W/").strip('"')
    current = request_etag(change_request)
    if sent != current:
        raise Stale(
            f"Change request #{change_request.pk} changed since you read it (it is at revision "
            f"{change_request.revision} now): read it again.",
            {"revision": current, "change_request": change_request.pk},
        )
    return change_request.revision


# -- what each kind applies ----------------------------------------------------------------


class ReleasePayload(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=MAX_INT)
    override = JsonObjectField(required=False, allow_null=True)


class RollbackPayload(serializers.Serializer):
    to_release = serializers.IntegerField(min_value=1, max_value=MAX_INT)


class OverridePayload(serializers.Serializer):
    override = JsonObjectField()


class TogglePayload(serializers.Serializer):
    stage = serializers.CharField(max_length=200)
    rule = serializers.CharField(max_length=200, required=False, allow_null=True, default=None)
    enabled = serializers.BooleanField()
    disable_dependents = serializers.BooleanField(required=False, default=False)


class BindingPayload(serializers.Serializer):
    interface = serializers.ChoiceField(choices=list(INTERFACE_NAMES))
    name = serializers.CharField(max_length=64)
    remove = serializers.BooleanField(required=False, default=False)
    values = JsonObjectField(required=False, default=dict)
    expect = serializers.ChoiceField(choices=["new", "existing"], required=False, allow_null=True)

    def validate_values(self, values):
        unknown = sorted(set(values) - set(BINDING_FIELDS))
        if unknown:
            raise serializers.ValidationError(f"Unknown binding settings: {', '.join(unknown)}.")
        return values


class EnvironmentPayload(serializers.Serializer):
    protected = serializers.BooleanField(required=False)
    position = serializers.IntegerField(required=False, min_value=0, max_value=10_000)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    change_requests_required = serializers.BooleanField(required=False)
    approvals_required = serializers.IntegerField(required=False, min_value=1, max_value=3)


PAYLOADS: dict[str, type[serializers.Serializer]] = {
    "release": ReleasePayload,
    "rollback": RollbackPayload,
    "override": OverridePayload,
    "toggle": TogglePayload,
    "binding": BindingPayload,
    "environment": EnvironmentPayload,
}


def payload_for(kind: str, payload: dict, *, partial: bool = False) -> dict:
    """The payload checked against its kind: unknown keys, missing or invalid values are a 400."""
    shape = PAYLOADS[kind](data=payload, partial=partial)
    unknown = sorted(set(payload) - set(shape.fields))
    problems = {f"payload.{key}": ["not a setting of this kind of change"] for key in unknown}
    if not shape.is_valid():
        problems.update({f"payload.{k}": [str(m) for m in v] for k, v in shape.errors.items()})
    if problems:
        raise InvalidInput(
            f"The payload of a {kind} change is not valid: {'; '.join(problems)}.", {"fields": problems}
        )
    values = dict(shape.validated_data)
    if partial:
        values = {k: v for k, v in values.items() if k in payload}
    if kind == "environment" and not values:
        raise InvalidInput("Say which settings to change.", {"fields": {"payload": ["at least one setting"]}})
    if kind == "binding" and not values.get("expect"):
        values.pop("expect", None)
    return values


# -- the endpoints ---------------------------------------------------------------------------


class ChangeRequestPagination(NewestFirstPagination):
    ordering = ("-created_at", "-id")


class AppliedSerializer(serializers.Serializer):
    applied = serializers.BooleanField(help_text="Always true: the change was made.")
    message = serializers.CharField()
    release = ReleaseSerializer(allow_null=True, help_text="The release it made (pipeline kinds).")
    binding = BindingSerializer(allow_null=True, help_text="The binding as it is now (binding kind).")
    environment = EnvironmentSerializer(
        allow_null=True, help_text="The environment's settings now (environment kind)."
    )


class ChangeRequestListView(ApiView):
    pagination_class = ChangeRequestPagination

    class Filters(serializers.Serializer):
        status = serializers.ChoiceField(choices=ChangeRequest.Status.choices, required=False)
        environment = serializers.SlugField(max_length=50, required=False, help_text="Environment name.")
        pipeline = serializers.SlugField(max_length=80, required=False, help_text="Pipeline slug.")
        waiting_for_me = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Only what waits for you: open requests you may approve and have not decided, and your "
            "own that need you (approved and not applied, or refused at their scheduled time).",
        )

    class CreateInput(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ChangeRequest.Kind.choices)
        pipeline = serializers.SlugField(
            max_length=80, required=False, allow_null=True, help_text="Pipeline slug (pipeline kinds)."
        )
        environment = serializers.SlugField(max_length=50, help_text="Environment name.")
        reason = serializers.CharField(
            max_length=2000,
            allow_blank=True,
            required=False,
            default="",
            help_text="Why; the approvers read it.",
        )
        gate_override = serializers.BooleanField(
            required=False, default=False, help_text="Release although the release gate is closed."
        )
        payload = JsonObjectField(
            help_text="What to apply, by kind: release {version, override}; rollback {to_release}; override "
            "{override}; toggle {stage, rule, enabled, disable_dependents}; binding {interface, name, remove, "
            "values, expect}; environment {protected, position, description, change_requests_required, "
            "approvals_required}."
        )

    @extend_schema(
        operation_id="change_requests_list",
        summary="List change requests",
        description="Newest first, cursor-paginated.",
        parameters=[Filters],
        responses={200: ChangeRequestSummarySerializer(many=True)},
    )
    def get(self, request):
        filters = self.Filters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        requests = selectors.change_requests(
            environment=config_selectors.environment_get(values["environment"])
            if values.get("environment")
            else None,
            pipeline=config_selectors.pipeline_get(values["pipeline"]) if values.get("pipeline") else None,
            status=values.get("status", ""),
        )
        if values["waiting_for_me"]:
            waiting = selectors.waiting_for(request.user)
            requests = requests.filter(pk__in=[r.pk for r in waiting["to_approve"] + waiting["mine"]])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(requests, request, view=self)
        rows = [_standing(self, r) for r in page]
        return paginator.get_paginated_response(ChangeRequestSummarySerializer(rows, many=True).data)

    @extend_schema(
        operation_id="change_requests_create",
        summary="Ask for a change",
        description="Goes through the same front door as every change endpoint. Where the environment is "
        "under change control, or `gate_override` is asked, a change request is opened (201, `Location`); "
        "anywhere else the change is applied at once (200). Opening needs the right to change the "
        "environment (publishers for protected ones) and, for protected ones, a reason.",
        request=CreateInput,
        parameters=[
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                OpenApiParameter.HEADER,
                response=[201],
                description="The change request's URL.",
            )
        ],
        responses={
            201: OpenApiResponse(ChangeRequestSerializer, description="The change request opened."),
            200: OpenApiResponse(
                AppliedSerializer,
                description="Applied at once: the environment is not under change control and no gate "
                "override was asked.",
            ),
            409: error_response(
                "Refused by the service that owns the change (the release gate, dependents...)."
            ),
        },
    )
    def post(self, request):
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        kind = values["kind"]
        environment = config_selectors.environment_get(values["environment"])
        pipeline = None
        if kind in ChangeRequest.PIPELINE_KINDS:
            if not values.get("pipeline"):
                raise InvalidInput(f"A {kind} names a pipeline.", {"fields": {"pipeline": ["required"]}})
            pipeline = config_selectors.pipeline_get(values["pipeline"])
        submitted = services.change_submit(
            kind=kind,
            pipeline=pipeline,
            environment=environment,
            actor=request.user,
            reason=values["reason"],
            gate_override=values["gate_override"],
            **payload_for(kind, values["payload"]),
        )
        if submitted.change_request is not None:
            return change_request_response(self, submitted.change_request, status.HTTP_201_CREATED)
        applied = submitted.applied
        body = {
            "applied": True,
            "message": f"Applied at once: {environment.name} is not under change control.",
            "release": applied if isinstance(applied, Release) else None,
            "binding": applied if isinstance(applied, ServiceBinding) else None,
            "environment": applied if isinstance(applied, Environment) else None,
        }
        return Response(AppliedSerializer(body).data)


class ChangeRequestDetailView(ApiView):
    @extend_schema(
        operation_id="change_requests_retrieve",
        summary="Get a change request",
        description="What it does (`diff`), its approvals and whether each still stands (`why_not`), the "
        "release gate, and why it cannot be applied now (`blockers`).",
        parameters=[ETAG_HEADER],
        responses={200: ChangeRequestSerializer, 404: error_response("No such change request.")},
    )
    def get(self, request, request_id):
        return change_request_response(self, selectors.change_request_get(request_id))


def _action_schema(operation_id: str, summary: str, description: str, request=None, extra=None):
    responses = {
        200: ChangeRequestSerializer,
        404: error_response("No such change request."),
        409: error_response(
            "The request is not open (applied, rejected or withdrawn), or `extra` says what no longer holds."
        ),
        412: STALE_REQUEST,
        **(extra or {}),
    }
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        request=request,
        parameters=[IF_MATCH_OPTIONAL, ETAG_HEADER],
        responses=responses,
    )


class ChangeRequestReviseView(ApiView):
    class Input(serializers.Serializer):
        payload = JsonObjectField(
            required=False, default=dict, help_text="What to change in the request's payload (merged)."
        )
        reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @_action_schema(
        "change_requests_revise",
        "Revise a change request",
        "The author only. Every approval given so far is voided (each says why) and the request waits for "
        "approvals of its new revision.",
        request=Input,
    )
    def post(self, request, request_id):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        change_request = selectors.change_request_get(request_id)
        _check_if_match(request, change_request)
        payload = payload_for(change_request.kind, data.validated_data["payload"], partial=True)
        change_request = services.change_request_revise(
            change_request=change_request,
            actor=request.user,
            payload=payload,
            reason=data.validated_data["reason"],
        )
        return change_request_response(self, change_request)


class CommentInput(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ChangeRequestApproveView(ApiView):
    @_action_schema(
        "change_requests_approve",
        "Approve a change request",
        f"{PUBLISHERS} The approval is bound to what the request produces now and to the test cases; 403 for "
        "the author.",
        request=CommentInput,
    )
    def post(self, request, request_id):
        data = CommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        change_request = selectors.change_request_get(request_id)
        seen = _check_if_match(request, change_request)
        services.change_request_approve(
            change_request=change_request,
            expected_revision=seen,
            actor=request.user,
            comment=data.validated_data["comment"],
        )
        return change_request_response(self, change_request)


class ChangeRequestRejectView(ApiView):
    class Input(serializers.Serializer):
        comment = serializers.CharField(max_length=2000, help_text="Why: the author reads it.")

    @_action_schema(
        "change_requests_reject",
        "Reject a change request",
        f"{PUBLISHERS} It is closed; the author is told why.",
        request=Input,
    )
    def post(self, request, request_id):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        change_request = selectors.change_request_get(request_id)
        seen = _check_if_match(request, change_request)
        services.change_request_reject(
            change_request=change_request,
            expected_revision=seen,
            actor=request.user,
            comment=data.validated_data["comment"],
        )
        return change_request_response(self, change_request)


class ChangeRequestWithdrawView(ApiView):
    class Input(serializers.Serializer):
        reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @_action_schema(
        "change_requests_withdraw",
        "Withdraw a change request",
        "Its author (or a superuser). It is closed without being applied.",
        request=Input,
    )
    def post(self, request, request_id):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        change_request = selectors.change_request_get(request_id)
        _check_if_match(request, change_request)
        services.change_request_withdraw(
            change_request=change_request, actor=request.user, reason=data.validated_data["reason"]
        )
        return change_request_response(self, change_request)


class ChangeRequestScheduleView(ApiView):
    class Input(serializers.Serializer):
        when = serializers.DateTimeField(
            allow_null=True,
            help_text="ISO 8601 with its time zone, in the future (within 90 days); null takes it off the "
            "schedule.",
        )

    @_action_schema(
        "change_requests_schedule",
        "Schedule a change request",
        "Whoever may change the environment. Only a request ready to apply can be scheduled; at its time it is "
        "applied as the one who scheduled it, after every check again (a refusal says why and tells the "
        "author).",
        request=Input,
    )
    def post(self, request, request_id):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        change_request = selectors.change_request_get(request_id)
        _check_if_match(request, change_request)
        services.change_request_schedule(
            change_request=change_request, actor=request.user, when=data.validated_data["when"]
        )
        return change_request_response(self, change_request)


class ChangeRequestApplyView(ApiView):
    @_action_schema(
        "change_requests_apply",
        "Apply a change request now",
        "Whoever may change the environment. What it produces, its approvals and the release gate are checked "
        "again first: 409 with `extra.blockers` when something no longer holds, and nothing is applied.",
    )
    def post(self, request, request_id):
        change_request = selectors.change_request_get(request_id)
        seen = _check_if_match(request, change_request)
        services.change_request_apply(
            change_request=change_request, expected_revision=seen, actor=request.user
        )
        return change_request_response(self, change_request)


class ChangeRequestBreakGlassView(ApiView):
    class Input(serializers.Serializer):
        reason = serializers.CharField(
            max_length=2000, help_text="Why it cannot wait: recorded and announced."
        )

    @_action_schema(
        "change_requests_break_glass",
        "Break glass: apply without approvals",
        "Superusers only (403 for everyone else), with a reason. The release gate is still asked unless the "
        "request overrides it. Recorded as a break-glass and every publisher is told.",
        request=Input,
    )
    def post(self, request, request_id):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        change_request = selectors.change_request_get(request_id)
        _check_if_match(request, change_request)
        services.change_request_break_glass(
            change_request=change_request, actor=request.user, reason=data.validated_data["reason"]
        )
        return change_request_response(self, change_request)
