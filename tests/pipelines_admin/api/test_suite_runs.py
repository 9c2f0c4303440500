"""Suite runs: start (202 + Location, enqueued on commit), progress, results and coverage
once the worker's service ran them, list without results; coverage of the newest."""

import pytest

from pipelines_admin.testcases import services
from pipelines_admin.testcases.models import SuiteRun
from tests.pipelines_admin.api.conftest import assert_error

pytestmark = pytest.mark.django_db

SUITES = "/api/v1/pipelines/onboarding/suite-runs/"
COVERAGE = "/api/v1/pipelines/onboarding/coverage/"
ADULT = {
    "name": "Maria Garcia",
    "email": "maria.garcia@example.com",
    "date_of_birth": "1990-04-12",
    "ssn": "123-45-6789",
}
NO_EMAIL = {"name": "Ann Lee", "date_of_birth": "1980-01-01", "ssn": "555-12-3456"}


def add_case(client, name, record, expected):
    response = client.post(
        "/api/v1/pipelines/onboarding/test-cases/",
        {"name": name, "input": record, "expected": expected},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.fixture
def cases(token_client, editor, released):
    """An adult that passes with the email expected, and an application without an email
    wrongly expected to pass (so the suite fails)."""
    client = token_client(editor)
    return [
        add_case(
            client,
            "adult passes",
            ADULT,
            {"status": "passed", "fields": [{"field": "email", "equals": "maria.garcia@example.com"}]},
        ),
        add_case(
            client,
            "no email passes (wrong)",
            NO_EMAIL,
            {
                "status": "passed",
                "rules": [{"stage": "data_quality", "rule": "required_fields", "outcome": "pass"}],
            },
        ),
    ]


def start(client, django_capture_on_commit_callbacks, **body):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(SUITES, {"environment": "development", **body}, format="json")
    return response, callbacks


def test_suite_run_start__editor__202_queued_then_results_after_execution(
    token_client, editor, viewer, cases, django_capture_on_commit_callbacks
):
    # Given two test cases / When an editor starts the suite on development
    response, callbacks = start(token_client(editor), django_capture_on_commit_callbacks)
    # Then 202: queued at the URL in Location, enqueued once the transaction commits
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == body["url"] == f"http://testserver{SUITES}{body['id']}/"
    assert (body["status"], body["total"], body["processed"], body["results"], body["coverage"]) == (
        "queued",
        2,
        0,
        [],
        {},
    )
    assert body["progress"] == {"percent": 0, "finished": False}
    assert (body["environment"], body["version"], body["target"], body["requested_by"]) == (
        "development",
        1,
        "live in development (v1)",
        "eddie",
    )
    assert body["effective_hash"] == released_hash(editor)
    assert len(callbacks) == 1
    # When the worker's service runs it and a viewer polls it
    services.suite_execute(body["id"])
    response = token_client(viewer).get(body["url"])
    detail = response.json()
    # Then it failed: one case met its expectations, the other not, each with why
    assert (detail["status"], detail["processed"], detail["passed"], detail["failed"]) == ("failed", 2, 1, 1)
    assert detail["progress"] == {"percent": 100, "finished": True} and detail["finished_at"]
    results = {r["case"]: r for r in detail["results"]}
    assert results[cases[0]]["passed"] is True and results[cases[0]]["failures"] == []
    wrong = results[cases[1]]
    assert (wrong["passed"], wrong["status"]) == (False, "failed")
    assert {f["what"] for f in wrong["failures"]} == {"status", "data_quality/required_fields"}
    assert wrong["result"]["status"] == "failed"
    assert ["data_quality", "required_fields", "fail"] in wrong["outcomes"]
    assert detail["coverage"]["data_quality/required_fields"] == {"pass": 1, "fail": 1}
    # and no PII in clear anywhere
    text = response.content.decode()
    for raw in ("123-45-6789", "555-12-3456", "maria.garcia@", "Maria Garcia", "Ann Lee"):
        assert raw not in text, raw


def released_hash(editor):
    from pipelines_admin.configs.models import Release

    return Release.objects.get(environment__name="development").effective_hash


def test_suite_run_start__pinned_version_and_proposed_override__tests_that_config(
    token_client, editor, cases, django_capture_on_commit_callbacks
):
    # Given a proposed override raising the minimum age / When the suite runs on it
    override = {
        "stages": {"business_rules": {"rules": {"age_verification": {"params": {"minimum_age": 40}}}}}
    }
    response, _ = start(
        token_client(editor), django_capture_on_commit_callbacks, version=1, override=override
    )
    # Then that exact config is the target, not what is live
    body = response.json()
    assert response.status_code == 202
    assert (body["override"], body["target"]) == (override, "v1 with a proposed override of development")
    assert body["effective_hash"] != released_hash(editor)
    # and the adult (34) now fails its expectation
    services.suite_execute(body["id"])
    detail = token_client(editor).get(body["url"]).json()
    assert [r["passed"] for r in detail["results"] if r["case"] == cases[0]] == [False]


def test_suite_run_start__not_released_environment__404_unless_version(
    token_client, editor, cases, django_capture_on_commit_callbacks
):
    # Given onboarding not released to production
    client = token_client(editor)
    # When the suite is started there without a version / Then 404
    response, callbacks = start(client, django_capture_on_commit_callbacks, environment="production")
    assert "not been released" in assert_error(response, 404)["message"] and not callbacks
    # and with a version, it tests that version with production's bindings
    response, _ = start(client, django_capture_on_commit_callbacks, environment="production", version=1)
    assert response.status_code == 202
    assert response.json()["target"] == "v1 in production (not released there)"


def test_suite_run_start__no_test_cases__400(
    token_client, editor, released, django_capture_on_commit_callbacks
):
    response, callbacks = start(token_client(editor), django_capture_on_commit_callbacks)
    assert "no test cases" in assert_error(response, 400)["message"]
    assert not callbacks and not SuiteRun.objects.exists()


def test_suite_run_start__invalid_override__400_with_paths(
    token_client, editor, cases, django_capture_on_commit_callbacks
):
    override = {"stages": {"data_quality": {"rules": {"email_format": {"class": "Nope"}}}}}
    response, _ = start(token_client(editor), django_capture_on_commit_callbacks, override=override)
    paths = [p["path"] for p in assert_error(response, 400)["extra"]["problems"]]
    assert "/stages/data_quality/rules/email_format/class" in paths


def test_suite_run_start__unknown_environment_or_version__404(
    token_client, editor, cases, django_capture_on_commit_callbacks
):
    client = token_client(editor)
    assert_error(start(client, django_capture_on_commit_callbacks, environment="moon")[0], 404)
    assert_error(start(client, django_capture_on_commit_callbacks, version=7)[0], 404)


def test_suite_run_start__viewer__403(token_client, viewer, cases, django_capture_on_commit_callbacks):
    response, _ = start(token_client(viewer), django_capture_on_commit_callbacks)
    assert "submit runs" in assert_error(response, 403)["message"]
    assert not SuiteRun.objects.exists()


def test_suite_runs_list__viewer__newest_first_without_results(
    token_client, editor, viewer, cases, django_capture_on_commit_callbacks
):
    # Given three suite runs, the first executed
    client = token_client(editor)
    ids = [start(client, django_capture_on_commit_callbacks)[0].json()["id"] for _ in range(3)]
    services.suite_execute(ids[0])
    # When a viewer pages through them two at a time
    reader, rows, url = token_client(viewer), [], f"{SUITES}?page_size=2"
    while url:
        page = reader.get(url).json()
        rows += page["results"]
        url = page["next"]
    # Then newest first, each once, without results or coverage
    assert [r["id"] for r in rows] == list(reversed(ids))
    assert all("results" not in r and "coverage" not in r for r in rows)
    assert [r["status"] for r in rows] == ["queued", "queued", "failed"]


@pytest.mark.parametrize("suite_id", ["999", "99999999999999999999"])
def test_suite_run_get__unknown__404(token_client, viewer, released, suite_id):
    assert_error(token_client(viewer).get(f"{SUITES}{suite_id}/"), 404)


def test_coverage__no_suite_run__empty(token_client, viewer, released):
    # Given no suite run yet / When coverage is asked for / Then nothing, in the same shape
    body = token_client(viewer).get(COVERAGE).json()
    assert body == {
        "suite_run": None,
        "outcomes": ["pass", "fail", "skip", "error", "timeout"],
        "rows": [],
        "untested": [],
    }


def test_coverage__after_suite_run__rows_and_untested_rules(
    token_client, editor, viewer, released, django_capture_on_commit_callbacks
):
    # Given one test case: an application without an email (the first rule fails, the rest never runs)
    client = token_client(editor)
    add_case(client, "no email fails", NO_EMAIL, {"status": "failed"})
    suite_id = start(client, django_capture_on_commit_callbacks)[0].json()["id"]
    services.suite_execute(suite_id)
    # and a newer suite run that never ran (it does not count)
    start(client, django_capture_on_commit_callbacks)
    # When coverage is asked for
    body = token_client(viewer).get(COVERAGE).json()
    # Then from the suite run that ran: each rule's counts, and the rules no case makes pass or fail
    assert (body["suite_run"]["id"], body["suite_run"]["status"]) == (suite_id, "passed")
    rows = {(r["stage"], r["rule"]): r for r in body["rows"]}
    assert set(rows) == {
        ("data_quality", "required_fields"),
        ("data_quality", "email_format"),
        ("business_rules", "age_verification"),
    }
    assert (
        rows["data_quality", "required_fields"]["counts"],
        rows["data_quality", "required_fields"]["exercised"],
    ) == ({"fail": 1}, True)
    assert rows["business_rules", "age_verification"] == {
        "stage": "business_rules",
        "rule": "age_verification",
        "counts": {"skip": 1},
        "exercised": False,
    }
    assert {(r["stage"], r["rule"]) for r in body["untested"]} == {
        ("data_quality", "email_format"),
        ("business_rules", "age_verification"),
    }


def test_suite_run_get__rule_message_quoting_pii__masked(
    token_client, editor, viewer, released, django_capture_on_commit_callbacks
):
    # Given a case whose malformed email the email rule's message quotes, wrongly expected to pass that rule
    client = token_client(editor)
    record = {**ADULT, "email": "maria.garcia.at.example.com"}
    add_case(
        client,
        "malformed email",
        record,
        {"status": "passed", "rules": [{"stage": "data_quality", "rule": "email_format", "outcome": "pass"}]},
    )
    suite_id = start(client, django_capture_on_commit_callbacks)[0].json()["id"]
    services.suite_execute(suite_id)
    # When its results are read
    response = token_client(viewer).get(f"{SUITES}{suite_id}/")
    # Then the failure is explained without the email in clear
    failures = response.json()["results"][0]["failures"]
    assert {f["what"] for f in failures} == {"status", "data_quality/email_format"}
    assert "maria.garcia.at.example.com" not in response.content.decode()
