"""Pipelines: list, create from a document, detail."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from pipelines_admin.api.base import ApiView
from pipelines_admin.api.schema import error_response
from pipelines_admin.api.serializers.common import JsonObjectField
from pipelines_admin.api.serializers.pipelines import PipelineSerializer
from pipelines_admin.configs import selectors, services


def pipeline_data(view: ApiView, pipeline, latest_version: int | None, live: dict, environments) -> dict:
    """The API's view of a pipeline; `live` maps environment id -> live release."""
    return {
        "slug": pipeline.slug,
        "name": pipeline.name,
        "description": pipeline.description,
        "pii_fields": pipeline.pii_fields,
        "created_at": pipeline.created_at,
        "created_by": pipeline.created_by,
        "latest_version": latest_version,
        "url": view.absolute(reverse("api:pipeline-detail", kwargs={"slug": pipeline.slug})),
        "environments": [{"environment": e, "live": live.get(e.pk)} for e in environments],
    }


class PipelineListView(ApiView):
    class CreateInput(serializers.Serializer):
        slug = serializers.SlugField(max_length=80)
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")
        document = JsonObjectField(help_text="The pipeline's config (the seed's format); becomes version 1.")
        message = serializers.CharField(max_length=500, required=False, default="First version")

    @extend_schema(
        operation_id="pipelines_list",
        summary="List pipelines",
        description="Every pipeline with its latest version and what runs in each environment.",
        responses={200: PipelineSerializer(many=True)},
    )
    def get(self, request):
        environments = list(selectors.environment_list())
        rows = [
            pipeline_data(
                self,
                row.pipeline,
                row.latest_version,
                {e.pk: r for e, r in zip(environments, row.live, strict=True) if r is not None},
                environments,
            )
            for row in selectors.pipeline_overview()
        ]
        return Response(PipelineSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="pipelines_create",
        summary="Create a pipeline from a document",
        description="Editors and publishers. The document is validated (every problem with its "
        "JSON-pointer path in `extra.problems`) and saved as version 1.",
        request=CreateInput,
        responses={201: PipelineSerializer, 409: error_response("A pipeline with this slug already exists.")},
    )
    def post(self, request):
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        pipeline = services.pipeline_create(author=request.user, **data.validated_data)
        body = pipeline_data(self, pipeline, 1, {}, selectors.environment_list())
        return Response(
            PipelineSerializer(body).data, status=status.HTTP_201_CREATED, headers={"Location": body["url"]}
        )


class PipelineDetailView(ApiView):
    @extend_schema(
        operation_id="pipelines_retrieve", summary="Get a pipeline", responses={200: PipelineSerializer}
    )
    def get(self, request, slug):
        pipeline = selectors.pipeline_get(slug)
        latest = selectors.version_latest(pipeline)
        live = {r.environment_id: r for r in selectors.live_releases(pipeline).values()}
        body = pipeline_data(
            self, pipeline, latest.number if latest else None, live, selectors.environment_list()
        )
        return Response(PipelineSerializer(body).data)
