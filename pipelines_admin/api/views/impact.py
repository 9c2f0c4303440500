"""Impact reports: before a change goes live, replay the latest past applications against
what is live and against the candidate, on the workers (202, then poll), and see every
decision that would flip."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from pipelines_admin.api import selectors as api_selectors
from pipelines_admin.api.base import ApiView
from pipelines_admin.api.pagination import ImpactReportPagination
from pipelines_admin.api.schema import error_response
from pipelines_admin.api.serializers.common import MAX_INT, JsonObjectField
from pipelines_admin.api.serializers.impact import ImpactReportSerializer, ImpactReportSummarySerializer
from pipelines_admin.api.views.versions import get_version
from pipelines_admin.configs import selectors as config_selectors
from pipelines_admin.impact import selectors, services

SUMMARY_FIELDS = (
    "id",
    "pipeline",
    "environment",
    "status",
    "window",
    "total",
    "processed",
    "requested_by",
    "created_at",
    "started_at",
    "finished_at",
)


def report_summary(view: ApiView, report) -> dict:
    """The API's view of a report, without its figures and samples (deferred in lists)."""
    return {
        **{f: getattr(report, f) for f in SUMMARY_FIELDS},
        "url": view.absolute(
            reverse("api:impact-report-detail", kwargs={"slug": report.pipeline.slug, "report_id": report.pk})
        ),
        "progress": {"percent": report.percent, "finished": report.finished},
        "candidate": {
            "version": report.candidate_version.number,
            "override": report.candidate_override,
            "label": report.candidate_label,
            "effective_hash": report.candidate_hash,
        },
        "baseline": {
            "release": report.baseline_release_id,
            "version": report.baseline_release.version.number,
            "effective_hash": report.baseline_hash,
        },
    }


def report_data(view: ApiView, report) -> dict:
    summary = selectors.impact_summary(report)
    return {
        **report_summary(view, report),
        "summary": {
            "replayed": summary.replayed,
            "unchanged": summary.unchanged,
            "flips": summary.flips,
            "skipped": summary.skipped,
            "decisions": {
                before: dict(zip(summary.statuses, row, strict=True)) for before, row in summary.decisions
            },
            "rules": [
                {"stage": r.stage, "rule": r.rule, "before": r.before, "after": r.after, "changed": r.changed}
                for r in summary.rules
            ],
            "latency_ms": summary.latency,
        },
        "samples": report.samples,
    }


class ImpactReportListView(ApiView):
    pagination_class = ImpactReportPagination

    class Filters(serializers.Serializer):
        version = serializers.IntegerField(
            min_value=1,
            max_value=MAX_INT,
            required=False,
            help_text="Only the reports on this candidate version.",
        )

    class CreateInput(serializers.Serializer):
        environment = serializers.SlugField(
            max_length=50, help_text="Whose past runs are replayed, and whose live release is the baseline."
        )
        candidate_version = serializers.IntegerField(
            min_value=1,
            max_value=MAX_INT,
            required=False,
            help_text="The version to compare; by default the live one.",
        )
        candidate_override = JsonObjectField(
            required=False,
            help_text="A proposed override (RFC 7396 merge patch); by default the environment's own.",
        )
        last = serializers.IntegerField(
            min_value=1,
            max_value=MAX_INT,
            required=False,
            default=10000,
            help_text="How many of the latest finished runs there to replay (at most "
            "IMPACT_MAX_RUNS, 100,000 by default).",
        )

    @extend_schema(
        operation_id="impact_reports_list",
        summary="List a pipeline's impact reports",
        description="Newest first, cursor-paginated (follow `next`), without their figures and samples: "
        "get a report for them.",
        parameters=[Filters],
        responses={200: ImpactReportSummarySerializer(many=True)},
    )
    def get(self, request, slug):
        filters = self.Filters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        pipeline = config_selectors.pipeline_get(slug)
        number = filters.validated_data.get("version")
        reports = selectors.impact_report_list(pipeline, get_version(pipeline, number) if number else None)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(reports, request, view=self)
        return paginator.get_paginated_response(
            ImpactReportSummarySerializer([report_summary(self, r) for r in page], many=True).data
        )

    @extend_schema(
        operation_id="impact_reports_start",
        summary="Analyse the impact of a change",
        description="Editors and publishers. Replays the latest `last` finished runs in `environment` against its "
        "live release and against the candidate (`candidate_version` and/or `candidate_override`), on "
        "the workers; nothing is written but the report. The answer is 202 with the queued report, its "
        "URL in `Location` and `url`: poll it until `progress.finished`. 400 when the candidate is "
        "exactly what is live, is not valid there, or there are no runs to replay.",
        request=CreateInput,
        responses={
            202: OpenApiResponse(ImpactReportSerializer, description="Queued."),
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
                description="The report's URL.",
            )
        ],
    )
    def post(self, request, slug):
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        pipeline = config_selectors.pipeline_get(slug)
        environment = config_selectors.environment_get(values["environment"])
        version = (
            get_version(pipeline, values["candidate_version"]) if "candidate_version" in values else None
        )
        report = services.impact_start(
            pipeline=pipeline,
            environment=environment,
            actor=request.user,
            last=values["last"],
            version=version,
            override=values.get("candidate_override"),
        )
        body = ImpactReportSerializer(
            report_data(self, selectors.impact_report_get(pipeline, report.pk))
        ).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class ImpactReportDetailView(ApiView):
    @extend_schema(
        operation_id="impact_reports_retrieve",
        summary="Get an impact report",
        description="Its progress, the figures so far (decisions before -> after, flips, each rule's "
        "outcomes before and after, latency) and samples of flipped applications, PII "
        "masked.",
        responses={200: ImpactReportSerializer},
    )
    def get(self, request, slug, report_id):
        report = api_selectors.impact_report_get(config_selectors.pipeline_get(slug), report_id)
        return Response(ImpactReportSerializer(report_data(self, report)).data)


class ImpactReportCancelView(ApiView):
    @extend_schema(
        operation_id="impact_reports_cancel",
        summary="Cancel an impact report",
        description="Editors and publishers. Chunks not yet replayed are not; 400 when the report is "
        "already completed or cancelled.",
        request=None,
        responses={
            200: ImpactReportSerializer,
            400: error_response("The report is already completed or cancelled."),
        },
    )
    def post(self, request, slug, report_id):
        pipeline = config_selectors.pipeline_get(slug)
        report = services.impact_cancel(
            report=api_selectors.impact_report_get(pipeline, report_id), actor=request.user
        )
        report = selectors.impact_report_get(pipeline, report.pk)
        return Response(ImpactReportSerializer(report_data(self, report)).data)
