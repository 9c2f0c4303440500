"""Schemathesis against the OpenAPI schema the API serves at /api/schema/, in-process
through the project's WSGI application, as an editor with an API token: no operation
answers 500, every status it answers is documented, and every body matches the schema.

The schema is built at collection time by the generator the schema view uses (so each
operation is its own test); test_served_schema__editor__is_the_fuzzed_schema checks that
/api/schema/ serves exactly that. Examples are derandomized so the suite is repeatable;
SCHEMATHESIS_MAX_EXAMPLES=200 SCHEMATHESIS_RANDOM=1 explores further."""
from __future__ import annotations

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
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from pipelines_admin.tokens.services import token_create

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))
DERANDOMIZE = os.environ.get("SCHEMATHESIS_RANDOM", "") == ""


def api_schema() -> dict:
    """The schema /api/schema/?format=json serves, as plain JSON data."""
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(api_schema())


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
def editor_auth(db, editor, released):
    """The Authorization header of an editor, with a released pipeline to find."""
    return {"Authorization": f"Bearer {token_create(user=editor, name='schemathesis').secret}"}


def test_served_schema__editor__is_the_fuzzed_schema(token_client, editor):
    # Given an editor's token / When the schema is asked for as JSON
    response = token_client(editor).get("/api/schema/?format=json")
    # Then it is the schema fuzzed below
    assert response.status_code == 200
    assert json.loads(response.content) == api_schema()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
          derandomize=DERANDOMIZE)
def test_api_operation__generated_requests__no_server_error_and_responses_match_schema(case, editor_auth, wsgi_app):
    # Given an operation and a request generated from its schema (valid or not), as an editor
    # When it is sent through the WSGI application
    # Then no 500, and the status and body are what the schema documents
    case.call_and_validate(headers=editor_auth, checks=CHECKS, app=wsgi_app)
