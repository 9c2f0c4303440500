"""Any other path under /api/: 404 in the API's error shape (not the console's HTML page)."""

from __future__ import annotations

from django.urls import Resolver404, resolve
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny

from pipelines_admin.api.base import ApiView
from pipelines_admin.core.errors import NotFound


@extend_schema(exclude=True)
class UnknownPathView(ApiView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []

    def _not_found(self, request, *args, **kwargs):
        extra = {"path": request.path}
        if not request.path.endswith("/"):
            try:
                match = resolve(request.path + "/")
            except Resolver404:
                match = None
            if match is not None and getattr(match.func, "cls", None) is not UnknownPathView:
                extra["did_you_mean"] = request.path + "/"
        raise NotFound("There is no such API endpoint; see /api/schema/swagger-ui/.", extra)

    get = post = put = patch = delete = head = options = _not_found
