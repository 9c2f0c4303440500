"""The OpenAPI schema and its Swagger UI and ReDoc pages, served from local files."""

import pytest
from django.core.management import call_command

from tests.pipelines_admin.api.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_schema__anonymous__401_json(token_client):
    # Given no credentials / When the schema is asked for / Then 401 in the error shape
    assert_error(token_client().get("/api/schema/"), 401)


def test_schema__token__openapi_3_with_every_operation_described(token_client, viewer):
    # Given a token / When the schema is fetched
    schema = token_client(viewer).get("/api/schema/?format=json").json()
    # Then it is OpenAPI 3 and every operation has a summary, its responses in JSON shapes, errors included
    assert schema["openapi"].startswith("3.")
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert len(operations) >= 30
    for path, method, op in operations:
        assert op.get("summary"), (path, method)
        assert {"401", "403", "429"} <= set(op["responses"]), (path, method)
        assert op["responses"]["401"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
        if method in ("post", "put"):
            assert "requestBody" in op or op["operationId"] in (
                "batches_cancel",
                "impact_reports_cancel",
                "reviews_claim",
                "reviews_release",
                "webhooks_rotate_secret",
                "webhooks_enable",
                "webhook_deliveries_resend",
                "change_requests_apply",
            ), (
                path,
                method,
            )
    assert schema["components"]["securitySchemes"]["apiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["apiToken"]["description"],
    }


def test_schema__generation__no_warnings(tmp_path):
    # Given the API / When the schema is generated strictly / Then no warning, and it validates
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.0.3")


@pytest.mark.parametrize("path", ["/api/schema/swagger-ui/", "/api/schema/redoc/"])
def test_docs_page__logged_in__served_with_local_assets(client, viewer, path):
    # Given a console session / When the page is opened
    client.force_login(viewer)
    html = client.get(path).content.decode()
    # Then it loads its scripts from this server (drf-spectacular-sidecar), not from a CDN
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn." not in html and "unpkg" not in html


@pytest.mark.parametrize("path", ["/api/schema/swagger-ui/", "/api/schema/redoc/"])
def test_docs_page__anonymous__redirected_to_login(client, path):
    # Given no session / When a docs page is opened / Then the login page comes first
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_docs_page__token__served(token_client, viewer):
    # Given a token / When Swagger UI is asked for / Then it is served
    assert token_client(viewer).get("/api/schema/swagger-ui/").status_code == 200
