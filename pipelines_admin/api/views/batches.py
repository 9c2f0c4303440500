"""Batches: upload a file of applications (202), follow its progress, download the
results, cancel it."""

from __future__ import annotations

from django.conf import settings
from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from pipelines_admin.api.base import ApiView
from pipelines_admin.api.negotiation import IgnoreAcceptNegotiation
from pipelines_admin.api.pagination import BatchPagination
from pipelines_admin.api.schema import error_response
from pipelines_admin.api.serializers.runs import BatchSerializer
from pipelines_admin.configs import selectors as config_selectors
from pipelines_admin.core.errors import TooLarge
from pipelines_admin.runs import exports, selectors
from pipelines_admin.runs.batches import batch_cancel, batch_create
from pipelines_admin.runs.models import Run


def batch_data(view: ApiView, batch) -> dict:
    progress = selectors.batch_progress(batch)
    kwargs = {"batch_id": batch.pk}
    return {
        **{
            f: getattr(batch, f)
            for f in (
                "id",
                "pipeline",
                "environment",
                "release",
                "release_id",
                "filename",
                "source",
                "status",
                "submitted_by",
                "total",
                "processed",
                "passed",
                "failed",
                "review",
                "undecided",
                "errored",
                "rejected_rows",
                "created_at",
                "started_at",
                "finished_at",
            )
        },
        "url": view.absolute(reverse("api:batch-detail", kwargs=kwargs)),
        "progress": {
            "percent": progress.percent,
            "rate_per_second": progress.rate_per_second,
            "seconds_left": progress.seconds_left,
            "finished": progress.finished,
        },
        "results": {
            "csv": view.absolute(reverse("api:batch-results-csv", kwargs=kwargs)),
            "jsonl": view.absolute(reverse("api:batch-results-jsonl", kwargs=kwargs)),
        },
    }


class BatchListView(ApiView):
    pagination_class = BatchPagination
    parser_classes = [MultiPartParser]

    class UploadInput(serializers.Serializer):
        pipeline = serializers.SlugField(max_length=80)
        environment = serializers.SlugField(max_length=50)
        file = serializers.FileField(
            help_text="CSV with a header row, JSON Lines, or a JSON array of objects."
        )

    @extend_schema(
        operation_id="batches_list",
        summary="List batches",
        description="Newest first.",
        responses={200: BatchSerializer(many=True)},
    )
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.batch_list().select_related("release__version"), request, view=self
        )
        return paginator.get_paginated_response(
            BatchSerializer([batch_data(self, b) for b in page], many=True).data
        )

    @extend_schema(
        operation_id="batches_upload",
        summary="Upload a file of applications",
        description="Editors and publishers; multipart/form-data. Runs the live release of the environment on "
        "every readable row, in chunks, on the workers: 202 with the batch; follow `url` for "
        "progress. Rows that cannot be read are listed in `rejected_rows`. Over the size limit: 413.",
        request={"multipart/form-data": UploadInput},
        responses={
            202: OpenApiResponse(BatchSerializer, description="Queued."),
            404: error_response("No such pipeline or environment, or the pipeline is not released there."),
        },
        parameters=[
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                OpenApiParameter.HEADER,
                response=[202],
                description="The batch's URL.",
            )
        ],
    )
    def post(self, request):
        data = self.UploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        upload = values["file"]
        if upload.size is not None and upload.size > settings.BATCH_MAX_BYTES:
            raise TooLarge(
                f"The file is {upload.size:,} bytes; the limit is {settings.BATCH_MAX_BYTES:,}.",
                {"limit_bytes": settings.BATCH_MAX_BYTES},
            )
        batch = batch_create(
            pipeline=config_selectors.pipeline_get(values["pipeline"]),
            environment=config_selectors.environment_get(values["environment"]),
            filename=(upload.name or "upload").replace("\x00", ""),
            data=upload.read(settings.BATCH_MAX_BYTES + 1),
            actor=request.user,
            source=Run.Source.API,
        )
        body = BatchSerializer(batch_data(self, selectors.batch_get(batch.pk))).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class BatchDetailView(ApiView):
    @extend_schema(
        operation_id="batches_retrieve",
        summary="Get a batch and its progress",
        responses={200: BatchSerializer},
    )
    def get(self, request, batch_id):
        return Response(BatchSerializer(batch_data(self, selectors.batch_get(batch_id))).data)


class BatchCancelView(ApiView):
    @extend_schema(
        operation_id="batches_cancel",
        summary="Cancel a batch",
        description="Editors and publishers. Chunks not yet written are not run; 400 when the batch "
        "is already completed or cancelled.",
        request=None,
        responses={200: BatchSerializer, 400: error_response("The batch is already completed or cancelled.")},
    )
    def post(self, request, batch_id):
        batch = batch_cancel(batch=selectors.batch_get(batch_id), actor=request.user)
        return Response(BatchSerializer(batch_data(self, selectors.batch_get(batch.pk))).data)


class BatchResultsView(ApiView):
    content_negotiation_class = IgnoreAcceptNegotiation
    fmt = "csv"

    def get(self, request, batch_id):
        batch = selectors.batch_get(batch_id)
        rows, content_type = exports.batch_results_stream(batch, self.fmt)
        response = StreamingHttpResponse(rows, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-results.{self.fmt}"'
        return response


class BatchResultsCsvView(BatchResultsView):
    fmt = "csv"

    @extend_schema(
        operation_id="batches_results_csv",
        summary="Download a batch's results as CSV",
        description="One row per application in file order (masked), then the rejected rows; streamed.",
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request, batch_id):
        return super().get(request, batch_id)


class BatchResultsJsonlView(BatchResultsView):
    fmt = "jsonl"

    @extend_schema(
        operation_id="batches_results_jsonl",
        summary="Download a batch's results as JSON Lines",
        description="One JSON object per application in file order (masked input and result), "
        "then the rejected rows; streamed.",
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR},
    )
    def get(self, request, batch_id):
        return super().get(request, batch_id)
