"""Validate a pipeline document without saving it."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from pipelines_admin.api.base import ApiView
from pipelines_admin.api.serializers.common import ProblemSerializer
from pipelines_admin.configs import selectors
from pipelines_admin.configs.engine import document_problems


@extend_schema_field(OpenApiTypes.OBJECT)
class AnyDocumentField(serializers.JSONField):
    """Documented as an object; anything else is accepted too, and reported as a problem."""


class ValidateView(ApiView):
    class Input(serializers.Serializer):
        document = AnyDocumentField(help_text="A pipeline config, as JSON.")
        environment = serializers.SlugField(
            max_length=50,
            required=False,
            help_text="Also check that every service the document names is bound in this environment.",
        )

    class Output(serializers.Serializer):
        valid = serializers.BooleanField()
        problems = ProblemSerializer(
            many=True, help_text="Every problem at once, each with its JSON-pointer path."
        )

    @extend_schema(
        operation_id="validate",
        summary="Validate a document without saving it",
        description="Any role. 200 whether or not the document is valid: `valid` says which, "
        "`problems` lists every problem with the JSON pointer of where it is.",
        request=Input,
        responses={200: Output},
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        name = data.validated_data.get("environment")
        environment = selectors.environment_get(name) if name else None
        problems = document_problems(data.validated_data["document"], environment)
        return Response(self.Output({"valid": not problems, "problems": problems}).data)
