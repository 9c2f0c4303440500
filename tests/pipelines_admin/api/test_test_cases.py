"""Test cases: create (input and expectation in clear, shown masked only), list with the
newest suite run's outcome, get, replace, change part, delete, save a run as one."""

import pytest

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.runs import services as run_services
from pipelines_admin.testcases import services
from pipelines_admin.testcases.models import TestCase
from tests.pipelines_admin.api.conftest import assert_error, etag

pytestmark = pytest.mark.django_db

CASES = "/api/v1/pipelines/onboarding/test-cases/"
ADULT = {
    "name": "Maria Garcia",
    "email": "maria.garcia@example.com",
    "date_of_birth": "1990-04-12",
    "ssn": "123-45-6789",
}
MINOR = {
    "name": "Tim Young",
    "email": "tim.young@example.com",
    "date_of_birth": "2015-01-01",
    "ssn": "987-65-4321",
}
PASSES = {
    "status": "passed",
    "rules": [{"stage": "business_rules", "rule": "age_verification", "outcome": "pass"}],
    "fields": [{"field": "email", "equals": "maria.garcia@example.com"}],
}
FAILS = {
    "status": "failed",
    "rules": [{"stage": "business_rules", "rule": "age_verification", "outcome": "fail"}],
}
RAW = ("123-45-6789", "987-65-4321", "maria.garcia@", "tim.young@", "1990-04-12", "Maria Garcia")


def create(client, name="adult passes", record=ADULT, expected=PASSES, **extra):
    return client.post(CASES, {"name": name, "input": record, "expected": expected, **extra}, format="json")


def assert_no_pii(response):
    text = response.content.decode()
    for raw in RAW:
        assert raw not in text, raw


def run_suite(client, django_capture_on_commit_callbacks, environment="development") -> int:
    """Start a suite run through the API and run it as the worker would."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/api/v1/pipelines/onboarding/suite-runs/", {"environment": environment}, format="json"
        )
    assert response.status_code == 202, response.content
    assert len(callbacks) == 1  # the enqueue, once the transaction commits
    services.suite_execute(response.json()["id"])
    return response.json()["id"]


def test_case_create__editor__201_with_location_and_masked_input(token_client, editor, released):
    # Given an editor / When they add a test case with PII in its input and expectation
    response = create(token_client(editor), description="an adult with a good email")
    # Then 201 at the URL in Location, shown masked only
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == body["url"] == f"http://testserver{CASES}{body['id']}/"
    assert (body["name"], body["description"], body["created_by"], body["source_run"]) == (
        "adult passes",
        "an adult with a good email",
        "eddie",
        None,
    )
    assert body["input_masked"]["ssn"] == "***-**-6789"
    assert body["expected_masked"]["fields"] == [{"field": "email", "equals": "m***********@example.com"}]
    assert body["expected_masked"]["rules"] == PASSES["rules"]
    assert "input" not in body and "expected" not in body
    assert (body["latest_outcome"], body["latest_suite_run"]) == (None, None)
    assert_no_pii(response)
    # and stored encrypted, in clear for the worker only
    assert services.case_content(TestCase.objects.get(pk=body["id"])) == (ADULT, PASSES)


def test_case_create__expectation_names_unknown_rule__400_with_path(token_client, editor, released):
    # Given an expectation on a rule the pipeline does not have / When added / Then 400 with its path
    expected = {
        "status": "passed",
        "rules": [{"stage": "business_rules", "rule": "ghost", "outcome": "pass"}],
    }
    body = assert_error(create(token_client(editor), expected=expected), 400)
    assert [p["path"] for p in body["extra"]["problems"]] == ["/rules/0/rule"]
    assert not TestCase.objects.exists()


def test_case_create__malformed_expectation_or_missing_input__400(token_client, editor, released):
    client = token_client(editor)
    # Given an expectation with an unknown status / Then 400 naming the problem
    body = assert_error(create(client, expected={"status": "maybe"}), 400)
    assert body["extra"]["problems"][0]["path"] == "/status"
    # Given no input / Then 400 on the field
    response = client.post(CASES, {"name": "x", "expected": PASSES}, format="json")
    assert "input" in assert_error(response, 400)["extra"]["fields"]


def test_case_create__name_taken__400(token_client, editor, released):
    # Given a case named "adult passes" / When another is added with that name / Then 400 on the name
    client = token_client(editor)
    assert create(client).status_code == 201
    assert assert_error(create(client), 400)["extra"] == {"fields": {"name": ["already used"]}}


def test_case_create__viewer__403(token_client, viewer, released):
    # Given a viewer / When they add a test case / Then 403 from the service, nothing stored
    assert "create config versions" in assert_error(create(token_client(viewer)), 403)["message"]
    assert not TestCase.objects.exists()


def test_case_create__unknown_pipeline__404(token_client, editor, environments):
    response = token_client(editor).post(
        "/api/v1/pipelines/ghost/test-cases/",
        {"name": "x", "input": ADULT, "expected": PASSES},
        format="json",
    )
    assert_error(response, 404)


def test_cases_list__after_suite_run__each_with_latest_outcome(
    token_client, editor, viewer, released, django_capture_on_commit_callbacks
):
    # Given a case that passes, one that fails its expectation, and a suite run of both
    client = token_client(editor)
    adult = create(client).json()["id"]
    wrong = create(client, name="minor expected to pass", record=MINOR, expected={"status": "passed"}).json()[
        "id"
    ]
    suite_id = run_suite(client, django_capture_on_commit_callbacks)
    # and a case added after it
    later = create(client, name="minor fails", record=MINOR, expected=FAILS).json()["id"]
    # When a viewer lists them two at a time
    reader, rows, url = token_client(viewer), [], f"{CASES}?page_size=2"
    while url:
        page = reader.get(url)
        assert page.status_code == 200
        assert_no_pii(page)
        rows += page.json()["results"]
        url = page.json()["next"]
    # Then by name, each with how it did in the newest suite run (none for the later one)
    assert [(r["id"], r["latest_outcome"], r["latest_suite_run"]) for r in rows] == [
        (adult, "passed", suite_id),
        (wrong, "failed", suite_id),
        (later, None, None),
    ]
    # and the detail says the same
    assert reader.get(f"{CASES}{wrong}/").json()["latest_outcome"] == "failed"


def test_case_get__viewer__masked_only(token_client, editor, viewer, released):
    # Given a case / When a viewer gets it / Then only the masked input and expectation
    case_id = create(token_client(editor)).json()["id"]
    response = token_client(viewer).get(f"{CASES}{case_id}/")
    assert response.status_code == 200
    assert response.json()["input_masked"]["email"] == "m***********@example.com"
    assert_no_pii(response)


@pytest.mark.parametrize("case_id", ["999", "99999999999999999999"])
def test_case_get__unknown_or_huge_id__404(token_client, viewer, released, case_id):
    assert_error(token_client(viewer).get(f"{CASES}{case_id}/"), 404)


def test_case_get__case_of_another_pipeline__404(
    token_client, editor, viewer, released, small_pipeline_document
):
    # Given a case of onboarding / When asked for under another pipeline / Then 404
    from pipelines_admin.configs import services as config_services

    config_services.pipeline_create(
        slug="other", name="Other", document=small_pipeline_document, author=editor
    )
    case_id = create(token_client(editor)).json()["id"]
    assert_error(token_client(viewer).get(f"/api/v1/pipelines/other/test-cases/{case_id}/"), 404)


def test_case_put__whole_case__replaced_and_audited(token_client, editor, released):
    # Given a case
    client = token_client(editor)
    case_id = create(client, description="first").json()["id"]
    # When replaced by a minor expected to fail, without a description
    response = client.put(
        f"{CASES}{case_id}/",
        {"name": "minor fails", "input": MINOR, "expected": FAILS},
        format="json",
        **etag(client, f"{CASES}{case_id}/"),
    )
    # Then it is, the description emptied, the change audited with masked values
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["description"], body["expected_masked"]) == ("minor fails", "", FAILS)
    assert services.case_content(TestCase.objects.get(pk=case_id)) == (MINOR, FAILS)
    event = AuditEvent.objects.get(action="test_case.changed", object_id=str(case_id))
    assert "987-65-4321" not in str(event.diff) and "123-45-6789" not in str(event.diff)
    assert_no_pii(response)


def test_case_put__without_expected__400_nothing_changed(token_client, editor, released):
    client = token_client(editor)
    case_id = create(client).json()["id"]
    response = client.put(
        f"{CASES}{case_id}/",
        {"name": "renamed", "input": MINOR},
        format="json",
        **etag(client, f"{CASES}{case_id}/"),
    )
    assert "expected" in assert_error(response, 400)["extra"]["fields"]
    assert TestCase.objects.get(pk=case_id).name == "adult passes"


def test_case_patch__name_only__content_kept(token_client, editor, released):
    # Given a case / When only its name and description change
    client = token_client(editor)
    case_id = create(client).json()["id"]
    response = client.patch(
        f"{CASES}{case_id}/",
        {"name": "adult", "description": "renamed"},
        format="json",
        **etag(client, f"{CASES}{case_id}/"),
    )
    # Then its input and expectation are as they were
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["description"]) == ("adult", "renamed")
    assert services.case_content(TestCase.objects.get(pk=case_id)) == (ADULT, PASSES)


def test_case_patch__expected_only__input_kept(token_client, editor, released):
    # Given a case / When only its expectation changes
    client = token_client(editor)
    case_id = create(client, description="kept").json()["id"]
    response = client.patch(
        f"{CASES}{case_id}/",
        {"expected": {"status": "failed"}},
        format="json",
        **etag(client, f"{CASES}{case_id}/"),
    )
    # Then the input, name and description stay
    body = response.json()
    assert (body["name"], body["description"], body["expected_masked"]) == (
        "adult passes",
        "kept",
        {"status": "failed"},
    )
    assert services.case_content(TestCase.objects.get(pk=case_id)) == (ADULT, {"status": "failed"})


def test_case_patch__input_only__expectation_kept(token_client, editor, released):
    client = token_client(editor)
    case_id = create(client).json()["id"]
    response = client.patch(
        f"{CASES}{case_id}/",
        {"input": {**ADULT, "ssn": "111-22-3333"}},
        format="json",
        **etag(client, f"{CASES}{case_id}/"),
    )
    assert response.json()["input_masked"]["ssn"] == "***-**-3333"
    assert services.case_content(TestCase.objects.get(pk=case_id)) == (
        {**ADULT, "ssn": "111-22-3333"},
        PASSES,
    )


def test_case_patch__viewer__403_unchanged(token_client, editor, viewer, released):
    case_id = create(token_client(editor)).json()["id"]
    assert_error(
        token_client(viewer).patch(
            f"{CASES}{case_id}/",
            {"name": "mine"},
            format="json",
            **etag(token_client(viewer), f"{CASES}{case_id}/"),
        ),
        403,
    )
    assert TestCase.objects.get(pk=case_id).name == "adult passes"


def test_case_delete__editor__204_then_404_audited(token_client, editor, released):
    # Given a case / When deleted / Then 204, gone, audited
    client = token_client(editor)
    case_id = create(client).json()["id"]
    response = client.delete(f"{CASES}{case_id}/", **etag(client, f"{CASES}{case_id}/"))
    assert response.status_code == 204 and not response.content
    assert_error(client.get(f"{CASES}{case_id}/"), 404)
    assert AuditEvent.objects.filter(action="test_case.deleted", object_id=str(case_id)).count() == 1


def test_case_delete__viewer__403_kept(token_client, editor, viewer, released):
    case_id = create(token_client(editor)).json()["id"]
    assert_error(
        token_client(viewer).delete(f"{CASES}{case_id}/", **etag(token_client(viewer), f"{CASES}{case_id}/")),
        403,
    )
    assert TestCase.objects.filter(pk=case_id).exists()


def test_save_run_as_test_case__finished_run__201_expecting_its_decision(token_client, editor, released):
    # Given a run of a minor that the worker finished (failed)
    run = run_services.run_submit(
        pipeline=released, environment=released.releases.get().environment, record=MINOR, actor=editor
    )
    run = run_services.run_execute(run.pk)
    client = token_client(editor)
    # When it is saved as a test case, twice without a name
    first = client.post(f"/api/v1/runs/{run.pk}/save-as-test-case/", {}, format="json")
    second = client.post(f"/api/v1/runs/{run.pk}/save-as-test-case/", format="json")
    # Then two test cases of its pipeline expecting its decision, named after it, PII masked
    assert first.status_code == 201, first.content
    body = first.json()
    assert first["Location"] == body["url"] and body["pipeline"] == "onboarding"
    assert (body["source_run"], body["expected_masked"]) == (str(run.pk), {"status": "failed"})
    assert body["name"] == f"Failed application from run {str(run.pk)[:8]}"
    assert second.json()["name"] == f"{body['name']} (2)"
    assert body["input_masked"]["ssn"] == "***-**-4321"
    assert_no_pii(first)
    assert services.case_content(TestCase.objects.get(pk=body["id"]))[0] == MINOR


def test_save_run_as_test_case__named__uses_the_name(token_client, editor, released):
    run = run_services.run_submit(
        pipeline=released, environment=released.releases.get().environment, record=ADULT, actor=editor
    )
    run_services.run_execute(run.pk)
    response = token_client(editor).post(
        f"/api/v1/runs/{run.pk}/save-as-test-case/", {"name": "happy path"}, format="json"
    )
    assert (response.status_code, response.json()["name"], response.json()["expected_masked"]) == (
        201,
        "happy path",
        {"status": "passed"},
    )


def test_save_run_as_test_case__queued_run__400(token_client, editor, released):
    # Given a run not yet executed / When saved / Then 400, no case
    run = run_services.run_submit(
        pipeline=released, environment=released.releases.get().environment, record=ADULT, actor=editor
    )
    response = token_client(editor).post(f"/api/v1/runs/{run.pk}/save-as-test-case/", {}, format="json")
    assert "not finished" in assert_error(response, 400)["message"]
    assert not TestCase.objects.exists()


def test_save_run_as_test_case__viewer_or_unknown_run__403_404(token_client, editor, viewer, released):
    run = run_services.run_submit(
        pipeline=released, environment=released.releases.get().environment, record=ADULT, actor=editor
    )
    run_services.run_execute(run.pk)
    assert_error(
        token_client(viewer).post(f"/api/v1/runs/{run.pk}/save-as-test-case/", {}, format="json"), 403
    )
    assert_error(
        token_client(editor).post(
            "/api/v1/runs/00000000-0000-0000-0000-000000000000/save-as-test-case/", {}, format="json"
        ),
        404,
    )
