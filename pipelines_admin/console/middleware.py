"""The console's error boundary: a domain error raised from a console view (not found,
not allowed, changed meanwhile, not accepted) becomes the console's error page with the
error's status, so views call services and selectors without catching what they cannot
answer better themselves. A view that can show the error beside what the user typed
still catches it and re-renders its form.

An htmx request is answered with the same status and the error as a fragment, and asks
the browser to reload the page (htmx swaps no error response), which then shows the
message at the top: the page is drawn again as it is now."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRefresh

from pipelines_admin.configs.editing import DocumentEditError
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.core.errors import ServiceError

CONSOLE_NAMESPACE = "console"
TITLES = {
    400: "Not accepted",
    403: "Not allowed",
    404: "Not found",
    409: "Changed meanwhile",
    412: "Changed meanwhile",
    413: "Too large",
    428: "Changed meanwhile",
}
CONFLICT_STATUSES = {409, 412, 428}


@dataclass
class Problem:
    """What the error page says: the status, the message, the problems of the input
    (each with its path) and, for a change refused as stale, what changed meanwhile."""

    status: int
    message: str
    extra: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return TITLES.get(self.status, "Not done")

    @property
    def problems(self) -> list:
        return list(self.extra.get("problems") or [])

    @property
    def conflict(self) -> dict | None:
        return self.extra if self.status in CONFLICT_STATUSES else None


def problem_of(exception: Exception) -> Problem | None:
    """The page an exception calls for; None for one the console does not answer."""
    if isinstance(exception, ServiceError):
        extra = exception.extra if isinstance(exception.extra, dict) else {}
        return Problem(exception.status, exception.message, extra)
    if isinstance(exception, DocumentEditError):  # no such stage or rule in that version
        return Problem(404, str(exception))
    return None


def _back(request) -> str:
    """The page the user came from, when it is one of ours."""
    referer = request.headers.get("referer", "")
    safe = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return referer if safe and referer != request.build_absolute_uri() else ""


class ConsoleErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request: HtmxHttpRequest, exception: Exception) -> HttpResponse | None:
        match = request.resolver_match
        if match is None or CONSOLE_NAMESPACE not in match.namespaces:
            return None
        problem = problem_of(exception)
        if problem is None:
            return None
        context = {"problem": problem, "message": problem.message, "back": _back(request)}
        if request.htmx:
            messages.error(request, problem.message)
            response = HttpResponseClientRefresh()
            response.status_code = problem.status
            response.content = render_to_string("console/error.html#problem", context, request=request)
            return response
        return render(request, "console/error.html", context, status=problem.status)
