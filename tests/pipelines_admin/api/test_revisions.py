"""Optimistic concurrency in the API: ETag on reads, If-Match on writes to overrides,
toggles and test cases (428 without it, 412 when stale, nothing written either way)."""

import pytest

from pipelines_admin.configs.models import Release
from pipelines_admin.testcases.models import TestCase
from tests.pipelines_admin.api.conftest import assert_error, etag

pytestmark = pytest.mark.django_db

DEV = "/api/v1/pipelines/onboarding/environments/development"
CASES = "/api/v1/pipelines/onboarding/test-cases/"
PATCH = {"override": {"stages": {"data_quality": {"timeout_seconds": 30}}}}


def test_override_put__without_if_match__428_nothing_written(token_client, editor, released):
    # Given what development runs / When an override is sent without saying what it is based on
    response = token_client(editor).put(f"{DEV}/override/", PATCH, format="json")
    # Then 428, the current revision named, and no release made
    body = assert_error(response, 428)
    assert body["extra"]["revision"].startswith("release-") and Release.objects.count() == 1


def test_override_put__stale_etag__412_with_the_changes_nothing_written(
    token_client, editor, publisher, released
):
    # Given an editor who read development, then a colleague who turned a rule off there
    alice, bob = token_client(editor), token_client(publisher)
    seen = etag(alice, f"{DEV}/")
    bob.post(
        f"{DEV}/rules/data_quality/email_format/toggle/",
        {"enabled": False},
        format="json",
        **etag(bob, f"{DEV}/"),
    )
    releases = Release.objects.count()
    # When she saves her override based on what she read
    response = alice.put(f"{DEV}/override/", PATCH, format="json", **seen)
    # Then 412: nothing written, the newest revision and what changed since hers are in extra
    body = assert_error(response, 412)
    assert Release.objects.count() == releases
    assert body["extra"]["revision"] == alice.get(f"{DEV}/")["ETag"].strip('"')
    assert body["extra"]["live_release"]["kind"] == "toggle"
    assert [c["summary"] for c in body["extra"]["changes"]] == ["Rule email_format: enabled set to false."]
    # and with the new ETag the same change goes through, answering the next ETag
    again = alice.put(f"{DEV}/override/", PATCH, format="json", **etag(alice, f"{DEV}/"))
    assert again.status_code == 200 and again["ETag"] == alice.get(f"{DEV}/")["ETag"]


def test_toggle__stale_etag__412_nothing_written(token_client, editor, released):
    client = token_client(editor)
    seen = etag(client, f"{DEV}/")
    client.post(f"{DEV}/stages/business_rules/toggle/", {"enabled": False}, format="json", **seen)
    # the same ETag again is stale now
    response = client.post(
        f"{DEV}/rules/data_quality/email_format/toggle/", {"enabled": False}, format="json", **seen
    )
    assert_error(response, 412)
    assert Release.objects.count() == 2


def test_toggle__viewer_without_if_match__403_not_428(token_client, viewer, released):
    # the role is checked first: a viewer learns nothing about revisions
    response = token_client(viewer).post(
        f"{DEV}/stages/business_rules/toggle/", {"enabled": False}, format="json"
    )
    assert_error(response, 403)


def test_test_case__read_then_stale_write__412_then_428_without(token_client, editor, publisher, released):
    # Given a test case read by two people
    alice, bob = token_client(editor), token_client(publisher)
    created = alice.post(
        CASES,
        {
            "name": "adult",
            "input": {"name": "A B", "email": "a@example.com", "date_of_birth": "1990-01-01"},
            "expected": {"status": "passed"},
        },
        format="json",
    ).json()
    url = f"{CASES}{created['id']}/"
    alice_saw, bob_saw = etag(alice, url), etag(bob, url)
    assert alice_saw["HTTP_IF_MATCH"] == bob_saw["HTTP_IF_MATCH"]
    # When Bob renames it, then Alice changes it from what she read
    assert bob.patch(url, {"name": "adult passes"}, format="json", **bob_saw).status_code == 200
    response = alice.patch(url, {"description": "mine"}, format="json", **alice_saw)
    # Then Alice's change is refused with Bob's version in extra, and nothing of hers is written
    body = assert_error(response, 412)
    assert (
        body["extra"]["now"]["name"] == "adult passes" and body["extra"]["changed_by"] == publisher.username
    )
    assert TestCase.objects.get().description == ""
    # and deleting needs If-Match too
    assert_error(alice.delete(url), 428)
    assert alice.delete(url, **etag(alice, url)).status_code == 204


ENVS = "/api/v1/environments/"


def test_environment_settings__stale_etag__412_nothing_written(token_client, editor, publisher, environments):
    # Given two people who read staging's settings
    alice, bob = token_client(editor), token_client(publisher)
    alice_saw = etag(alice, f"{ENVS}staging/")
    # When Bob moves it, then Alice changes its description from what she read
    moved = bob.patch(f"{ENVS}staging/", {"position": 5}, format="json", **etag(bob, f"{ENVS}staging/"))
    assert moved.status_code == 200
    response = alice.patch(f"{ENVS}staging/", {"description": "mine"}, format="json", **alice_saw)
    # Then 412 with the settings as they are now; her description is not written
    body = assert_error(response, 412)
    assert body["extra"]["now"]["position"] == 5
    assert alice.get(f"{ENVS}staging/").json()["description"] != "mine"
    assert_error(alice.patch(f"{ENVS}staging/", {"description": "mine"}, format="json"), 428)


def test_binding__stale_etag__412_and_delete_needs_if_match(token_client, editor, publisher, environments):
    alice, bob = token_client(editor), token_client(publisher)
    bindings = f"{ENVS}development/bindings/"
    assert (
        alice.post(
            bindings, {"interface": "KYCService", "name": "jumio", "kind": "simulated"}, format="json"
        ).status_code
        == 201
    )
    url = f"{bindings}KYCService:jumio/"
    alice_saw = etag(alice, url)
    assert (
        bob.put(url, {"kind": "simulated", "latency_ms": 50}, format="json", **etag(bob, url)).status_code
        == 200
    )
    body = assert_error(
        alice.put(url, {"kind": "simulated", "failure_rate": 0.5}, format="json", **alice_saw), 412
    )
    assert body["extra"]["now"]["latency_ms"] == 50
    assert_error(alice.delete(url, **alice_saw), 412)
    assert_error(alice.delete(url), 428)
    assert alice.delete(url, **etag(alice, url)).status_code == 204
