"""Environments and their service bindings through the API: create, change, list, bind,
change and remove a binding; statuses, the error shape, roles, and refusals that change
nothing (a binding that would make a live config invalid names each pipeline's problems)."""

import copy

import pytest

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.models import Environment, ServiceBinding
from pipelines_admin.releases import services as release_services
from tests.pipelines_admin.api.conftest import assert_error, etag

pytestmark = pytest.mark.django_db

ENVS = "/api/v1/environments/"
DEV_BINDINGS = "/api/v1/environments/development/bindings/"
HTTP_KYC = {
    "interface": "KYCService",
    "name": "jumio",
    "kind": "http",
    "url": "https://kyc.example.com/v1",
    "timeout_seconds": 1.5,
    "secret_env": "JUMIO_API_KEY",
}


@pytest.fixture
def kyc_released(editor, small_pipeline_document, environments):
    """onboarding live in development, its KYC rule (2 s time limit) calling service:KYCService:jumio."""
    document = copy.deepcopy(small_pipeline_document)
    document["stages"]["compliance"] = {
        "rules": {
            "kyc": {
                "class": "KYCIdentityRule",
                "params": {"kyc_service": "service:KYCService:jumio"},
                "timeout_seconds": 2,
            }
        }
    }
    pipeline = config_services.pipeline_create(
        slug="onboarding", name="Onboarding", document=document, author=editor
    )
    release_services.release_create(
        pipeline=pipeline,
        environment=environments["development"],
        version=pipeline.versions.get(),
        actor=editor,
    )
    return pipeline


def test_environments_create__publisher__201_with_location_and_settings(
    token_client, publisher, environments
):
    # Given a publisher / When they create an environment
    response = token_client(publisher).post(
        ENVS,
        {"name": "uat", "protected": True, "position": 25, "description": "User acceptance"},
        format="json",
    )
    # Then 201, its URL in Location, its settings, nothing live and nothing bound yet
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == body["url"] == "http://testserver/api/v1/environments/uat/"
    assert (body["name"], body["protected"], body["position"], body["description"]) == (
        "uat",
        True,
        25,
        "User acceptance",
    )
    assert (body["live"], body["bindings"], body["services"]) == ([], [], [])
    assert [e["name"] for e in token_client(publisher).get(ENVS).json()] == [
        "development",
        "staging",
        "uat",
        "production",
    ]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"name": "Bad Name"}, "name"),
        ({"name": "uat", "position": -1}, "position"),
        ({"name": "uat", "position": 10_001}, "position"),
        ({}, "name"),
    ],
)
def test_environments_create__invalid_field__400_naming_it_nothing_stored(
    token_client, publisher, environments, body, field
):
    # Given a body with one invalid field / When posted / Then 400 naming the field, nothing stored
    error = assert_error(token_client(publisher).post(ENVS, body, format="json"), 400)
    assert field in error["extra"]["fields"]
    assert Environment.objects.count() == 3


def test_environments_create__existing_name_or_editor__409_or_403(
    token_client, publisher, editor, environments
):
    # Given staging exists / When a publisher creates it again / Then 409
    assert_error(token_client(publisher).post(ENVS, {"name": "staging"}, format="json"), 409)
    # When an editor creates any / Then 403: publishers add environments
    assert_error(token_client(editor).post(ENVS, {"name": "sandbox"}, format="json"), 403)
    assert Environment.objects.count() == 3


def test_environments_update__editor_on_development__200_only_the_sent_settings_change(
    token_client, editor, environments
):
    # Given development / When an editor sends a new order only
    response = token_client(editor).patch(
        f"{ENVS}development/",
        {"position": 5},
        format="json",
        **etag(token_client(editor), f"{ENVS}development/"),
    )
    # Then it changes, the rest is kept, and it is audited
    assert response.status_code == 200, response.content
    assert (response.json()["position"], response.json()["description"]) == (
        5,
        "Where changes are tried first.",
    )
    assert AuditEvent.objects.filter(action="environment.updated").count() == 1


def test_environments_update__unprotect_production__editor_403_publisher_needs_reason(
    token_client, editor, publisher, environments
):
    # Given production / When an editor unprotects it / Then 403
    assert_error(
        token_client(editor).patch(
            f"{ENVS}production/",
            {"protected": False, "reason": "x"},
            format="json",
            **etag(token_client(editor), f"{ENVS}production/"),
        ),
        403,
    )
    # When a publisher does without a reason / Then 400 at the reason, still protected
    error = assert_error(
        token_client(publisher).patch(
            f"{ENVS}production/",
            {"protected": False},
            format="json",
            **etag(token_client(publisher), f"{ENVS}production/"),
        ),
        400,
    )
    assert "reason" in error["extra"]["fields"]
    assert Environment.objects.get(name="production").protected
    # When with a reason / Then unprotected
    response = token_client(publisher).patch(
        f"{ENVS}production/",
        {"protected": False, "reason": "retired"},
        format="json",
        **etag(token_client(publisher), f"{ENVS}production/"),
    )
    assert response.status_code == 200 and response.json()["protected"] is False


def test_environments_update__nothing_changed_or_unknown__400_or_404(token_client, editor, environments):
    # Given staging / When its own order is sent / Then 400: nothing changed
    assert_error(
        token_client(editor).patch(
            f"{ENVS}staging/",
            {"position": 20},
            format="json",
            **etag(token_client(editor), f"{ENVS}staging/"),
        ),
        400,
    )
    # When an unknown environment is changed / Then 404
    assert_error(
        token_client(editor).patch(
            f"{ENVS}nowhere/", {"position": 1}, format="json", **etag(token_client(editor), f"{ENVS}nowhere/")
        ),
        404,
    )


def test_environments_retrieve__released_and_bound__live_bindings_and_called_services(
    token_client, viewer, editor, kyc_released
):
    config_services.service_binding_set(
        environment=kyc_released.releases.first().environment,
        interface="KYCService",
        name="jumio",
        actor=editor,
        kind="simulated",
        latency_ms=30,
    )
    # Given onboarding live in development, calling the bound KYC service / When a viewer looks
    body = token_client(viewer).get(f"{ENVS}development/").json()
    # Then the live pipeline, the binding, and the service with the rule calling it
    assert [(live["pipeline"], live["version"]) for live in body["live"]] == [("onboarding", 1)]
    assert [(b["service"], b["kind"], b["latency_ms"]) for b in body["bindings"]] == [
        ("KYCService:jumio", "simulated", 30)
    ]
    [service] = body["services"]
    assert (service["reference"], service["bound"]) == ("service:KYCService:jumio", True)
    assert service["callers"] == [
        {
            "pipeline": "onboarding",
            "version": 1,
            "stage": "compliance",
            "rule": "kyc",
            "enabled": True,
            "time_limit_seconds": 2.0,
            "path": "/stages/compliance/rules/kyc/params/kyc_service",
        }
    ]


def test_bindings_create__http_with_secret_name__201_listed_secret_value_nowhere(
    token_client, editor, kyc_released, monkeypatch
):
    monkeypatch.setenv("JUMIO_API_KEY", "the-real-secret")
    client = token_client(editor)
    # Given an editor / When they bind KYC to the vendor over HTTP in development
    response = client.post(DEV_BINDINGS, HTTP_KYC, format="json")
    # Then 201 with its URL, listed, and no secret value anywhere
    assert response.status_code == 201, response.content
    assert response["Location"] == f"http://testserver{DEV_BINDINGS}KYCService:jumio/"
    body = response.json()
    assert (body["kind"], body["secret_env"], body["reference"]) == (
        "http",
        "JUMIO_API_KEY",
        "service:KYCService:jumio",
    )
    listed = client.get(DEV_BINDINGS)
    assert [b["service"] for b in listed.json()] == ["KYCService:jumio"]
    assert client.get(f"{DEV_BINDINGS}KYCService:jumio/").json() == body
    assert client.get(f"{DEV_BINDINGS}service:KYCService:jumio/").json() == body
    assert "the-real-secret" not in listed.content.decode()
    # and creating it again is a conflict
    assert_error(client.post(DEV_BINDINGS, HTTP_KYC, format="json"), 409)


def test_bindings_create__would_break_the_live_config__400_each_pipeline_with_paths_nothing_stored(
    token_client, editor, kyc_released
):
    client = token_client(editor)
    before = AuditEvent.objects.count()
    # Given onboarding's KYC rule giving up after 2 s / When the vendor is bound with a 10 s timeout
    response = client.post(DEV_BINDINGS, {**HTTP_KYC, "timeout_seconds": 10}, format="json")
    # Then 400 listing the pipeline and the problem's path, and nothing stored
    error = assert_error(response, 400)
    [failure] = error["extra"]["pipelines"]
    assert (failure["pipeline"], failure["version"]) == ("onboarding", 1)
    assert [p["path"] for p in failure["problems"]] == ["/stages/compliance/rules/kyc/params/kyc_service"]
    assert not ServiceBinding.objects.exists() and AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    "change,field",
    [
        ({"interface": "Nope"}, "interface"),
        ({"name": "no spaces"}, "name"),
        ({"kind": "smoke"}, "kind"),
        ({"url": "https://user:pw@kyc.example.com/"}, "url"),
        ({"url": ""}, "url"),
        ({"secret_env": "lower"}, "secret_env"),
        ({"secret_env": "SECRET_KEY"}, "secret_env"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"timeout_seconds": "NaN"}, "timeout_seconds"),
    ],
)
def test_bindings_create__invalid_field__400_naming_it(token_client, editor, environments, change, field):
    # Given a binding with one invalid field / When posted / Then 400 naming it, nothing stored
    error = assert_error(token_client(editor).post(DEV_BINDINGS, {**HTTP_KYC, **change}, format="json"), 400)
    assert field in error["extra"]["fields"], error
    assert not ServiceBinding.objects.exists()


def test_bindings_update_and_destroy__editor__changed_then_removed(token_client, editor, environments):
    client = token_client(editor)
    client.post(DEV_BINDINGS, HTTP_KYC, format="json")
    # Given an HTTP binding / When it is replaced by a simulated one
    response = client.put(
        f"{DEV_BINDINGS}KYCService:jumio/",
        {"kind": "simulated", "latency_ms": 50},
        format="json",
        **etag(client, f"{DEV_BINDINGS}KYCService:jumio/"),
    )
    # Then only the simulated settings remain
    assert response.status_code == 200, response.content
    assert (response.json()["kind"], response.json()["url"], response.json()["latency_ms"]) == (
        "simulated",
        "",
        50,
    )
    # When it is removed / Then 204, gone, and both changes audited
    assert (
        client.delete(
            f"{DEV_BINDINGS}KYCService:jumio/", **etag(client, f"{DEV_BINDINGS}KYCService:jumio/")
        ).status_code
        == 204
    )
    assert_error(client.get(f"{DEV_BINDINGS}KYCService:jumio/"), 404)
    assert list(
        AuditEvent.objects.filter(action__startswith="service_binding")
        .values_list("action", flat=True)
        .order_by("sequence")
    ) == ["service_binding.set", "service_binding.set", "service_binding.removed"]


def test_bindings_update_or_destroy__missing_or_malformed__404(token_client, editor, environments):
    client = token_client(editor)
    # Given no binding / When changed, removed, or named wrongly / Then 404 in the error shape
    assert_error(
        client.put(
            f"{DEV_BINDINGS}KYCService:jumio/",
            {"kind": "simulated"},
            format="json",
            **etag(client, f"{DEV_BINDINGS}KYCService:jumio/"),
        ),
        404,
    )
    assert_error(
        client.delete(f"{DEV_BINDINGS}KYCService:jumio/", **etag(client, f"{DEV_BINDINGS}KYCService:jumio/")),
        404,
    )
    assert_error(
        client.delete(f"{DEV_BINDINGS}not-a-service/", **etag(client, f"{DEV_BINDINGS}not-a-service/")), 404
    )
    assert not ServiceBinding.objects.exists()


def test_bindings_in_production__editor_403_publisher_needs_reason(
    token_client, editor, publisher, environments
):
    prod = "/api/v1/environments/production/bindings/"
    # Given production / When an editor binds a service / Then 403
    assert_error(token_client(editor).post(prod, {**HTTP_KYC, "reason": "go"}, format="json"), 403)
    # When a publisher does without a reason / Then 400 at the reason
    assert (
        "reason"
        in assert_error(token_client(publisher).post(prod, HTTP_KYC, format="json"), 400)["extra"]["fields"]
    )
    # When with one / Then 201; removing it needs a reason too
    assert (
        token_client(publisher).post(prod, {**HTTP_KYC, "reason": "CAB-9"}, format="json").status_code == 201
    )
    assert_error(
        token_client(publisher).delete(
            f"{prod}KYCService:jumio/", **etag(token_client(publisher), f"{prod}KYCService:jumio/")
        ),
        400,
    )
    removed = token_client(publisher).delete(
        f"{prod}KYCService:jumio/?reason=CAB-10", **etag(token_client(publisher), f"{prod}KYCService:jumio/")
    )
    assert removed.status_code == 204
