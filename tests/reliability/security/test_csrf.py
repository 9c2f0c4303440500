"""CSRF: every form of the console (every POST the permission matrix lists, which covers
every URL) is refused without the CSRF token, and changes nothing; the same request
with the token goes through. The API wants the token from a console session (DRF's
SessionAuthentication) and not from an API token, which a browser never sends by itself."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from pipelines_admin.tokens.services import token_create
from tests.pipelines_admin.api import test_permission_matrix as api_matrix
from tests.reliability.security import test_permission_matrix as matrix

pytestmark = pytest.mark.django_db

world = api_matrix.world  # the API table's installation (a fixture)

POSTS = [case for case in matrix.CASES if case.method == "POST"]


def csrf_client(user) -> tuple[Client, str]:
    """A client that enforces CSRF as a browser's request would meet it, and its token."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.get(reverse("tokens:list" if user is not None else "login"))  # a form's page sets the CSRF cookie
    return client, client.cookies["csrftoken"].value


@pytest.mark.parametrize("case", POSTS, ids=lambda c: c.id)
def test_console_form__posted_without_csrf_token__403_and_nothing_changed(case, estate, user_in_role):
    # Given a superuser's session (the user whom every form lets through) and the form's valid data
    user = None if case.name == "login" else user_in_role("superuser")
    path = reverse(
        case.name, kwargs=matrix.url_kwargs(case.name, matrix.ROUTES[case.name], estate, case.variant)
    )
    scraper = Client()
    scraper.force_login(user_in_role("superuser"))
    headers = {"HTTP_HX_REQUEST": "true"} if case.variant == "htmx" else {}
    client, token = csrf_client(user)
    with transaction.atomic():
        data = matrix.body(case, path, estate, scraper)
        before = matrix.state()
        # When it is posted from another site (no CSRF token)
        refused = client.post(path, data, **headers)
        # Then it is refused and changed nothing
        assert refused.status_code == 403, (path, refused.status_code)
        assert b"CSRF" in refused.content
        assert matrix.state() == before
        transaction.set_rollback(True)
    # And with the page's token the same request is not refused as forged
    with transaction.atomic():
        data = matrix.body(case, path, estate, scraper)
        accepted = client.post(path, data, HTTP_X_CSRFTOKEN=token, **headers)
        # (every console page names the token's header, X-CSRFToken: a role's own refusal,
        # such as revising someone else's change request, is not a forgery refused)
        assert not (accepted.status_code == 403 and b"CSRF verification failed" in accepted.content), path
        transaction.set_rollback(True)


UNSAFE = sorted(
    (name, method)
    for (name, method), row in api_matrix.EXPECTED.items()
    if method != "GET" and row["editor"] < 300 and name != "api:validate"
)


def api_request(client, name, method, world, token):
    converters, _view = api_matrix.ROUTES[name]
    kwargs = api_matrix.sample_kwargs(converters, world, token, name)
    path = reverse(name, kwargs=kwargs)
    if (name, method) == ("api:batch-list", "POST"):
        upload = SimpleUploadedFile(
            "apps.jsonl", json.dumps(api_matrix.APPLICANT).encode(), "application/x-ndjson"
        )
        return client.post(
            path, {"pipeline": "onboarding", "environment": "development", "file": upload}, format="multipart"
        )
    payload = api_matrix.BODIES.get((name, method))
    if name == "api:change-request-schedule":
        payload = api_matrix.schedule_body()
    if name == "api:rollback":
        payload = {"release_id": world["first_release"].pk, "reason": "undo the override"}
    return client.generic(
        method,
        path,
        json.dumps(payload) if payload is not None else "",
        content_type="application/json",
        **api_matrix.if_match(name, method, kwargs),
    )


@pytest.mark.parametrize("name,method", UNSAFE, ids=lambda v: v)
def test_api_write__session_without_csrf_token__403_but_api_token_needs_none(name, method, world, editor):
    # Given an editor's console session in a client that checks CSRF like a browser request
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(editor)
    own = token_create(user=editor, name="csrf check")
    with transaction.atomic():
        before = matrix.state()
        # When the session sends a write without the CSRF token
        response = api_request(session, name, method, world, own.token)
        # Then it is refused as forged, and nothing changed
        assert response.status_code == 403, (name, method, response.status_code)
        assert "CSRF" in response.json()["message"]
        assert matrix.state() == before
        transaction.set_rollback(True)
    # And the same write with the editor's API token needs no CSRF token
    with transaction.atomic():
        token_client = APIClient(enforce_csrf_checks=True)
        token_client.credentials(HTTP_AUTHORIZATION=f"Bearer {own.secret}")
        response = api_request(token_client, name, method, world, own.token)
        assert response.status_code == api_matrix.EXPECTED[(name, method)]["editor"], response.content[:300]
        transaction.set_rollback(True)
