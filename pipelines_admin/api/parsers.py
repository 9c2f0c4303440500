"""JSON bodies, bounded like Django's own forms: over DATA_UPLOAD_MAX_MEMORY_SIZE is 413.
Text the databases cannot store (NUL characters, lone surrogates) is refused as 400."""

from __future__ import annotations

import io
import sys
from typing import Any

from django.conf import settings
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from pipelines_admin.core.json_data import unstorable


class RequestTooLarge(APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "too_large"


def _limit() -> int | None:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def check_storable(value: Any) -> None:
    """Raise ParseError naming the first text (or key) that no database can store. Depth
    is left to what the body is for (a config's own limit, an application's)."""
    problem = unstorable(value, max_depth=sys.maxsize)
    if problem:
        raise ParseError(problem[:1].upper() + problem[1:] + ".")


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = _limit()
        request = (parser_context or {}).get("request")
        if limit is not None and request is not None:
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                raise RequestTooLarge(
                    f"The request body is {declared:,} bytes: over the limit of {limit:,} bytes."
                )
        body = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(body) > limit:
            raise RequestTooLarge(f"The request body is over the limit of {limit:,} bytes.")
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
        check_storable(data)
        return data
