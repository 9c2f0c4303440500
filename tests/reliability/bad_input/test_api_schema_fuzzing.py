"""Schemathesis over the whole REST API: every operation the OpenAPI schema at
/api/schema/ documents, reads and writes, in-process through the project's WSGI
application, as a superuser with an API token (so no write is stopped by a permission
before its input is read).

Path parameters are half the time the generated ones (mostly unknown ids: 404s) and
half the time ids that exist (the released pipeline, its environments, stages, rules
and versions, a finished run, a batch, a token, a test case), so writes reach their
services. For every request: no 5xx, the status is one the schema documents, the body
matches the schema, and a refusal (4xx) leaves every table as it was.

The schema is built at collection time by the generator the schema view uses (so each
operation is its own test); test_served_schema__superuser__is_the_fuzzed_schema checks
that /api/schema/ serves exactly that. Examples are derandomized so the suite is
repeatable; SCHEMATHESIS_MAX_EXAMPLES=200 SCHEMATHESIS_RANDOM=1 explores further."""

from __future__ import annotations

import base64
import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from pipelines_admin.tokens.services import token_create
from pipelines_admin.webhooks.models import WebhookDelivery
from pipelines_admin.webhooks.services import event_publish
from tests.reliability.rows import changed, row_counts

PASSWORD_AUTH = {"Authorization": "Basic " + base64.b64encode(b"ada:ada-password-1").decode()}  # admin_user's
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8"))
DERANDOMIZE = os.environ.get("SCHEMATHESIS_RANDOM", "") == ""
#: path parameter -> an id that exists while a test runs (set by the `known_ids` fixture)
KNOWN: dict[str, object] = {}
#: body field -> a value that exists while a test runs
KNOWN_BODY: dict[str, object] = {}


def api_schema() -> dict:
    """The schema /api/schema/?format=json serves, as plain JSON data."""
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(api_schema())


def _known(path: str, parameters: dict) -> dict:
    known = dict(parameters)
    for name in parameters:
        if name == "other":  # another environment, or another version number
            known[name] = "staging" if "/environments/" in path else 1
        elif name in KNOWN:
            known[name] = KNOWN[name]
    return known


@schema.hook("flatmap_path_parameters")
def existing_ids_half_the_time(context, path_parameters):
    if not path_parameters:
        return st.just(path_parameters)
    path = context.operation.path if context.operation is not None else ""
    return st.booleans().map(
        lambda use_known: _known(path, path_parameters) if use_known else path_parameters
    )


@schema.hook("flatmap_body")
def existing_names_half_the_time(context, body):
    """Body fields naming a pipeline, an environment, a version or a release: half the
    time ones that exist, so submissions, releases and rollbacks reach their services."""
    if not isinstance(body, dict) or not set(body) & set(KNOWN_BODY):
        return st.just(body)
    return st.booleans().map(
        lambda use_known: (
            {**body, **{k: KNOWN_BODY[k] for k in body if k in KNOWN_BODY}} if use_known else body
        )
    )


@pytest.fixture
def wsgi_app():
    """The project's WSGI application, minus the closing of database connections after
    each request (Django's test client does the same), so requests run in the test's
    transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def superuser_auth(db, admin_user, populated, token_client):
    """The Authorization header of a superuser, and ids that exist for every path parameter."""
    api = token_client(admin_user)
    KNOWN.update(
        slug="onboarding",
        env="development",
        number=1,
        stage="data_quality",
        rule="email_format",
        run_id=str(populated["run"].pk),
        batch_id=str(populated["batch"].pk),
        token_id=str(populated["token"].token.pk),
    )
    for name, path, body in [  # made through the API itself: whatever their services need
        ("case_id", f"/api/v1/runs/{populated['run'].pk}/save-as-test-case/", {"name": "fuzzing case"}),
        ("suite_run_id", "/api/v1/pipelines/onboarding/suite-runs/", {"environment": "development"}),
        (
            "report_id",
            "/api/v1/pipelines/onboarding/impact-reports/",
            {
                "environment": "development",
                "candidate_override": {"stages": {"data_quality": {"fail_fast": False}}},
            },
        ),
    ]:
        response = api.post(path, body, format="json")
        assert response.status_code in (201, 202), (path, response.status_code, response.content[:500])
        KNOWN[name] = response.json()["id"]
    response = api.post(
        "/api/v1/environments/development/bindings/",
        {"interface": "KYCService", "name": "fuzzing", "kind": "simulated"},
        format="json",
    )
    assert response.status_code == 201, response.content[:500]
    KNOWN["service"] = response.json()["service"]
    response = api.post(
        "/api/v1/webhooks/",
        {"name": "fuzzing hook", "url": "https://hooks.example.com/fuzz", "events": ["release.created"]},
        format="json",
    )
    assert response.status_code == 201, response.content[:500]
    KNOWN["webhook_id"] = response.json()["id"]
    event_publish(event="release.created", data={"release": 1})
    KNOWN["delivery_id"] = WebhookDelivery.objects.get().pk
    response = api.post(
        "/api/v1/change-requests/",
        {
            "kind": "override",
            "pipeline": "onboarding",
            "environment": "development",
            "reason": "fuzzing",
            "gate_override": True,
            "payload": {"override": {"stages": {"data_quality": {"fail_fast": False}}}},
        },
        format="json",
    )
    assert response.status_code == 201, response.content[:500]
    KNOWN["request_id"] = response.json()["id"]
    KNOWN_BODY.update(
        pipeline="onboarding",
        environment="development",
        version=1,
        base_version=1,
        candidate_version=1,
        release_id=populated["pipeline"].releases.order_by("pk").first().pk,
    )
    try:
        yield {"Authorization": f"Bearer {token_create(user=admin_user, name='schemathesis').secret}"}
    finally:
        KNOWN.clear()
        KNOWN_BODY.clear()


def test_served_schema__superuser__is_the_fuzzed_schema(token_client, admin_user):
    # Given a superuser's token / When the schema is asked for as JSON
    response = token_client(admin_user).get("/api/schema/?format=json")
    # Then it is the schema fuzzed below
    assert response.status_code == 200
    assert json.loads(response.content) == api_schema()


def test_known_ids__cover_every_path_parameter_of_the_schema():
    # Given the path parameters of every operation / Then each has an existing id to use
    # (a new one would otherwise only ever be fuzzed with ids that do not exist)
    names = {
        p["name"]
        for item in api_schema()["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for p in op.get("parameters", [])
        if p.get("in") == "path"
    }
    covered = {
        "slug",
        "env",
        "other",
        "number",
        "stage",
        "rule",
        "run_id",
        "batch_id",
        "token_id",
        "case_id",
        "suite_run_id",
        "report_id",
        "service",
        "webhook_id",
        "delivery_id",
        "request_id",
    }
    assert names <= covered, names - covered


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=DERANDOMIZE,
)
def test_api_operation__generated_requests__no_server_error_documented_answers_nothing_half_stored(
    case, superuser_auth, wsgi_app
):
    # Given an operation and a request generated from its schema (valid or not), as a superuser
    # (tokens are made with a password, not a token)
    auth = (
        PASSWORD_AUTH
        if case.operation.path == "/api/v1/tokens/" and case.method.upper() == "POST"
        else superuser_auth
    )
    writes = case.method.upper() != "GET"
    before = row_counts() if writes else None
    # When it is sent through the WSGI application
    response = case.call(headers=auth, app=wsgi_app)
    # Then no 5xx, and the status and body are what the schema documents
    case.validate_response(response, checks=CHECKS, headers=auth)
    # and a refused write stored nothing
    if writes and response.status_code >= 400:
        assert changed(before, row_counts()) == {}, (response.status_code, response.text[:500])
