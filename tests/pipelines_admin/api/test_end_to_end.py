"""The README's curl session, with the test client and a real worker: a config goes from
a file through the test suite and the release gate to production, and an application
from a client to a decision, over HTTP only."""

import base64
import copy
import time

import pytest
from rest_framework.test import APIClient

from pipelines_admin.configs import services as config_services

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

APPLICANT = {
    "name": "Maria Garcia",
    "email": "maria.garcia@example.com",
    "date_of_birth": "1990-04-12",
    "ssn": "123-45-6789",
}


def poll(api, url: str, done) -> dict:
    """GET url until done(body), for up to 90 s (the worker's turn)."""
    deadline, body = time.monotonic() + 90, {}
    while time.monotonic() < deadline:
        body = api.get(url).json()
        if done(body):
            break
        time.sleep(0.2)
    return body


def test_readme_session__token_validate_version_suite_release_submit__decision(
    celery_worker_process, editor, publisher, small_pipeline_document, environments
):
    # Given onboarding at version 1, and the config file in git that changes it
    config_services.pipeline_create(
        slug="onboarding", name="Onboarding", document=small_pipeline_document, author=editor
    )
    config_file = copy.deepcopy(small_pipeline_document)
    config_file["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 21

    # When a publisher gets a token with their password
    login = APIClient()
    login.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"pat:pat-password-1").decode())
    token = login.post("/api/v1/tokens/", {"name": "release job"}, format="json").json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    # and validates the file, saves it as a version
    validation = api.post(
        "/api/v1/validate/", {"document": config_file, "environment": "production"}, format="json"
    ).json()
    latest = api.get("/api/v1/pipelines/onboarding/").json()["latest_version"]
    version = api.post(
        "/api/v1/pipelines/onboarding/versions/",
        {"document": config_file, "base_version": latest, "message": "minimum age 21"},
        format="json",
    )
    number = version.json()["number"]
    # finds production's release gate closed, adds a test case and runs the suite on the workers
    closed = api.get(f"/api/v1/pipelines/onboarding/environments/production/gate/?version={number}").json()
    case = api.post(
        "/api/v1/pipelines/onboarding/test-cases/",
        {
            "name": "adult passes",
            "input": APPLICANT,
            "expected": {
                "status": "passed",
                "rules": [{"stage": "business_rules", "rule": "age_verification", "outcome": "pass"}],
            },
        },
        format="json",
    )
    suite_started = api.post(
        "/api/v1/pipelines/onboarding/suite-runs/",
        {"environment": "production", "version": number},
        format="json",
    )
    suite = poll(api, suite_started["Location"], lambda body: body["progress"]["finished"])
    gate = api.get(f"/api/v1/pipelines/onboarding/environments/production/gate/?version={number}").json()
    # and releases it to production with a reason
    release = api.post(
        "/api/v1/pipelines/onboarding/environments/production/releases/",
        {"version": number, "reason": "CAB-42: minimum age 21"},
        format="json",
    )
    # and an application system submits an application there and polls for the decision
    submitted = api.post(
        "/api/v1/runs/",
        {"pipeline": "onboarding", "environment": "production", "record": APPLICANT},
        format="json",
    )
    run = poll(api, submitted["Location"], lambda body: body["status"] in ("passed", "failed", "error"))

    # Then every step answered as documented
    assert validation == {"valid": True, "problems": []}
    assert version.status_code == 201 and number == 2
    assert (closed["required"], closed["open"]) == (True, False)
    assert case.status_code == 201 and suite_started.status_code == 202
    # the worker ran the suite: passed, which opened the gate for that exact config
    assert suite["status"] == "passed", (suite, celery_worker_process.log()[-3000:])
    assert (gate["open"], gate["passing_suite_run"], gate["effective_hash"]) == (
        True,
        suite["id"],
        suite["effective_hash"],
    )
    assert release.status_code == 201 and release.json()["environment"] == "production"
    assert release.json()["effective_hash"] == suite["effective_hash"]
    assert submitted.status_code == 202
    # and the worker decided, with the production release, the applicant's PII masked
    assert run is not None and run["status"] == "passed", celery_worker_process.log()[-3000:]
    assert run["version"] == 2 and run["release"] == release.json()["id"]
    assert run["result"]["status"] == "passed" and run["input"]["ssn"] == "***-**-6789"
