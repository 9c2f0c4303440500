"""The OpenAPI schema and its two readers (Swagger UI, ReDoc), for logged-in people and
token holders alike: exempt from the console's login middleware, so a token works;
people without a session are sent to the login page instead of getting a 401.

Both readers live under the Content-Security-Policy: Swagger UI's start-up script is
served as a file (`?script`), not inline; ReDoc styles itself with injected <style>
elements, so its page alone allows inline styles (never inline scripts)."""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAuthenticated
from rest_framework.renderers import JSONRenderer


class _Exempt:
    @classmethod
    def as_view(cls, **initkwargs):
        return login_not_required(super().as_view(**initkwargs))

    def finalize_response(self, request, response, *args, **kwargs):
        if getattr(response, "exception", False):  # errors in the API's JSON shape, not as YAML or HTML
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


class _LoginRedirect(_Exempt):
    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)


class SchemaView(_Exempt, SpectacularAPIView):
    pass


class SwaggerView(_LoginRedirect, SpectacularSwaggerSplitView):
    pass


class RedocView(_LoginRedirect, SpectacularRedocView):
    @classmethod
    def as_view(cls, **initkwargs):
        # ReDoc's search runs in a worker it makes from a blob: URL
        return csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]})(
            super().as_view(**initkwargs)
        )
