"""API tokens over HTTP: created with a password (shown once, stored hashed), listed
without secrets, revoked (then 401); a token cannot create tokens."""

import base64
import hashlib

import pytest
from rest_framework.test import APIClient

from pipelines_admin.tokens.models import ApiToken
from pipelines_admin.tokens.services import token_create
from tests.pipelines_admin.api.conftest import assert_error

pytestmark = pytest.mark.django_db


def basic(username, password):
    client = APIClient()
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {encoded}")
    return client


def test_token_create__password__201_secret_once_stored_hashed(editor):
    # Given an editor's username and password / When they create a token over HTTP Basic
    response = basic("eddie", "eddie-password-1").post(
        "/api/v1/tokens/", {"name": "release job"}, format="json"
    )
    # Then 201 with the secret, which is stored only as its SHA-256, with a prefix to recognise it
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    body = response.json()
    secret = body["token"]
    token = ApiToken.objects.get(pk=body["id"])
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert secret.startswith(token.prefix) and body["prefix"] == token.prefix
    # and it works, and is never shown again
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    listed = client.get("/api/v1/tokens/").json()
    assert [t["name"] for t in listed] == ["release job"] and "token" not in listed[0]
    assert secret not in client.get("/api/v1/tokens/").content.decode()


def test_token_create__wrong_password__401_basic_challenge(editor):
    # Given a wrong password / When a token is asked for / Then 401 with a Basic challenge
    response = basic("eddie", "wrong").post("/api/v1/tokens/", {"name": "x"}, format="json")
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Basic")


def test_token_create__with_a_token__403(token_client, editor):
    # Given a token / When it asks for another / Then 403: tokens cannot mint tokens
    response = token_client(editor).post("/api/v1/tokens/", {"name": "x"}, format="json")
    assert "not with a token" in assert_error(response, 403)["message"]


def test_token_create__session__201(editor):
    # Given a console session / When a token is asked for / Then it is created
    client = APIClient()
    client.force_login(editor)
    assert client.post("/api/v1/tokens/", {"name": "from the console"}, format="json").status_code == 201


def test_token_revoke__own__204_then_401(editor):
    # Given a token / When its owner revokes it (with it)
    secret = basic("eddie", "eddie-password-1").post("/api/v1/tokens/", {"name": "ci"}, format="json").json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret['token']}")
    assert client.delete(f"/api/v1/tokens/{secret['id']}/").status_code == 204
    # Then it no longer authenticates, and stays listed as revoked
    assert "revoked" in assert_error(client.get("/api/v1/pipelines/"), 401)["message"]
    listed = basic("eddie", "eddie-password-1").get("/api/v1/tokens/").json()
    assert listed[0]["active"] is False and listed[0]["revoked_at"]


def test_token_revoke__someone_elses__404(token_client, editor, viewer):
    # Given a viewer's token / When an editor tries to revoke it / Then 404, and it still works
    theirs = token_create(user=viewer, name="theirs").token
    assert_error(token_client(editor).delete(f"/api/v1/tokens/{theirs.pk}/"), 404)
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None


def test_token__inactive_user__401(token_client, editor):
    # Given a token whose user was deactivated / When used / Then 401
    client = token_client(editor)
    editor.is_active = False
    editor.save()
    assert_error(client.get("/api/v1/pipelines/"), 401)


def test_token__used__last_used_at_recorded(token_client, viewer, environments):
    # Given a fresh token / When used / Then its last use is recorded
    client = token_client(viewer)
    assert ApiToken.objects.get(user=viewer).last_used_at is None
    client.get("/api/v1/environments/")
    assert ApiToken.objects.get(user=viewer).last_used_at is not None
