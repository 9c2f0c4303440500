"""Production under change control, over the API: every endpoint that changes what it runs
or holds opens a change request (202) instead, for publishers and superusers alike, by
token or session, and nothing live changes until another publisher approves it and it is
applied (or a superuser breaks glass, with a reason)."""

import pytest
from rest_framework.test import APIClient

from pipelines_admin.changes.models import ChangeRequest
from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.models import Environment, Release, ServiceBinding
from pipelines_admin.configs.services import BINDING_FIELDS, ENVIRONMENT_FIELDS
from pipelines_admin.releases import services as release_services
from tests.pipelines_admin.api.conftest import assert_error, etag
from tests.pipelines_admin.changes.conftest import live_pipeline  # noqa: F401

pytestmark = pytest.mark.django_db

PROD = "/api/v1/pipelines/onboarding/environments/production"
BINDING = "/api/v1/environments/production/bindings/KYCService:jumio/"
ENVIRONMENT = "/api/v1/environments/production/"


@pytest.fixture
def production(live_pipeline, publisher, environments):
    """Production running v1, then an override of it (a rollback target), with the KYC
    service bound; then put under change control (one approval)."""
    production = environments["production"]
    production.protected = False  # set-up only: no release gate while it is filled
    production.save()
    version = live_pipeline.versions.get(number=1)
    release_services.release_create(
        pipeline=live_pipeline, environment=production, version=version, actor=publisher, reason="set-up"
    )
    release_services.override_set(
        pipeline=live_pipeline,
        environment=production,
        actor=publisher,
        reason="set-up",
        override={"stages": {"data_quality": {"timeout_seconds": 15}}},
    )
    config_services.service_binding_set(
        environment=production,
        interface="KYCService",
        name="jumio",
        actor=publisher,
        reason="set-up",
        kind="simulated",
        latency_ms=10,
    )
    production.protected = True
    production.change_requests_required = True
    production.approvals_required = 1
    production.save()
    return production


def live_state(production) -> tuple:
    """Everything production runs and holds."""
    return (
        list(
            Release.objects.filter(environment=production)
            .order_by("pk")
            .values_list("pk", "version__number", "effective_hash")
        ),
        list(
            ServiceBinding.objects.filter(environment=production)
            .order_by("interface", "name")
            .values("interface", "name", *BINDING_FIELDS)
        ),
        Environment.objects.filter(pk=production.pk).values(*ENVIRONMENT_FIELDS).get(),
    )


def first_release(production) -> Release:
    return Release.objects.filter(environment=production).order_by("pk").first()


# (name, method, path, body, the URL whose ETag the change sends as If-Match)
CHANGES = {
    "release": ("post", f"{PROD}/releases/", {"version": 2, "reason": "CAB-7"}, None),
    "rollback": ("post", f"{PROD}/rollback/", {"release_id": "FIRST", "reason": "CAB-7"}, None),
    "override": (
        "put",
        f"{PROD}/override/",
        {"override": {"stages": {"data_quality": {"timeout_seconds": 30}}}, "reason": "CAB-7"},
        f"{PROD}/",
    ),
    "stage toggle": (
        "post",
        f"{PROD}/stages/business_rules/toggle/",
        {"enabled": False, "reason": "CAB-7"},
        f"{PROD}/",
    ),
    "rule toggle": (
        "post",
        f"{PROD}/rules/data_quality/email_format/toggle/",
        {"enabled": False, "reason": "CAB-7"},
        f"{PROD}/",
    ),
    "binding create": (
        "post",
        "/api/v1/environments/production/bindings/",
        {"interface": "SanctionsService", "name": "worldcheck", "kind": "simulated", "reason": "CAB-7"},
        None,
    ),
    "binding put": ("put", BINDING, {"kind": "simulated", "latency_ms": 99, "reason": "CAB-7"}, BINDING),
    "binding delete": ("delete", f"{BINDING}?reason=CAB-7", None, BINDING),
    "environment patch": (
        "patch",
        ENVIRONMENT,
        {"change_requests_required": False, "reason": "CAB-7"},
        ENVIRONMENT,
    ),
}


def client_for(kind: str, request) -> APIClient:
    from pipelines_admin.tokens.services import token_create

    role, how = kind.split("-")
    user = request.getfixturevalue(role)
    client = APIClient()
    if how == "session":
        client.force_login(user)
    else:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user, name='t').secret}")
    return client


def send(client, production, change: str):
    method, path, body, etag_url = CHANGES[change]
    if body and body.get("release_id") == "FIRST":
        body = {**body, "release_id": first_release(production).pk}
    headers = etag(client, etag_url) if etag_url else {}
    return getattr(client, method)(path, body, format="json", **headers)


@pytest.mark.parametrize("caller", ["publisher-token", "superuser-token", "superuser-session"])
@pytest.mark.parametrize("change", list(CHANGES))
def test_change_endpoint__production_under_change_control__202_change_request_nothing_live(
    change, caller, production, request
):
    client = client_for(caller, request)
    before = live_state(production)
    # When the change is sent
    response = send(client, production, change)
    # Then 202 with an open change request (its URL in Location), and production is exactly as it was
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["state"], body["environment"]) == ("open", "production")
    assert response["Location"] == body["url"] and body["url"].endswith(f"/change-requests/{body['id']}/")
    assert ChangeRequest.objects.get(pk=body["id"]).status == "open"
    assert live_state(production) == before


def test_approve__own_request__403_nothing_approved(token_client, publisher, production):
    client = token_client(publisher)
    opened = send(client, production, "binding put")
    before = live_state(production)
    # When the author approves their own request / Then 403, no approval, nothing applied
    assert_error(client.post(f"{opened['Location']}approve/", {}, format="json"), 403)
    assert not ChangeRequest.objects.get(pk=opened.json()["id"]).approvals.exists()
    assert_error(client.post(f"{opened['Location']}apply/", format="json"), 409)
    assert live_state(production) == before


@pytest.mark.parametrize("change", ["binding put", "environment patch"])
def test_second_publisher_approves__applied__live(token_client, publisher, publisher2, production, change):
    author = token_client(publisher)
    opened = send(author, production, change)
    before = live_state(production)
    url = opened["Location"]
    # When another publisher approves it / Then it stands, and nothing changed yet
    approved = token_client(publisher2).post(f"{url}approve/", {"comment": "ok"}, format="json")
    assert approved.status_code == 200, approved.content
    body = approved.json()
    assert body["state"] == "approved" and body["blockers"] == []
    assert [(a["approver"], a["standing"]) for a in body["approvals"]] == [("paula", "stands")]
    assert live_state(production) == before
    # When applied / Then production holds the change
    applied = author.post(f"{url}apply/", format="json")
    assert (applied.status_code, applied.json()["state"]) == (200, "applied")
    production.refresh_from_db()
    if change == "binding put":
        assert ServiceBinding.objects.get(environment=production, interface="KYCService").latency_ms == 99
    else:
        assert production.change_requests_required is False
    assert live_state(production) != before


def test_release_with_gate_override__second_publisher_approves__released(
    token_client, publisher, publisher2, production
):
    author = token_client(publisher)
    opened = author.post(
        f"{PROD}/releases/", {"version": 2, "reason": "hotfix", "gate_override": True}, format="json"
    )
    assert opened.status_code == 202
    url = opened["Location"]
    assert token_client(publisher2).post(f"{url}approve/", {}, format="json").status_code == 200
    applied = author.post(f"{url}apply/", format="json").json()
    assert applied["applied_release"]["version"] == 2
    assert Release.objects.filter(environment=production).latest("pk").version.number == 2


def test_break_glass__publisher__403_nothing_live(token_client, publisher, publisher2, production):
    opened = send(token_client(publisher), production, "binding put")
    before = live_state(production)
    # When a publisher (even another one) breaks glass / Then 403, nothing applied
    response = token_client(publisher2).post(
        f"{opened['Location']}break-glass/", {"reason": "urgent"}, format="json"
    )
    assert_error(response, 403)
    assert ChangeRequest.objects.get(pk=opened.json()["id"]).status == "open"
    assert live_state(production) == before


def test_break_glass__superuser_with_reason__applied(token_client, publisher, superuser, production):
    opened = send(token_client(publisher), production, "binding put")
    before = live_state(production)
    client = token_client(superuser)
    # Without a reason: 400, nothing applied
    assert_error(client.post(f"{opened['Location']}break-glass/", {}, format="json"), 400)
    assert live_state(production) == before
    # With one: applied, recorded as a break-glass
    response = client.post(f"{opened['Location']}break-glass/", {"reason": "vendor down"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["state"], response.json()["break_glass"]) == ("applied", True)
    assert ServiceBinding.objects.get(environment=production, interface="KYCService").latency_ms == 99


def test_change_requests__list_filters_and_waiting_for_me(token_client, publisher, publisher2, production):
    opened = send(token_client(publisher), production, "binding put").json()
    # When the second publisher lists what waits for them / Then the request is there; not for its author
    mine = token_client(publisher2).get("/api/v1/change-requests/?waiting_for_me=true").json()
    assert [r["id"] for r in mine["results"]] == [opened["id"]]
    theirs = token_client(publisher).get("/api/v1/change-requests/?waiting_for_me=true").json()
    assert theirs["results"] == []
    listed = token_client(publisher).get("/api/v1/change-requests/?environment=production&status=open").json()
    assert [r["id"] for r in listed["results"]] == [opened["id"]]
    assert token_client(publisher).get("/api/v1/change-requests/?status=applied").json()["results"] == []
    # and its detail says what it changes
    detail = token_client(publisher2).get(opened["url"]).json()
    assert detail["diff"] and detail["approvals_missing"] == 1 and detail["kind"] == "binding"


def test_change_request_post__opens_one_for_production(token_client, publisher, production):
    before = live_state(production)
    response = token_client(publisher).post(
        "/api/v1/change-requests/",
        {
            "kind": "release",
            "pipeline": "onboarding",
            "environment": "production",
            "reason": "CAB-9",
            "payload": {"version": 2},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["payload"]["version"] == 2 and response["Location"] == response.json()["url"]
    assert live_state(production) == before
    # an unknown payload key is a 400
    bad = token_client(publisher).post(
        "/api/v1/change-requests/",
        {"kind": "release", "pipeline": "onboarding", "environment": "production", "payload": {"v": 2}},
        format="json",
    )
    assert "payload.v" in assert_error(bad, 400)["extra"]["fields"]


def test_change_request_detail__impact_analysis_of_exactly_its_result__shown(
    token_client, publisher, production
):
    from pipelines_admin.impact.services import impact_start

    created = token_client(publisher).post(
        "/api/v1/change-requests/",
        {
            "kind": "release",
            "pipeline": "onboarding",
            "environment": "production",
            "reason": "CAB-9",
            "payload": {"version": 2},
        },
        format="json",
    )
    url = created.json()["url"]
    assert token_client(publisher).get(url).json()["impact"] is None
    from pipelines_admin.runs.services import run_execute, run_submit
    from tests.pipelines_admin.conftest import ADULT

    pipeline = production.releases.first().pipeline
    run_execute(run_submit(pipeline=pipeline, environment=production, record=ADULT, actor=publisher).pk)
    report = impact_start(
        pipeline=pipeline,
        environment=production,
        actor=publisher,
        last=10,
        version=pipeline.versions.get(number=2),
    )
    body = token_client(publisher).get(url).json()
    assert (
        body["impact"]["id"] == report.pk
        and body["impact"]["candidate"]["effective_hash"] == body["effective_hash"]
    )
