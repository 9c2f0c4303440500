"""The one exception handler: every failure answers {"message": str, "extra": object}.

- service errors (pipelines_admin.core.errors) keep their status, message and extra;
- DRF's own: invalid input 400 (extra.fields), malformed JSON 400, no or bad credentials
  401 (with WWW-Authenticate), no permission 403, not found 404, method not allowed 405,
  not acceptable 406, unsupported media type 415, throttled 429 (with Retry-After);
- Django's: Http404 404, PermissionDenied 403, RequestDataTooBig 413, other suspicious
  requests 400; the database locked, timing out on a lock or unreachable 503 (with
  Retry-After: nothing is wrong with the request);
- anything else is logged and answers 500 in the same shape, without internals.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from pipelines_admin.core.errors import ServiceError

logger = logging.getLogger("pipelines_admin.api")
#: seconds a client is asked to wait when the database is locked or unreachable
DATABASE_RETRY_AFTER = 5


def error_body(message: str, extra: Any = None) -> dict:
    if extra is None:
        extra = {}
    elif not isinstance(extra, dict):
        extra = {"detail": extra}
    return {"message": message, "extra": extra}


def _text(detail: Any, where: str = "") -> str:
    """The first error of a DRF detail, with the field it is about: "message: This field is required."."""
    if isinstance(detail, list) and detail:
        return _text(detail[0], where)
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        label = key if key != "non_field_errors" else ""
        return _text(value, f"{where}.{label}" if where and label else (label or where))
    return f"{where}: {detail}" if where else str(detail)


def _plain(detail: Any) -> Any:
    """ErrorDetail strings, lists and dicts as plain JSON values."""
    if isinstance(detail, dict):
        return {str(k): _plain(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_plain(v) for v in detail]
    return str(detail)


def _from_api_exception(exc: drf.APIException) -> tuple[int, dict, dict]:
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)  # set by DRF on a 401
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    if isinstance(exc, drf.ValidationError):
        detail = _plain(exc.detail)
        extra = {"fields": detail} if isinstance(detail, dict) else {"errors": detail}
        return exc.status_code, error_body(f"The request is not valid: {_text(detail)}", extra), headers
    if isinstance(exc, drf.Throttled):
        wait = math.ceil(exc.wait) if exc.wait is not None else None  # type: ignore[attr-defined]  # not in the stubs
        if wait is not None:
            headers["Retry-After"] = str(wait)
        message = (
            f"Too many requests: try again in {wait} second{'s' if wait != 1 else ''}."
            if wait is not None
            else "Too many requests: slow down."
        )
        return exc.status_code, error_body(message, {"retry_after": wait}), headers
    if isinstance(exc, drf.NotAuthenticated) and exc.status_code == 401:
        return 401, error_body("Log in, or send an API token as `Authorization: Bearer <token>`."), headers
    return exc.status_code, error_body(_text(exc.detail)), headers


def api_exception_handler(exc: Exception, context: dict) -> Response:
    headers: dict[str, str]
    if isinstance(exc, ServiceError):
        status, body, headers = exc.status, error_body(exc.message, exc.extra), {}
    elif isinstance(exc, drf.APIException):
        status, body, headers = _from_api_exception(exc)
    elif isinstance(exc, Http404):
        status, body, headers = 404, error_body(str(exc) or "Not found."), {}
    elif isinstance(exc, PermissionDenied):
        status, body, headers = 403, error_body(str(exc) or "You do not have permission to do this."), {}
    elif isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        status, body, headers = (
            413,
            error_body(f"The request body is over the limit of {limit:,} bytes.", {"limit_bytes": limit}),
            {},
        )
    elif isinstance(exc, SuspiciousOperation):
        status, body, headers = 400, error_body("The request was refused as malformed."), {}
    elif isinstance(exc, (OperationalError, InterfaceError)):  # locked, lock timeout, connection lost
        request = context.get("request")
        logger.warning(
            "API database unavailable on %s %s: %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            type(exc).__name__,
        )
        status, body, headers = (
            503,
            error_body(
                "The database is busy or unreachable: try again in a few seconds.",
                {"retry_after": DATABASE_RETRY_AFTER},
            ),
            {"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
    else:
        request = context.get("request")
        logger.error(
            "API internal error on %s %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            exc_info=exc,
        )
        status, body, headers = 500, error_body("Internal error: it was logged; try again later."), {}
    set_rollback()
    return Response(body, status=status, headers=headers)
