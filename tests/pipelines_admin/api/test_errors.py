"""One error shape for every failure: {"message", "extra"} with the right status."""

import json

import pytest
from rest_framework.test import APIClient

from tests.pipelines_admin.api.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_api__no_credentials__401_with_bearer_challenge(token_client):
    # Given no credentials / When an endpoint is called
    response = token_client().get("/api/v1/pipelines/")
    # Then 401 in the error shape, telling how to authenticate (not a redirect to the login page)
    body = assert_error(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "Bearer" in body["message"]


def test_api__unknown_token__401():
    # Given a token nobody was given
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer rcp_not-a-real-token-at-all")
    # When it is used / Then 401
    body = assert_error(client.get("/api/v1/pipelines/"), 401)
    assert "not valid" in body["message"]


def test_api__malformed_authorization_header__401():
    # Given a Bearer header with two words after it
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer one two")
    # When used / Then 401 explaining the form
    assert "Bearer <token>" in assert_error(client.get("/api/v1/pipelines/"), 401)["message"]


def test_api__user_without_role__403(token_client, roleless):
    # Given a user who has a token but no console role / When they read pipelines
    body = assert_error(token_client(roleless).get("/api/v1/pipelines/"), 403)
    # Then 403, saying what is missing
    assert "role" in body["message"]


def test_api__unknown_path__404_in_error_shape_with_hint(token_client, viewer):
    # Given a path without its trailing slash / When asked
    body = assert_error(token_client(viewer).get("/api/v1/pipelines"), 404)
    # Then a JSON 404 (not the console's HTML page) suggesting the right path
    assert body["extra"] == {"path": "/api/v1/pipelines", "did_you_mean": "/api/v1/pipelines/"}
    assert "did_you_mean" not in assert_error(token_client(viewer).get("/api/v2/nothing/"), 404)["extra"]


def test_api__malformed_json__400(token_client, viewer):
    # Given a body that is not JSON / When posted
    response = token_client(viewer).post("/api/v1/validate/", "{not json", content_type="application/json")
    # Then 400 naming the parse error
    assert "JSON parse error" in assert_error(response, 400)["message"]


def test_api__form_encoded_body__415(token_client, viewer):
    # Given a form-encoded body / When posted to a JSON endpoint / Then 415
    response = token_client(viewer).post(
        "/api/v1/validate/", "document=x", content_type="application/x-www-form-urlencoded"
    )
    assert "Unsupported media type" in assert_error(response, 415)["message"]


def test_api__body_over_limit__413(token_client, viewer, settings):
    # Given a 1 kB limit on request bodies
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    # When a 2 kB document is posted / Then 413
    document = {"stages": {}, "padding": "x" * 2000}
    response = token_client(viewer).post("/api/v1/validate/", {"document": document}, format="json")
    assert "limit" in assert_error(response, 413)["message"]


def test_api__nul_character_in_json__400(token_client, viewer):
    # Given text no database stores / When posted / Then 400 naming where it is
    response = token_client(viewer).post(
        "/api/v1/validate/", {"document": {"stages": {"a\u0000": {}}}}, format="json"
    )
    assert "/document/stages" in assert_error(response, 400)["message"]


def test_api__method_not_allowed__405(token_client, viewer):
    # Given a read-only endpoint / When deleted / Then 405 in the error shape
    assert_error(token_client(viewer).delete("/api/v1/environments/"), 405)


def test_api__invalid_field__400_with_fields(token_client, editor, released):
    # Given a version without its message / When posted
    response = token_client(editor).post(
        "/api/v1/pipelines/onboarding/versions/", {"document": {}, "base_version": 1}, format="json"
    )
    # Then 400 naming the field
    body = assert_error(response, 400)
    assert body["extra"]["fields"] == {"message": ["This field is required."]}


def test_api__throttle_exceeded__429_with_retry_after(token_client, viewer, settings):
    # Given a rate of 3 requests a minute per user
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "3/minute"}}
    client = token_client(viewer)
    # When a fourth request comes within the minute
    statuses = [client.get("/api/v1/environments/").status_code for _ in range(3)]
    response = client.get("/api/v1/environments/")
    # Then it is refused with 429, the error shape and when to retry
    assert statuses == [200, 200, 200]
    body = assert_error(response, 429)
    assert 0 < int(response["Retry-After"]) <= 60
    assert body["extra"]["retry_after"] == int(response["Retry-After"])


def test_api__throttle__counted_per_user(token_client, viewer, editor, settings):
    # Given a rate of 1 request a minute, used up by one user
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "1/minute"}}
    assert token_client(viewer).get("/api/v1/environments/").status_code == 200
    # When another user calls / Then their own allowance is intact
    assert token_client(editor).get("/api/v1/environments/").status_code == 200


def test_api__unexpected_exception__500_in_error_shape_without_internals(token_client, viewer, monkeypatch):
    # Given a selector that breaks
    from pipelines_admin.configs import selectors

    def broken():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "environment_list", broken)
    # When its endpoint is called / Then 500 in the error shape, the details only in the log
    body = assert_error(token_client(viewer).get("/api/v1/environments/"), 500)
    assert "secret" not in json.dumps(body)


def test_api__session_login__reads_and_csrf_required_for_writes(viewer, editor, released):
    # Given a console session (no token), with CSRF checks on as in a browser
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(editor)
    # When it reads / Then it works like a token
    assert client.get("/api/v1/pipelines/").status_code == 200
    # When it writes without the CSRF token / Then 403 in the error shape
    body = assert_error(client.post("/api/v1/validate/", {"document": {}}, format="json"), 403)
    assert "CSRF" in body["message"]
