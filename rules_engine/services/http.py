"""A generic HTTP JSON adapter for real vendors (or a gateway in front of them).

Each interface operation (``verify_identity``, ``screen``, ...; see
:mod:`rules_engine.services.interfaces`) becomes a POST of
``{"operation": <name>, "payload": <payload>}`` as JSON to ``<url>/<operation>`` (or to
``<url>`` itself with ``append_operation=False``); the answer must be a JSON object,
which is returned as it is.

The secret (an API key) is never stored: the adapter keeps the *name* of an
environment variable, reads it at each call and sends it as
``Authorization: Bearer <secret>``. It appears in no message, log or repr.

With ``retries`` (0 by default, at most 5), a call that failed in a way that may pass
on its own (no answer in time, no connection, HTTP 429 or 5xx) is sent again, up to
that many more times, after ``retry_backoff_seconds`` doubling each time. Other
failures (4xx, an answer that is not a JSON object, an unset secret) are not retried.
The longest a call can take is :meth:`HttpServiceAdapter.longest_call_seconds`.

Under the executor's :func:`~.interfaces.call_deadline` a call also ends by that
deadline (``bounds_calls``): each wait on the network (connecting, reading) is given at
most the time left, the answer is read in pieces with the deadline checked between
them, and no retry starts after it. Past the deadline the call raises
:class:`ServiceTimeout`. A server that trickles its headers byte by byte can still hold
a call for one more wait than the time left.

Failures raise, so the rule is reported as ``error`` and may be retried by the rule's
own ``retry`` settings too:

- :class:`ServiceTimeout`: no answer within ``timeout_seconds``;
- :class:`ServiceHTTPError` (a ServiceUnavailable): a non-2xx status;
- :class:`ServiceUnavailable`: connection refused, DNS failure, ...;
- :class:`ServiceResponseError`: the body is not JSON, or not a JSON object;
- :class:`ServiceConfigurationError`: the secret variable is not set.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from rules_engine.services.interfaces import (
    INTERFACES,
    ServiceConfigurationError,
    ServiceHTTPError,
    ServiceResponseError,
    ServiceTimeout,
    ServiceUnavailable,
    call_time_left,
)

__all__ = ["HttpServiceAdapter", "longest_call_seconds"]

USER_AGENT = "rules-engine-http-adapter/1"
MAX_RETRIES = 5
RETRY_BACKOFF_SECONDS = 0.2


def longest_call_seconds(
    timeout_seconds: float, retries: int = 0, retry_backoff_seconds: float = RETRY_BACKOFF_SECONDS
) -> float:
    """How long a call may take at the most: every attempt timing out, and the waits."""
    waits = sum(retry_backoff_seconds * 2.0**n for n in range(retries))
    return timeout_seconds * (retries + 1) + waits


def _transient(error: Exception) -> bool:
    """Whether a failed call may pass if sent again."""
    if isinstance(error, ServiceHTTPError):
        return error.status == 429 or error.status >= 500
    return isinstance(error, (ServiceTimeout, ServiceUnavailable))


class HttpServiceAdapter:
    """Calls one vendor endpoint over HTTP with JSON, for one service interface."""

    #: a call waits on the network
    waits_on_io = True
    #: a call ends by the executor's call deadline
    bounds_calls = True

    def __init__(
        self,
        interface: str,
        name: str,
        url: str,
        *,
        timeout_seconds: float = 5.0,
        secret_env: str | None = None,
        headers: Mapping[str, str] | None = None,
        append_operation: bool = True,
        retries: int = 0,
        retry_backoff_seconds: float = RETRY_BACKOFF_SECONDS,
    ):
        if interface not in INTERFACES:
            raise ValueError(
                f"unknown service interface {interface!r}; known: {', '.join(sorted(INTERFACES))}"
            )
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url {url!r} must start with http:// or https://")
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        if not 0 <= int(retries) <= MAX_RETRIES:
            raise ValueError(f"retries must be between 0 and {MAX_RETRIES}")
        if retry_backoff_seconds < 0:
            raise ValueError("retry_backoff_seconds must not be negative")
        self.retries = int(retries)
        self.retry_backoff_seconds = float(retry_backoff_seconds)
        self.interface = interface
        self.name = name
        self.url = url.rstrip("/")
        self.timeout_seconds = float(timeout_seconds)
        self.secret_env = secret_env
        self.headers = dict(headers or {})
        self.append_operation = append_operation
        self.operations = INTERFACES[interface]

    def __repr__(self) -> str:
        secret = f", secret_env={self.secret_env!r}" if self.secret_env else ""
        retries = f", retries={self.retries}" if self.retries else ""
        return (
            f"HttpServiceAdapter({self.interface}:{self.name}, {self.url!r}, timeout={self.timeout_seconds}"
            f"{retries}{secret})"
        )

    def longest_call_seconds(self) -> float:
        """How long a call may take at the most: every attempt timing out, and the waits."""
        return longest_call_seconds(self.timeout_seconds, self.retries, self.retry_backoff_seconds)

    def __getattr__(self, operation: str) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
        # Only called for attributes not found normally: the interface's operations.
        if operation.startswith("_") or operation not in self.__dict__.get("operations", ()):
            raise AttributeError(
                f"{type(self).__name__} for {self.__dict__.get('interface')} has no operation {operation!r}"
            )
        return lambda payload: self.call(operation, payload)

    def _endpoint(self, operation: str) -> str:
        return f"{self.url}/{operation}" if self.append_operation else self.url

    def call(self, operation: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST the operation and its payload; the JSON object answered. A transient
        failure is tried again up to ``retries`` times; the last failure is raised."""
        attempt = 0
        while True:
            try:
                return self._call_once(operation, payload)
            except (ServiceTimeout, ServiceUnavailable) as error:
                if attempt >= self.retries or not _transient(error):
                    raise
                backoff = self.retry_backoff_seconds * 2**attempt
                left = call_time_left()
                if left is not None and left < backoff:  # the next try would start too late
                    time.sleep(max(left, 0.0))
                    raise
                time.sleep(backoff)
                attempt += 1

    def _call_once(self, operation: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        label = f"{self.interface}:{self.name} {operation}"
        timeout = self.timeout_seconds
        left = call_time_left()
        if left is not None:
            if left <= 0:
                raise ServiceTimeout(f"{label}: no time left before the call's deadline")
            timeout = min(timeout, left)
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            **self.headers,
        }
        if self.secret_env:
            secret = os.environ.get(self.secret_env)
            if not secret:
                raise ServiceConfigurationError(
                    f"{label}: environment variable {self.secret_env} (the service's secret) is not set"
                )
            headers["Authorization"] = f"Bearer {secret}"
        body = json.dumps({"operation": operation, "payload": payload}, default=str).encode("utf-8")
        # S310: the url was checked to be http:// or https:// when the adapter was made
        request = urllib.request.Request(self._endpoint(operation), data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                raw = _read_body(response, label)
        except urllib.error.HTTPError as error:
            error.close()
            raise ServiceHTTPError(f"{label}: HTTP {error.code} {error.reason}", error.code) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, (TimeoutError, socket.timeout)):
                raise ServiceTimeout(f"{label}: no answer within {timeout:g}s") from None
            raise ServiceUnavailable(
                f"{label}: cannot reach {self._endpoint(operation)}: {error.reason}"
            ) from None
        except TimeoutError:
            raise ServiceTimeout(f"{label}: no answer within {timeout:g}s") from None
        except (ConnectionError, OSError) as error:
            raise ServiceUnavailable(f"{label}: connection failed: {error}") from None
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ServiceResponseError(f"{label}: the answer is not valid JSON") from None
        if not isinstance(answer, dict):
            raise ServiceResponseError(f"{label}: the answer is JSON but not an object")
        return answer


_READ_CHUNK = 64 * 1024


def _read_body(response: Any, label: str) -> bytes:
    """The whole body; under a call deadline, read in pieces and given up once it passes."""
    if call_time_left() is None:
        body: bytes = response.read()
        return body
    chunks = []
    while chunk := response.read(_READ_CHUNK):
        chunks.append(chunk)
        left = call_time_left()
        if left is not None and left <= 0:
            raise ServiceTimeout(f"{label}: the answer was not read before the call's deadline")
    return b"".join(chunks)
