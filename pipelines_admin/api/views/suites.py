"""Suite runs: every test case of a pipeline run against one exact config on the
workers (202, then poll), their results, and the rule coverage of the newest one."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from pipelines_admin.api import selectors as api_selectors
from pipelines_admin.api.base import ApiView
from pipelines_admin.api.pagination import SuiteRunPagination
from pipelines_admin.api.schema import error_response
from pipelines_admin.api.serializers.common import MAX_INT, JsonObjectField
from pipelines_admin.api.serializers.testing import (
    CoverageRowSerializer,
    RuleRefSerializer,
    SuiteRunSerializer,
    SuiteRunSummarySerializer,
)
from pipelines_admin.api.views.versions import get_version
from pipelines_admin.configs import selectors as config_selectors
from pipelines_admin.testcases import selectors, services

SUMMARY_FIELDS = (
    "id",
    "pipeline",
    "environment",
    "version",
    "override",
    "effective_hash",
    "target",
    "status",
    "total",
    "processed",
    "passed",
    "failed",
    "error_message",
    "requested_by",
    "created_at",
    "started_at",
    "finished_at",
)


def suite_run_summary(view: ApiView, suite_run) -> dict:
    """The API's view of a suite run, without its results and coverage (deferred in lists)."""
    return {
        **{f: getattr(suite_run, f) for f in SUMMARY_FIELDS},
        "url": view.absolute(
            reverse(
                "api:suite-run-detail", kwargs={"slug": suite_run.pipeline.slug, "suite_run_id": suite_run.pk}
            )
        ),
        "progress": {"percent": suite_run.percent, "finished": suite_run.finished},
    }


def suite_run_data(view: ApiView, suite_run) -> dict:
    return {
        **suite_run_summary(view, suite_run),
        "results": suite_run.results,
        "coverage": suite_run.coverage,
    }


class SuiteRunListView(ApiView):
    pagination_class = SuiteRunPagination

    class CreateInput(serializers.Serializer):
        environment = serializers.SlugField(
            max_length=50,
            help_text="Whose service bindings run the cases; its live version and override are the defaults.",
        )
        version = serializers.IntegerField(
            min_value=1,
            max_value=MAX_INT,
            required=False,
            help_text="The version to test; by default the one live there.",
        )
        override = JsonObjectField(
            required=False,
            help_text="A proposed override (RFC 7396 merge patch) to test; by default the environment's own.",
        )

    @extend_schema(
        operation_id="suite_runs_list",
        summary="List a pipeline's suite runs",
        description="Newest first, cursor-paginated (follow `next`), without their results: get a "
        "suite run for them.",
        responses={200: SuiteRunSummarySerializer(many=True)},
    )
    def get(self, request, slug):
        pipeline = config_selectors.pipeline_get(slug)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.suite_run_list(pipeline), request, view=self)
        return paginator.get_paginated_response(
            SuiteRunSummarySerializer([suite_run_summary(self, s) for s in page], many=True).data
        )

    @extend_schema(
        operation_id="suite_runs_start",
        summary="Run the test suite",
        description="Editors and publishers. Every test case of the pipeline runs on the workers against one exact "
        "config: `version` (default: live in `environment`) with `override` (default: the "
        "environment's). The answer is 202 with the queued suite run, its URL in `Location` and `url`: "
        "poll it until `progress.finished`. A pass on a config opens the release gate of protected "
        "environments for that exact config. 400 when the pipeline has no test cases or the config "
        "is not valid there.",
        request=CreateInput,
        responses={
            202: OpenApiResponse(SuiteRunSerializer, description="Queued."),
            404: error_response(
                "No such pipeline, environment or version, or no version given and the "
                "pipeline is not released there."
            ),
        },
        parameters=[
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                OpenApiParameter.HEADER,
                response=[202],
                description="The suite run's URL.",
            )
        ],
    )
    def post(self, request, slug):
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        pipeline = config_selectors.pipeline_get(slug)
        environment = config_selectors.environment_get(values["environment"])
        version = get_version(pipeline, values["version"]) if "version" in values else None
        suite_run = services.suite_start(
            pipeline=pipeline,
            environment=environment,
            actor=request.user,
            version=version,
            override=values.get("override"),
        )
        body = SuiteRunSerializer(suite_run_data(self, selectors.suite_run_get(pipeline, suite_run.pk))).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class SuiteRunDetailView(ApiView):
    @extend_schema(
        operation_id="suite_runs_retrieve",
        summary="Get a suite run: progress, results, coverage",
        description="Each test case's outcome with the expectations it did not meet (PII masked), and "
        "how many cases made each rule pass, fail, skip, error or time out.",
        responses={200: SuiteRunSerializer},
    )
    def get(self, request, slug, suite_run_id):
        suite_run = api_selectors.suite_run_get(config_selectors.pipeline_get(slug), suite_run_id)
        return Response(SuiteRunSerializer(suite_run_data(self, suite_run)).data)


class CoverageView(ApiView):
    class Output(serializers.Serializer):
        suite_run = SuiteRunSummarySerializer(
            allow_null=True, help_text="The newest suite run that ran its cases; null before any."
        )
        outcomes = serializers.ListField(
            child=serializers.CharField(), help_text="The outcomes counted per rule."
        )
        rows = CoverageRowSerializer(many=True, help_text="Every rule of the config that suite run tested.")
        untested = RuleRefSerializer(many=True, help_text="Rules no test case makes pass or fail.")

    @extend_schema(
        operation_id="coverage_retrieve",
        summary="Which rules the test suite exercises",
        description="From the newest suite run that ran (passed or failed): for each rule, how many test "
        "cases made it pass, fail, skip, error or time out, and the rules none made pass or "
        "fail. Before any suite run: `suite_run` null and no rows.",
        responses={200: Output},
    )
    def get(self, request, slug):
        coverage = selectors.coverage(config_selectors.pipeline_get(slug))
        body = {
            "suite_run": suite_run_summary(self, coverage.suite_run) if coverage.suite_run else None,
            "outcomes": list(coverage.outcomes),
            "rows": [
                {"stage": r.stage, "rule": r.rule, "counts": r.counts, "exercised": r.exercised}
                for r in coverage.rows
            ],
            "untested": [{"stage": r.stage, "rule": r.rule} for r in coverage.untested],
        }
        return Response(self.Output(body).data)
