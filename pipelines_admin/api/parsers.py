"""JSON bodies, bounded like Django's own forms: over DATA_UPLOAD_MAX_MEMORY_SIZE is 413.
Text the databases cannot store (NUL characters, lone surrogates) is refused as 400."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser


class RequestTooLarge(APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "too_large"


def _limit() -> int | None:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def check_storable(value: Any, path: str = "") -> None:
    """Raise ParseError naming the first string (or key) that no database can store."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, where or "/")
                stack.append((child, f"{where}/{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{where}/{i}") for i, child in enumerate(item))
        elif isinstance(item, str):
            _check_text(item, where or "/")


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise ParseError(f"Text at {where} contains a NUL character.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError(f"Text at {where} is not valid Unicode (a lone surrogate).") from None


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
