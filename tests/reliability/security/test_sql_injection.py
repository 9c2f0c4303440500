"""SQL injection: classic payloads in every query parameter of every console page that
reads one, and of every API list endpoint (the parameters come from the views' code
and from the OpenAPI schema, so new filters are covered). Each answer is 200 showing no
more than a filter that matches nothing would, or a 4xx; never a 500. The tables are
intact afterwards and the audit chain still verifies."""

from __future__ import annotations

import ast
import inspect
import re
import time

import pytest
from django.db import connection
from django.test import Client
from django.urls import resolve, reverse
from rest_framework.test import APIClient

from pipelines_admin.tokens.services import token_create
from tests.reliability.security import test_permission_matrix as matrix

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "' OR 1=1 --",
    '"; DROP TABLE runs_run; --',
    "'; DELETE FROM audit_auditevent; --",
    "' UNION SELECT username, password FROM auth_user --",
    "1' AND (SELECT 1 FROM pg_sleep(3)) --",
    "\u2019 OR \u20191\u2019=\u20191",  # typographic quotes
    "\uff07 OR \uff11=\uff11 --",  # fullwidth quote and digits
    "%' OR '%'='",
    "abc\x00def",  # NUL, sent as %00: PostgreSQL refuses it in strings
    "99999999999999999999999999",  # overflows a 64-bit integer column
    "x" * 3000,
]
NO_MATCH = "zzz-matches-nothing"
SLOW_SECONDS = 2.5


# -- which parameters each console page reads ------------------------------------------------


def _names_read(function, module, seen: set) -> set[str]:
    """Query parameter names a view (and the module's helpers it calls) reads from request.GET."""
    if function in seen:
        return set()
    seen.add(function)
    source = inspect.getsource(function)
    names = set(re.findall(r"""request\.GET\.get\(\s*["']([\w-]+)["']""", source))
    for constant in re.findall(r"for \w+ in ([A-Z_]+)\}", source):
        names |= set(getattr(module, constant))
    for literal in re.findall(r"for \w+ in (\([^)]*\))\}", source):
        names |= set(ast.literal_eval(literal))
    if "paginate(" in source:
        names.add("page")
    for helper in set(re.findall(r"\b(_\w+)\(", source)):
        target = getattr(module, helper, None)
        if inspect.isfunction(target):
            names |= _names_read(target, module, seen)
    return names


def console_cases(estate) -> list[tuple[str, list[str], str]]:
    """(path, parameters, table marker) for every console GET page that reads parameters."""
    cases = []
    for case in matrix.CASES:
        if case.method != "GET" or not case.name.startswith("console:") or case.variant == "htmx":
            continue
        path = reverse(
            case.name, kwargs=matrix.url_kwargs(case.name, matrix.ROUTES[case.name], estate, case.variant)
        )
        view = inspect.unwrap(resolve(path).func)
        params = sorted(_names_read(view, inspect.getmodule(view), set()))
        if params:
            cases.append((path, params))
    return cases


def row_count(html: str) -> int:
    return sum(body.count("<tr") for body in re.findall(r"<tbody.*?</tbody>", html, re.S))


def tables() -> dict:
    from django.contrib.auth.models import User

    from pipelines_admin.audit.models import AuditEvent
    from pipelines_admin.configs.models import ConfigVersion, Pipeline, Release
    from pipelines_admin.runs.models import Batch, Run

    return {
        "tables": sorted(connection.introspection.table_names()),
        **{
            m.__name__: m.objects.count()
            for m in (User, AuditEvent, Pipeline, ConfigVersion, Release, Run, Batch)
        },
    }


def test_console_pages__payload_in_every_parameter__never_500_never_more_rows(estate, viewer):
    from pipelines_admin.audit.services import audit_verify

    # Given a viewer, every console page that reads query parameters, and the data before
    client = Client(raise_request_exception=False)
    client.force_login(viewer)
    before = tables()
    cases = console_cases(estate)
    assert {"/runs/", "/audit/", "/dashboards/"} <= {path for path, _ in cases}
    problems = []
    for path, params in cases:
        for param in params:
            baseline = client.get(path, {param: NO_MATCH})
            for payload in PAYLOADS:
                # When the payload is sent in that parameter
                started = time.monotonic()
                response = client.get(path, {param: payload})
                took = time.monotonic() - started
                # Then the answer is a page showing no more than a filter matching nothing, or a 4xx
                where = f"{path}?{param}={payload[:40]!r}"
                if response.status_code >= 500 or took > SLOW_SECONDS:
                    problems.append(f"{where}: {response.status_code} in {took:.1f} s")
                elif response.status_code == 200 and baseline.status_code == 200:
                    if row_count(response.content.decode()) > row_count(baseline.content.decode()):
                        problems.append(f"{where}: more rows than a filter matching nothing")
    assert not problems, "\n".join(problems)
    # And every table is still there with the same rows, and the audit chain verifies
    assert tables() == before
    assert audit_verify()[1] == []


def api_list_operations() -> list[tuple[str, list[str]]]:
    """(path template, query parameter names) of every GET operation of the API's schema."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        params = [p["name"] for p in get.get("parameters", []) if p["in"] == "query"]
        if params:
            found.append((path, params))
    return found


def api_path(template: str, estate) -> str:
    values = {
        "slug": "onboarding",
        "env": "development",
        "number": "2",
        "other": "staging",
        "run_id": str(estate["run"].pk),
        "batch_id": str(estate["done_batch"].pk),
        "webhook_id": str(estate["webhook"].pk),
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


def result_count(response) -> int:
    if response.streaming:  # an export: one line per item
        return len(b"".join(response.streaming_content).splitlines())
    body = response.json() if response["Content-Type"].startswith("application/json") else None
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return len(body["results"])
    if isinstance(body, list):
        return len(body)
    return len(response.content.splitlines()) if body is None else 0


def test_api_lists__payload_in_every_query_parameter__never_500_never_more_results(estate, viewer):
    from pipelines_admin.audit.services import audit_verify

    # Given a viewer's API token and every API operation that takes query parameters
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=viewer, name='sqli').secret}")
    before = tables()
    operations = api_list_operations()
    assert {"/api/v1/runs/", "/api/v1/audit/"} <= {path for path, _ in operations}
    problems = []
    for template, params in operations:
        path = api_path(template, estate)
        for param in params:
            baseline = client.get(path, {param: NO_MATCH})
            for payload in PAYLOADS:
                # When the payload is sent in that parameter
                started = time.monotonic()
                response = client.get(path, {param: payload})
                took = time.monotonic() - started
                where = f"{path}?{param}={payload[:40]!r}"
                # Then it is refused as invalid, or answers no more than a filter matching nothing
                if response.status_code >= 500 or took > SLOW_SECONDS:
                    problems.append(f"{where}: {response.status_code} in {took:.1f} s")
                elif response.status_code == 200 and baseline.status_code == 200:
                    if result_count(response) > result_count(baseline):
                        problems.append(f"{where}: more results than a filter matching nothing")
                elif response.status_code >= 400:
                    assert set(response.json()) == {"message", "extra"}, where
    assert not problems, "\n".join(problems)
    assert tables() == before
    assert audit_verify()[1] == []


def test_nul_character_in_a_query_parameter__400_on_every_database(viewer):
    # PostgreSQL cannot compare text holding NUL: such a parameter is refused before any query
    client = Client()
    client.force_login(viewer)
    response = client.get("/audit/", {"actor": "root\x00"})
    assert response.status_code == 400 and "NUL" in response.content.decode()
    api = APIClient()
    api.force_authenticate(viewer)
    response = api.get("/api/v1/runs/", {"pipeline": "x\x00"})
    assert response.status_code == 400 and set(response.json()) == {"message", "extra"}
    assert client.get("/audit/", {"actor": "root"}).status_code == 200
