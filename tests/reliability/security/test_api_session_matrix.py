"""The API's permission table (tests/pipelines_admin/api/test_permission_matrix.py, checked
there with API tokens) holds for a console session too: a browser that is logged in
gets no more from the API than its role allows. A session may create API tokens (a
token may not), the one difference."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from pipelines_admin.tokens.services import token_create
from tests.pipelines_admin.api import test_permission_matrix as api_matrix
from tests.pipelines_admin.conftest import make_user
from tests.reliability.security.conftest import ROLES

pytestmark = pytest.mark.django_db

world = api_matrix.world  # the API table's installation (a fixture)

SESSION_DIFFERS = {
    ("api:token-list", "POST"): {"anonymous": 401, **{role: 201 for role in ROLES[1:]}},
}


def expected(name: str, method: str) -> dict[str, int]:
    return SESSION_DIFFERS.get((name, method), api_matrix.EXPECTED[(name, method)])


ENDPOINTS = sorted({(name, method) for name, method, _role in api_matrix.cases()})


@pytest.mark.parametrize("name,method", ENDPOINTS, ids=lambda v: v)
def test_api_endpoint__console_session_of_each_role__same_status_as_with_a_token(
    name, method, world, request, django_user_model
):
    converters, _view = api_matrix.ROUTES[name]
    mismatches = []
    for role in ROLES:
        with transaction.atomic():  # every role starts from the same state
            # Given a browser logged in to the console in this role (or nobody)
            if role == "anonymous":
                user = None
            elif role == "roleless":
                user = make_user(django_user_model, "nora")
            else:
                user = request.getfixturevalue(role)
            client = APIClient()  # CSRF is not enforced here: see test_csrf.py for that
            if user is not None:
                client.force_login(user)
            owner = user if user is not None else request.getfixturevalue("editor")
            token = token_create(user=owner, name="session matrix").token
            kwargs = api_matrix.sample_kwargs(converters, world, token, name)
            path = reverse(name, kwargs=kwargs)
            # When it calls the endpoint with a valid request
            if (name, method) == ("api:batch-list", "POST"):
                upload = SimpleUploadedFile(
                    "apps.jsonl", json.dumps(api_matrix.APPLICANT).encode(), "application/x-ndjson"
                )
                response = client.post(
                    path,
                    {"pipeline": "onboarding", "environment": "development", "file": upload},
                    format="multipart",
                )
            else:
                payload = api_matrix.BODIES.get((name, method))
                if name == "api:rollback":
                    payload = {"release_id": world["first_release"].pk, "reason": "undo the override"}
                if name == "api:change-request-schedule":
                    payload = api_matrix.schedule_body()
                response = client.generic(
                    method,
                    path,
                    json.dumps(payload) if payload is not None else "",
                    content_type="application/json",
                    **api_matrix.if_match(name, method, kwargs),
                )
            transaction.set_rollback(True)
        # Then it gets the status its role allows
        if response.status_code != expected(name, method)[role]:
            mismatches.append(
                f"{role}: expected {expected(name, method)[role]}, got {response.status_code} "
                f"{getattr(response, 'content', b'')[:200]!r}"
            )
    assert not mismatches, f"{method} {name}\n" + "\n".join(mismatches)
