"""The audit trail: list with filters (cursor-paginated) and a streamed JSON Lines export."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from pipelines_admin.api import selectors
from pipelines_admin.api.base import ApiView
from pipelines_admin.api.negotiation import IgnoreAcceptNegotiation
from pipelines_admin.api.pagination import AuditPagination
from pipelines_admin.api.serializers.audit import AuditEventSerializer
from pipelines_admin.audit.exports import audit_jsonl


class AuditFilters(serializers.Serializer):
    pipeline = serializers.CharField(max_length=80, required=False, help_text="Pipeline slug.")
    environment = serializers.CharField(max_length=50, required=False, help_text="Environment name.")
    action = serializers.CharField(max_length=64, required=False, help_text="e.g. release.created.")
    actor = serializers.CharField(max_length=150, required=False, help_text="Username.")
    since = serializers.DateTimeField(required=False, help_text="Events at or after this time (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Events before this time (ISO 8601).")
    after_sequence = serializers.IntegerField(
        min_value=0,
        max_value=2**62,
        required=False,
        help_text="Only events after this sequence number: what a tool "
        "pulling the trail regularly has not seen yet.",
    )

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["must be after since"]})
        return attrs


def _filters(request) -> dict:
    filters = AuditFilters(data=request.query_params)
    filters.is_valid(raise_exception=True)
    return filters.validated_data


class AuditListView(ApiView):
    pagination_class = AuditPagination

    @extend_schema(
        operation_id="audit_list",
        summary="List audit events",
        description="Newest first, cursor-paginated (follow `next`).",
        parameters=[AuditFilters],
        responses={200: AuditEventSerializer(many=True)},
    )
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.audit_events(_filters(request)), request, view=self)
        return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)


class AuditExportView(ApiView):
    content_negotiation_class = IgnoreAcceptNegotiation

    @extend_schema(
        operation_id="audit_export",
        summary="Export audit events as JSON Lines",
        description="Oldest first (chain order), streamed, one event per line with `prev_hash` and "
        "`hash`, so the chain can be verified outside. Same filters as the list.",
        parameters=[AuditFilters],
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR},
    )
    def get(self, request):
        events = selectors.audit_events(_filters(request)).order_by("sequence")

        response = StreamingHttpResponse(
            audit_jsonl(events.iterator(chunk_size=1000)), content_type="application/x-ndjson; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="audit.jsonl"'
        return response
