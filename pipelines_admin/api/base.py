"""The base of every API view."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from rest_framework.views import APIView

from pipelines_admin.api.permissions import CanRead


class ApiView(APIView):
    """An API operation. The console's LoginRequiredMiddleware would redirect API clients
    to the login page; API views answer 401 themselves (DRF authentication, then
    CanRead), so they are exempt from it."""

    permission_classes = [CanRead]

    @classmethod
    def as_view(cls, **initkwargs):
        return login_not_required(super().as_view(**initkwargs))

    def absolute(self, path: str) -> str:
        return self.request.build_absolute_uri(path)
