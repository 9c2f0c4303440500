"""Query parameters holding a NUL character are refused (400) before any view reads them:
PostgreSQL cannot store or compare such text, so a filter given one would otherwise fail
inside the query (500). API clients get the API's error shape."""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse

MESSAGE = "A query parameter holds a NUL character (\\x00 or %00): no value can contain one."


class RejectNulQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"message": MESSAGE, "extra": {}}, status=400)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
