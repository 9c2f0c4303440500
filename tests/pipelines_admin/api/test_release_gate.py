"""The release gate over the API: its state for a candidate version, 409 with extra.gate
when closed, open after a passing suite run on the exact config, and gate_override on
every release-like endpoint: it opens a change request (202), which applies once a second
publisher approves it (audited as an override)."""

import pytest

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.configs.models import Release
from pipelines_admin.testcases import services
from tests.pipelines_admin.api.conftest import assert_error, etag

pytestmark = pytest.mark.django_db

PROD = "/api/v1/pipelines/onboarding/environments/production"
DEV = "/api/v1/pipelines/onboarding/environments/development"
ADULT = {"name": "Maria Garcia", "email": "maria.garcia@example.com", "date_of_birth": "1990-04-12"}
GATE_KEYS = {"required", "open", "message", "passing_suite_run", "latest_suite_run"}


@pytest.fixture
def case(token_client, editor, released):
    response = token_client(editor).post(
        "/api/v1/pipelines/onboarding/test-cases/",
        {"name": "adult passes", "input": ADULT, "expected": {"status": "passed"}},
        format="json",
    )
    assert response.status_code == 201
    return response.json()["id"]


def suite_on_production(client, django_capture_on_commit_callbacks, **body) -> dict:
    """A suite run on what production would run, executed as the worker would."""
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/api/v1/pipelines/onboarding/suite-runs/",
            {"environment": "production", "version": 1, **body},
            format="json",
        )
    assert response.status_code == 202, response.content
    services.suite_execute(response.json()["id"])
    return client.get(response.json()["url"]).json()


def approved_and_applied(token_client, approver, author_client, opened) -> dict:
    """The change request `opened` (a 202) approved by `approver` and applied by its author."""
    assert opened.status_code == 202, opened.content
    url = opened["Location"]
    assert opened.json()["state"] == "open" and opened.json()["gate_override"] is True
    approved = token_client(approver).post(f"{url}approve/", {"comment": "seen"}, format="json")
    assert approved.status_code == 200, approved.content
    applied = author_client.post(f"{url}apply/", format="json")
    assert applied.status_code == 200, applied.content
    assert applied.json()["state"] == "applied"
    return applied.json()


def release(client, **body):
    return client.post(
        f"{PROD}/releases/", {"version": 1, "reason": "CAB-42 approved", **body}, format="json"
    )


def test_gate__unprotected_environment__not_required(token_client, viewer, released):
    # Given development (not protected) / When its gate is asked for the live version
    body = token_client(viewer).get(f"{DEV}/gate/").json()
    # Then no suite is required, and the config is the live one
    assert (body["required"], body["open"], body["version"], body["live"]) == (False, True, 1, True)
    assert body["effective_hash"] == Release.objects.get(environment__name="development").effective_hash
    assert GATE_KEYS <= set(body)


def test_gate__production_without_test_cases__closed_saying_why(token_client, viewer, released):
    # Given no test cases / When production's gate is asked for version 1
    body = token_client(viewer).get(f"{PROD}/gate/?version=1").json()
    # Then it is required and closed, because nothing tests the config
    assert (body["required"], body["open"], body["live"], body["target"]) == (
        True,
        False,
        False,
        "v1 in production (not released there)",
    )
    assert "no test cases" in body["message"]
    assert (body["passing_suite_run"], body["latest_suite_run"]) == (None, None)


def test_gate__production_not_released_no_version__404(token_client, viewer, released):
    assert "not been released" in assert_error(token_client(viewer).get(f"{PROD}/gate/"), 404)["message"]


def test_gate__unknown_version_or_bad_query__404_400(token_client, viewer, released):
    client = token_client(viewer)
    assert_error(client.get(f"{PROD}/gate/?version=9"), 404)
    assert "version" in assert_error(client.get(f"{PROD}/gate/?version=x"), 400)["extra"]["fields"]


def test_release__gate_closed__409_with_gate_then_override_request_approved_applied_audited(
    token_client, publisher, publisher2, case
):
    client = token_client(publisher)
    # Given test cases that never ran on this config / When a publisher releases to production
    response = release(client)
    # Then 409 in the error shape, saying why in extra.gate, nothing released
    body = assert_error(response, 409)
    assert set(body["extra"]) == {"gate"} and set(body["extra"]["gate"]) == GATE_KEYS
    assert (body["extra"]["gate"]["required"], body["extra"]["gate"]["open"]) == (True, False)
    assert "has not run on this exact config" in body["message"]
    assert not Release.objects.filter(environment__name="production").exists()
    # When they ask to release anyway with gate_override
    response = release(client, gate_override=True)
    # Then 202 with a change request: nobody overrides the gate for their own change, nothing released
    assert response.status_code == 202, response.content
    assert response.json()["gate"]["open"] is False
    assert not Release.objects.filter(environment__name="production").exists()
    # When a second publisher approves it and it is applied
    applied = approved_and_applied(token_client, publisher2, client, response)
    # Then released, and the audit trail records the override, who, why and the request
    request_id = applied["id"]
    created = AuditEvent.objects.get(action="release.created", environment="production")
    assert created.data["gate"]["result"] == "overridden"
    assert created.reason == f"Change request #{request_id}: CAB-42 approved"
    overridden = AuditEvent.objects.get(action="release_gate.overridden")
    assert (overridden.actor_name, overridden.reason, overridden.object_id) == (
        "pat",
        f"Change request #{request_id}: CAB-42 approved",
        str(applied["applied_release"]["id"]),
    )
    assert "has not run on this exact config" in overridden.data["why_closed"]


def test_release__gate_override_without_reason__400(token_client, publisher, case):
    response = token_client(publisher).post(
        f"{PROD}/releases/", {"version": 1, "gate_override": True}, format="json"
    )
    assert assert_error(response, 400)["extra"] == {
        "fields": {"reason": ["required for protected environments"]}
    }


def test_release__editor_with_gate_override__403(token_client, editor, case):
    # Given an editor / When they try to override production's gate / Then 403: the role comes first
    assert_error(release(token_client(editor), gate_override=True), 403)
    assert not AuditEvent.objects.filter(action="release_gate.overridden").exists()


def test_release__gate_override_not_boolean__400(token_client, publisher, case):
    response = release(token_client(publisher), gate_override="perhaps")
    assert "gate_override" in assert_error(response, 400)["extra"]["fields"]


def test_release__suite_passed_on_exact_config__gate_open_then_201(
    token_client, publisher, viewer, case, django_capture_on_commit_callbacks
):
    client = token_client(publisher)
    # Given a passing suite run on what production would run
    suite = suite_on_production(client, django_capture_on_commit_callbacks)
    assert suite["status"] == "passed"
    # When the gate is asked for / Then it is open, naming that suite run
    gate = token_client(viewer).get(f"{PROD}/gate/?version=1").json()
    assert (gate["open"], gate["passing_suite_run"], gate["latest_suite_run"]) == (
        True,
        suite["id"],
        suite["id"],
    )
    assert gate["effective_hash"] == suite["effective_hash"]
    # and a release without gate_override goes through, the audit naming the suite run
    response = release(client)
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(action="release.created", environment="production")
    assert event.data["gate"] == {"result": "passed", "suite_run": suite["id"]}
    assert not AuditEvent.objects.filter(action="release_gate.overridden").exists()


def test_release__test_case_changed_after_pass__409_again(
    token_client, publisher, editor, case, django_capture_on_commit_callbacks
):
    # Given a pass, then a test case edited
    suite_on_production(token_client(publisher), django_capture_on_commit_callbacks)
    token_client(editor).patch(
        f"/api/v1/pipelines/onboarding/test-cases/{case}/",
        {"name": "adult"},
        format="json",
        **etag(token_client(editor), f"/api/v1/pipelines/onboarding/test-cases/{case}/"),
    )
    # When released / Then the gate is closed again
    body = assert_error(release(token_client(publisher)), 409)
    assert "test cases have changed since" in body["extra"]["gate"]["message"]


@pytest.fixture
def in_production(token_client, publisher, case, django_capture_on_commit_callbacks):
    """Version 1 live in production after a passing suite run."""
    client = token_client(publisher)
    suite_on_production(client, django_capture_on_commit_callbacks)
    assert release(client).status_code == 201
    return client


def test_override_set__changes_config_in_production__409_then_override_request_applied(
    in_production, token_client, publisher2
):
    patch = {"override": {"stages": {"data_quality": {"timeout_seconds": 20}}}, "reason": "slow vendor"}
    # Given a new override no suite has run on / When set / Then 409
    assert_error(
        in_production.put(
            f"{PROD}/override/", patch, format="json", **etag(in_production, f"{PROD}/override/")
        ),
        409,
    )
    # and with gate_override, 202: a change request; once approved and applied, a new override release,
    # audited as an override
    response = in_production.put(
        f"{PROD}/override/",
        {**patch, "gate_override": True},
        format="json",
        **etag(in_production, f"{PROD}/override/"),
    )
    assert not Release.objects.filter(environment__name="production", kind="override").exists()
    applied = approved_and_applied(token_client, publisher2, in_production, response)
    assert applied["applied_release"]["kind"] == "override"
    assert AuditEvent.objects.get(action="release_gate.overridden").reason.endswith(": slow vendor")


def test_toggles__in_production__409_then_override_requests_applied(in_production, token_client, publisher2):
    body = {"enabled": False, "reason": "vendor outage"}
    stage, rule = f"{PROD}/stages/business_rules/toggle/", f"{PROD}/rules/data_quality/email_format/toggle/"
    assert_error(in_production.post(stage, body, format="json", **etag(in_production, stage)), 409)
    assert_error(in_production.post(rule, body, format="json", **etag(in_production, rule)), 409)
    opened = in_production.post(
        stage, {**body, "gate_override": True}, format="json", **etag(in_production, stage)
    )
    assert approved_and_applied(token_client, publisher2, in_production, opened)["applied_release"][
        "kind"
    ] == ("toggle")
    opened = in_production.post(
        rule, {**body, "gate_override": True}, format="json", **etag(in_production, rule)
    )
    assert approved_and_applied(token_client, publisher2, in_production, opened)["applied_release"][
        "kind"
    ] == ("toggle")
    assert AuditEvent.objects.filter(action="release_gate.overridden").count() == 2


def test_toggle__suite_passed_on_the_toggled_config__no_override_needed(
    in_production, publisher, django_capture_on_commit_callbacks
):
    # Given a passing suite run on production's config with email_format disabled
    override = {"stages": {"data_quality": {"rules": {"email_format": {"enabled": False}}}}}
    assert (
        suite_on_production(in_production, django_capture_on_commit_callbacks, override=override)["status"]
        == "passed"
    )
    # When that rule is disabled there / Then the gate is open: 200 without an override
    response = in_production.post(
        f"{PROD}/rules/data_quality/email_format/toggle/",
        {"enabled": False, "reason": "vendor outage"},
        format="json",
        **etag(in_production, f"{PROD}/rules/data_quality/email_format/toggle/"),
    )
    assert response.status_code == 200, response.content
    assert response.json()["override"] == override


def test_rollback__to_untested_config__409_then_override_request_applied(
    in_production, token_client, publisher2
):
    # Given production at v1 (tested), then an overridden override release (approved by a second publisher)
    first = Release.objects.get(environment__name="production")
    opened = in_production.put(
        f"{PROD}/override/",
        {
            "override": {"stages": {"data_quality": {"timeout_seconds": 20}}},
            "reason": "slow",
            "gate_override": True,
        },
        format="json",
        **etag(in_production, f"{PROD}/override/"),
    )
    approved_and_applied(token_client, publisher2, in_production, opened)
    # When rolled back to the first release: its config passed the suite, so the gate is open
    response = in_production.post(
        f"{PROD}/rollback/", {"release_id": first.pk, "reason": "undo"}, format="json"
    )
    assert response.status_code == 201, response.content
    # and rolling back to the untested override release needs the override
    untested = Release.objects.filter(environment__name="production", kind="override").get()
    body = {"release_id": untested.pk, "reason": "redo"}
    assert_error(in_production.post(f"{PROD}/rollback/", body, format="json"), 409)
    opened = in_production.post(f"{PROD}/rollback/", {**body, "gate_override": True}, format="json")
    assert Release.objects.filter(environment__name="production").count() == 3  # nothing yet
    applied = approved_and_applied(token_client, publisher2, in_production, opened)
    assert applied["applied_release"]["kind"] == "rollback"
