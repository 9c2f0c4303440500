"""Optimistic concurrency over HTTP: reads carry the thing's revision as an ETag, writes
must send it back as If-Match (428 without it, 412 when it is no longer the newest)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from pipelines_admin.api.schema import error_response
from pipelines_admin.core.revisions import MISSING

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="The ETag of the read this change is based on. Without it: 428. When something changed it "
    "since: 412, with what changed in `extra`, and nothing is written.",
)
STALE = error_response(
    "Changed since the ETag sent in If-Match: nothing was written; `extra.revision` is the "
    "newest and `extra` says what changed. Read it again and redo the change."
)
REVISION_REQUIRED = error_response("If-Match is missing: send the ETag of the read the change is based on.")
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description="The revision: send it as If-Match to change what you read.",
)


def etag(revision: str) -> str:
    return f'"{revision}"'


def base_revision(request) -> str:
    """The revision in If-Match (quotes and a weak prefix removed), or MISSING: the
    service refuses that with 428 once it has checked the user's role."""
    value = request.headers.get("If-Match", "").strip()
    if not value or value == "*":
        return MISSING
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


def with_etag(response: Response, revision: str) -> Response:
    response["ETag"] = etag(revision)
    return response
