"""Environments: live release with effective config and provenance, overrides, toggles,
releases (protected environments for publishers, with a reason), rollback, diff."""

import pytest

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.configs.models import Release
from pipelines_admin.testcases.services import case_create, suite_run_now
from tests.pipelines_admin.api.conftest import assert_error, etag

pytestmark = pytest.mark.django_db

DEV = "/api/v1/pipelines/onboarding/environments/development"
PROD = "/api/v1/pipelines/onboarding/environments/production"


def test_environments_list__viewer__in_order_with_protection(token_client, viewer, environments):
    # Given the default environments / When listed / Then in order, production protected
    body = token_client(viewer).get("/api/v1/environments/").json()
    assert [(e["name"], e["protected"]) for e in body] == [
        ("development", False),
        ("staging", False),
        ("production", True),
    ]


def test_pipeline_environment__with_override__effective_config_and_provenance(
    token_client, editor, viewer, released
):
    # Given an override of one value in development
    token_client(editor).put(
        f"{DEV}/override/",
        {"override": {"stages": {"data_quality": {"timeout_seconds": 30}}}, "reason": "slow"},
        format="json",
        **etag(token_client(editor), f"{DEV}/override/"),
    )
    # When a viewer looks at development
    body = token_client(viewer).get(f"{DEV}/").json()
    # Then the live release, the merged config and where each value came from
    assert body["live_release"]["kind"] == "override" and body["live_release"]["version"] == 1
    assert body["effective_config"]["stages"]["data_quality"]["timeout_seconds"] == 30
    assert body["provenance"]["/stages/data_quality/timeout_seconds"] == "override"
    assert body["provenance"]["/stages/data_quality/fail_fast"] == "base"


def test_pipeline_environment__not_released__nulls(token_client, viewer, released):
    # Given onboarding not released to production / When looked at / Then no release, no config
    body = token_client(viewer).get(f"{PROD}/").json()
    assert body["environment"]["protected"] is True
    assert (body["live_release"], body["effective_config"], body["provenance"]) == (None, None, None)


def test_override_set__invalid_effective_config__400_with_paths(token_client, editor, released):
    # Given an override that breaks the config / When set / Then 400 with the problem's path
    response = token_client(editor).put(
        f"{DEV}/override/",
        {"override": {"stages": {"data_quality": {"rules": {"email_format": {"class": "Nope"}}}}}},
        format="json",
        **etag(token_client(editor), f"{DEV}/override/"),
    )
    paths = [p["path"] for p in assert_error(response, 400)["extra"]["problems"]]
    assert "/stages/data_quality/rules/email_format/class" in paths


def test_stage_toggle__disable__new_toggle_release_with_stage_disabled(token_client, editor, released):
    # Given business_rules enabled / When an editor disables it in development
    response = token_client(editor).post(
        f"{DEV}/stages/business_rules/toggle/",
        {"enabled": False, "reason": "vendor outage"},
        format="json",
        **etag(token_client(editor), f"{DEV}/stages/business_rules/toggle/"),
    )
    # Then a toggle release whose override disables it
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "toggle" and body["reason"] == "vendor outage"
    assert body["override"] == {"stages": {"business_rules": {"enabled": False}}}
    # and toggling it to the state it is in is refused
    again = token_client(editor).post(
        f"{DEV}/stages/business_rules/toggle/",
        {"enabled": False},
        format="json",
        **etag(token_client(editor), f"{DEV}/stages/business_rules/toggle/"),
    )
    assert "already disabled" in assert_error(again, 400)["message"]


def test_rule_toggle__disable__rule_disabled(token_client, editor, released):
    # Given email_format enabled / When disabled in development / Then the override disables it
    response = token_client(editor).post(
        f"{DEV}/rules/data_quality/email_format/toggle/",
        {"enabled": False},
        format="json",
        **etag(token_client(editor), f"{DEV}/rules/data_quality/email_format/toggle/"),
    )
    assert response.json()["override"] == {
        "stages": {"data_quality": {"rules": {"email_format": {"enabled": False}}}}
    }


def test_stage_toggle__rules_depend_on_it__409_listing_them_then_disable_dependents(
    token_client, editor, released
):
    # Given age_verification (business_rules) depends on required_fields (data_quality)
    client = token_client(editor)
    # When data_quality is turned off in development
    refused = client.post(
        f"{DEV}/stages/data_quality/toggle/",
        {"enabled": False},
        format="json",
        **etag(client, f"{DEV}/stages/data_quality/toggle/"),
    )
    # Then 409 naming the rule that would be left unable to run, and nothing changed
    body = assert_error(refused, 409)
    assert body["extra"] == {
        "dependents": [{"stage": "business_rules", "rule": "age_verification"}],
        "environment": "development",
    }
    assert "age_verification" in body["message"]
    assert Release.objects.filter(environment__name="development").count() == 1
    # When asked again with disable_dependents
    response = client.post(
        f"{DEV}/stages/data_quality/toggle/",
        {"enabled": False, "disable_dependents": True},
        format="json",
        **etag(client, f"{DEV}/stages/data_quality/toggle/"),
    )
    # Then one release turns off both
    assert response.status_code == 200
    assert response.json()["override"] == {
        "stages": {
            "data_quality": {"enabled": False},
            "business_rules": {"rules": {"age_verification": {"enabled": False}}},
        }
    }


def test_rule_toggle__unknown_rule__404(token_client, editor, released):
    # Given no rule named ghost / When toggled / Then 404 naming its path
    response = token_client(editor).post(
        f"{DEV}/rules/data_quality/ghost/toggle/",
        {"enabled": False},
        format="json",
        **etag(token_client(editor), f"{DEV}/rules/data_quality/ghost/toggle/"),
    )
    assert assert_error(response, 404)["extra"] == {"path": "/stages/data_quality/rules/ghost"}


def test_release_create__editor_to_production__403(token_client, editor, released):
    # Given production is protected / When an editor releases there / Then 403, nothing released
    response = token_client(editor).post(f"{PROD}/releases/", {"version": 1, "reason": "go"}, format="json")
    assert "publishers" in assert_error(response, 403)["message"]
    assert not Release.objects.filter(environment__name="production").exists()


def test_release_create__publisher_production_without_reason__400(token_client, publisher, released):
    # Given a publisher / When releasing to production without a reason / Then 400
    response = token_client(publisher).post(f"{PROD}/releases/", {"version": 1}, format="json")
    assert assert_error(response, 400)["extra"] == {
        "fields": {"reason": ["required for protected environments"]}
    }


def test_release_create__publisher_production_with_reason__201_audited(
    token_client, publisher, editor, released, environments
):
    # Given a test suite that passed on version 1 as production would run it (the release gate)
    case_create(
        pipeline=released,
        name="adult passes",
        actor=editor,
        expected={"status": "passed"},
        record={"name": "Maria Garcia", "email": "maria@example.com", "date_of_birth": "1990-04-12"},
    )
    suite = suite_run_now(
        pipeline=released,
        environment=environments["production"],
        actor=editor,
        version=released.versions.get(),
    )
    # When a publisher releases version 1 to production with a reason
    response = token_client(publisher).post(
        f"{PROD}/releases/", {"version": 1, "reason": "CAB-42 approved"}, format="json"
    )
    # Then it is live there, and the audit trail says who, what, why, and the suite run that let it through
    assert response.status_code == 201
    body = response.json()
    assert (body["environment"], body["version"], body["kind"], body["released_by"]) == (
        "production",
        1,
        "release",
        "pat",
    )
    event = AuditEvent.objects.get(action="release.created", environment="production")
    assert (event.actor_name, event.reason) == ("pat", "CAB-42 approved")
    assert event.data["gate"] == {"result": "passed", "suite_run": suite.pk}
    history = token_client(publisher).get(f"{PROD}/releases/").json()
    assert [r["id"] for r in history] == [body["id"]]


def test_release_create__unknown_version__404(token_client, editor, released):
    # Given no version 5 / When released / Then 404
    assert_error(token_client(editor).post(f"{DEV}/releases/", {"version": 5}, format="json"), 404)


def test_rollback__to_first_release__new_rollback_release(token_client, editor, released):
    # Given a first release then an override change
    first = Release.objects.get(environment__name="development")
    token_client(editor).put(
        f"{DEV}/override/",
        {"override": {"stages": {"data_quality": {"timeout_seconds": 30}}}},
        format="json",
        **etag(token_client(editor), f"{DEV}/override/"),
    )
    # When rolled back to the first
    response = token_client(editor).post(
        f"{DEV}/rollback/", {"release_id": first.pk, "reason": "undo"}, format="json"
    )
    # Then a new rollback release runs the first's version and override again
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["override"], body["reason"]) == ("rollback", {}, "undo")
    assert_error(token_client(editor).post(f"{DEV}/rollback/", {"release_id": 999}, format="json"), 404)


def test_environment_diff__different_overrides__changes(token_client, editor, viewer, released):
    # Given development with an override and staging without
    token_client(editor).post(
        "/api/v1/pipelines/onboarding/environments/staging/releases/", {"version": 1}, format="json"
    )
    token_client(editor).put(
        f"{DEV}/override/",
        {"override": {"stages": {"data_quality": {"timeout_seconds": 30}}}},
        format="json",
        **etag(token_client(editor), f"{DEV}/override/"),
    )
    # When compared
    body = token_client(viewer).get(f"{DEV}/diff/staging/").json()
    # Then the one difference is listed
    assert (body["before"], body["after"]) == ("development", "staging")
    assert [c["setting"] for c in body["changes"]] == ["timeout_seconds"]
    assert_error(token_client(viewer).get(f"{DEV}/diff/production/"), 404)
