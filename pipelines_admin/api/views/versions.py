"""Config versions: list, get, create from a document and its base version, diff."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from pipelines_admin.api.base import ApiView
from pipelines_admin.api.serializers.common import MAX_INT, JsonObjectField
from pipelines_admin.api.serializers.pipelines import (
    DiffSerializer,
    VersionConflictSerializer,
    VersionSerializer,
    VersionSummarySerializer,
)
from pipelines_admin.configs import selectors, services
from pipelines_admin.core.errors import NotFound


def version_url(view: ApiView, version) -> str:
    return view.absolute(
        reverse("api:version-detail", kwargs={"slug": version.pipeline.slug, "number": version.number})
    )


def version_data(view: ApiView, version) -> dict:
    return {
        "number": version.number,
        "content_hash": version.content_hash,
        "parent": version.parent,
        "author": version.author,
        "message": version.message,
        "created_at": version.created_at,
        "url": version_url(view, version),
        "pipeline": version.pipeline,
        "document": version.document,
    }


def get_version(pipeline, number: int):
    if not 1 <= number <= MAX_INT:
        raise NotFound(f"{pipeline.slug} has no version {number}.", {"version": number})
    return selectors.version_get(pipeline, number)


class VersionListView(ApiView):
    class CreateInput(serializers.Serializer):
        document = JsonObjectField(help_text="The whole new config.")
        base_version = serializers.IntegerField(
            min_value=1,
            max_value=MAX_INT,
            allow_null=True,
            help_text="The version you started from (null for a pipeline without versions). When another "
            "version was saved since, nothing is saved and the answer is 409 with the changes.",
        )
        message = serializers.CharField(max_length=500, help_text="What changed, and why.")

    @extend_schema(
        operation_id="versions_list",
        summary="List a pipeline's versions",
        description="Newest first, without their documents.",
        responses={200: VersionSummarySerializer(many=True)},
    )
    def get(self, request, slug):
        pipeline = selectors.pipeline_get(slug)
        versions = pipeline.versions.select_related("pipeline", "parent", "author").order_by("-number")
        return Response(VersionSummarySerializer([version_data(self, v) for v in versions], many=True).data)

    @extend_schema(
        operation_id="versions_create",
        summary="Save a new version",
        description="Editors and publishers. The document is validated first (400 with `extra.problems`). "
        "A stale `base_version` is a conflict (409): `extra` holds the latest version number and "
        "what changed since your base, semantic and as a unified diff.",
        request=CreateInput,
        responses={
            201: VersionSerializer,
            409: OpenApiResponse(VersionConflictSerializer, description="Your base version is stale."),
        },
    )
    def post(self, request, slug):
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        pipeline = selectors.pipeline_get(slug)
        number = data.validated_data["base_version"]
        base = get_version(pipeline, number) if number is not None else None
        version = services.config_version_create(
            pipeline=pipeline,
            document=data.validated_data["document"],
            base_version=base,
            author=request.user,
            message=data.validated_data["message"],
        )
        body = VersionSerializer(version_data(self, version)).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})


class VersionDetailView(ApiView):
    @extend_schema(
        operation_id="versions_retrieve",
        summary="Get a version with its document",
        responses={200: VersionSerializer},
    )
    def get(self, request, slug, number):
        version = get_version(selectors.pipeline_get(slug), number)
        return Response(VersionSerializer(version_data(self, version)).data)


class VersionDiffView(ApiView):
    @extend_schema(
        operation_id="versions_diff",
        summary="What changed between two versions",
        responses={200: DiffSerializer},
    )
    def get(self, request, slug, number, other):
        pipeline = selectors.pipeline_get(slug)
        diff = selectors.versions_diff(get_version(pipeline, number), get_version(pipeline, other))
        return Response(DiffSerializer(diff).data)
