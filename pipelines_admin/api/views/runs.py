"""Runs: submit an application (202, then poll), get one, list them."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from pipelines_admin.api.base import ApiView
from pipelines_admin.api.pagination import RunPagination
from pipelines_admin.api.schema import error_response
from pipelines_admin.api.serializers.common import MAX_INT, JsonObjectField
from pipelines_admin.api.serializers.runs import RunSerializer, RunSummarySerializer
from pipelines_admin.api.views.versions import get_version
from pipelines_admin.configs import selectors as config_selectors
from pipelines_admin.runs import selectors, services
from pipelines_admin.runs.models import Run


def run_url(view: ApiView, run) -> str:
    return view.absolute(reverse("api:run-detail", kwargs={"run_id": run.pk}))


def with_url(view: ApiView, runs):
    for run in runs:
        run.url = run_url(view, run)
    return runs


class RunListView(ApiView):
    pagination_class = RunPagination

    class Filters(serializers.Serializer):
        pipeline = serializers.SlugField(max_length=80, required=False, help_text="Pipeline slug.")
        environment = serializers.SlugField(max_length=50, required=False, help_text="Environment name.")
        status = serializers.ChoiceField(choices=Run.Status.choices, required=False)
        source = serializers.ChoiceField(choices=Run.Source.choices, required=False)  # type: ignore[assignment]  # an API field named like a DRF attribute
        batch = serializers.UUIDField(required=False, help_text="Only the runs of this batch.")

    class SubmitInput(serializers.Serializer):
        pipeline = serializers.SlugField(max_length=80)
        environment = serializers.SlugField(
            max_length=50, help_text="Runs the config live there, with its service bindings."
        )
        record = JsonObjectField(help_text="The application: field names and values.")
        version = serializers.IntegerField(
            min_value=1,
            max_value=MAX_INT,
            required=False,
            help_text="Run this version instead of the live release.",
        )
        stages = serializers.ListField(
            child=serializers.CharField(max_length=100),
            required=False,
            max_length=100,
            help_text="Run only these stages: the run is partial (undecided at best, "
            "never passed) unless every enabled stage is chosen.",
        )

    @extend_schema(
        operation_id="runs_list",
        summary="List runs",
        description="Newest first, cursor-paginated (follow `next`). Inputs and results are left out: "
        "get a run for them.",
        parameters=[Filters],
        responses={200: RunSummarySerializer(many=True)},
    )
    def get(self, request):
        filters = self.Filters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.run_list(filters.validated_data), request, view=self)
        return paginator.get_paginated_response(RunSummarySerializer(with_url(self, page), many=True).data)

    @extend_schema(
        operation_id="runs_submit",
        summary="Submit an application",
        description="Editors and publishers. The run is queued for the worker: the answer is 202 with the run "
        "(status `queued`) and its URL in `Location` and `url`; poll it until `status` is a decision: "
        "passed, failed, review, undecided or error (`result.decision` holds its reasons and next steps).",
        request=SubmitInput,
        responses={
            202: OpenApiResponse(RunSerializer, description="Queued."),
            404: error_response(
                "No such pipeline, environment or version, or the pipeline is not released there."
            ),
        },
        parameters=[
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                OpenApiParameter.HEADER,
                response=[202],
                description="The run's URL.",
            )
        ],
    )
    def post(self, request):
        data = self.SubmitInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        pipeline = config_selectors.pipeline_get(values["pipeline"])
        environment = config_selectors.environment_get(values["environment"])
        version = get_version(pipeline, values["version"]) if "version" in values else None
        run = services.run_submit(
            pipeline=pipeline,
            environment=environment,
            record=values["record"],
            actor=request.user,
            source=Run.Source.API,
            version=version,
            stages=values.get("stages"),
        )
        run = selectors.run_get(run.pk)
        run.url = run_url(self, run)
        return Response(
            RunSerializer(run).data, status=status.HTTP_202_ACCEPTED, headers={"Location": run.url}
        )


class RunDetailView(ApiView):
    @extend_schema(
        operation_id="runs_retrieve",
        summary="Get a run: its status and, once done, the decision",
        responses={200: RunSerializer},
    )
    def get(self, request, run_id):
        run = selectors.run_get(run_id)
        run.url = run_url(self, run)
        return Response(RunSerializer(run).data)
