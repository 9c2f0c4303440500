"""How the API describes itself (drf-spectacular): the token scheme, and the error
responses every operation can give, in the one error shape, so clients and schema
tests see every status the API answers with."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from pipelines_admin.api.serializers.common import ErrorSerializer

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `extra.fields` names each invalid field, `extra.problems` each problem of a "
    "document with its JSON-pointer path.",
    "401": "No credentials, or a token that is not valid (revoked, mistyped).",
    "403": "Your role does not allow this.",
    "404": "Not found: a pipeline, environment, version, run... named in the path, a filter or the body "
    "does not exist (or the pagination cursor is not valid).",
    "409": "Conflict: what you based the change on has changed since.",
    "413": "The request body or uploaded file is over its size limit.",
    "415": "Unsupported media type: send JSON (or multipart for uploads).",
    "429": "Too many requests: wait the seconds in `Retry-After`.",
}
HEADERS = {
    "401": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "How to authenticate."}},
    "429": {
        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}
    },
}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "pipelines_admin.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (create one at /account/tokens/ or POST /api/v1/tokens/).",
        }


class ApiAutoSchema(AutoSchema):
    """Tags each operation by its view module, and adds the standard error responses."""

    def get_serializer_name(self, serializer, direction):
        """Nested serializers (a view's Input, Output...) are named after their view:
        PipelineListView.CreateInput -> PipelineListCreateInput."""
        qualname = type(serializer).__qualname__
        if "." in qualname and type(serializer).__module__.startswith("pipelines_admin.api."):
            outer, inner = qualname.rsplit(".", 1)
            return outer.split(".")[-1].removesuffix("View") + inner
        return super().get_serializer_name(serializer, direction)

    def get_tags(self) -> list[str]:
        module = type(self.view).__module__
        if module.startswith("pipelines_admin.api.views."):
            return [module.rsplit(".", 1)[-1]]
        return super().get_tags()

    def error_codes(self, operation: dict) -> set[str]:
        params = operation.get("parameters", [])
        # 404: a path or filter naming nothing, a stale cursor
        codes = {"401", "403", "404", "429"}
        if any(p.get("in") == "query" for p in params) or "requestBody" in operation:
            codes.add("400")
        if "requestBody" in operation:
            codes |= {"413", "415"}
        return codes

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self.error_codes(operation):
            if code not in responses:
                response = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]),
                    code,
                    media_types=["application/json"],
                )
                if code in HEADERS:
                    response = {"headers": HEADERS[code], **response}
                responses[code] = response
        operation["responses"] = dict(sorted(responses.items()))
        return operation


def error_response(description: str) -> OpenApiResponse:
    """An error response in the one error shape, for @extend_schema(responses=...)."""
    return OpenApiResponse(ErrorSerializer, description=description)
