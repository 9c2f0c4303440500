"""The console's pages are for people with a console role: a logged-in account without
one (a new account nobody has given a role yet) is refused every console page, as the
API refuses it (403). Its own API tokens page, logging out and the admin (superusers only)
stay open to it."""

from __future__ import annotations

from django.shortcuts import render

from pipelines_admin.accounts.permissions import READ, can

GUARDED_NAMESPACES = {"console"}


class ConsoleRoleRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or not GUARDED_NAMESPACES.intersection(match.namespaces):
            return None
        user = request.user
        if not user.is_authenticated or can(user, READ):
            return None  # anonymous people are sent to the login page by LoginRequiredMiddleware
        return render(
            request,
            "console/error.html",
            {
                "message": "Your account has no console role yet: ask an administrator to give you one.",
            },
            status=403,
        )
