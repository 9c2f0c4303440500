"""Runs: submit (202 + Location), get (masked input, result once done), list with
filters and cursor pagination."""

import pytest

from pipelines_admin.runs import services
from pipelines_admin.runs.models import Run
from tests.pipelines_admin.api.conftest import assert_error

pytestmark = pytest.mark.django_db

APPLICANT = {
    "name": "Maria Garcia",
    "email": "maria.garcia@example.com",
    "date_of_birth": "1990-04-12",
    "ssn": "123-45-6789",
}


def submit(client, **overrides):
    body = {"pipeline": "onboarding", "environment": "development", "record": APPLICANT, **overrides}
    return client.post("/api/v1/runs/", body, format="json")


def test_run_submit__editor__202_with_location_and_queued_run(
    token_client, editor, released, django_capture_on_commit_callbacks
):
    # Given an editor / When they submit an application
    with django_capture_on_commit_callbacks() as callbacks:
        response = submit(token_client(editor))
    # Then 202: the run is queued (its enqueue waits for the commit), at the URL in Location
    assert response.status_code == 202
    body = response.json()
    assert response["Location"] == body["url"] == f"http://testserver/api/v1/runs/{body['id']}/"
    assert (body["status"], body["source"], body["version"], body["submitted_by"]) == (
        "queued",
        "api",
        1,
        "eddie",
    )
    assert len(callbacks) == 1
    # and the input is shown masked only
    assert body["input"]["ssn"] == "***-**-6789" and "123-45-6789" not in response.content.decode()


def test_run_get__after_execution__decision_and_masked_result(token_client, editor, viewer, released):
    # Given a submitted run that the worker's service executed
    run_id = submit(token_client(editor)).json()["id"]
    services.run_execute(run_id)
    # When a viewer polls it
    body = token_client(viewer).get(f"/api/v1/runs/{run_id}/").json()
    # Then the decision and the engine's result are there, with no PII in clear
    assert body["status"] == "passed" and body["result"]["status"] == "passed"
    assert body["finished_at"] and body["duration_ms"] > 0
    assert "maria.garcia" not in str(body)


def test_run_submit__pinned_version_and_stages__recorded(token_client, editor, released):
    # Given a pinned version and one stage / When submitted / Then the run records both
    body = submit(token_client(editor), version=1, stages=["data_quality"]).json()
    assert (body["release"], body["stages"], body["partial"]) == (None, ["data_quality"], True)
    # and a whole run is not partial
    assert submit(token_client(editor)).json()["partial"] is False


def test_run_submit__unknown_stage__400(token_client, editor, released):
    # Given a stage the pipeline does not have / When submitted / Then 400 naming it
    response = submit(token_client(editor), stages=["nope"])
    assert assert_error(response, 400)["extra"] == {"stages": ["nope"]}


def test_run_submit__not_released__404(token_client, editor, released):
    # Given onboarding not released to production / When submitted there / Then 404
    response = submit(token_client(editor), environment="production")
    assert "not been released" in assert_error(response, 404)["message"]


def test_run_submit__record_not_object__400(token_client, editor, released):
    # Given a record that is a list / When submitted / Then 400 on the record field
    body = assert_error(submit(token_client(editor), record=["a"]), 400)
    assert "record" in body["extra"]["fields"]


def test_run_submit__viewer__403(token_client, viewer, released):
    # Given a viewer / When they submit / Then 403 from the service
    assert "submit runs" in assert_error(submit(token_client(viewer)), 403)["message"]


def test_run_get__unknown__404(token_client, viewer, environments):
    # Given no such run / When asked for / Then 404
    assert_error(token_client(viewer).get("/api/v1/runs/00000000-0000-0000-0000-000000000000/"), 404)


def test_runs_list__filters_and_cursor__every_run_once_newest_first(token_client, editor, viewer, released):
    # Given five API runs and one from the console
    client = token_client(editor)
    ids = [submit(client).json()["id"] for _ in range(5)]
    services.run_submit(
        pipeline=released,
        environment=released.releases.first().environment,
        record=APPLICANT,
        actor=editor,
        source=Run.Source.BROWSER,
    )
    # When a viewer pages through the API runs two at a time
    reader, seen = token_client(viewer), []
    url = "/api/v1/runs/?source=api&pipeline=onboarding&page_size=2"
    while url:
        page = reader.get(url).json()
        assert len(page["results"]) <= 2
        assert all("input" not in r and "result" not in r for r in page["results"])
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    # Then each API run comes once, newest first, and the console's is filtered out
    assert seen == list(reversed(ids))


def test_runs_list__invalid_filters__400_naming_them(token_client, viewer, environments):
    # Given an unknown status and a malformed batch id / When listing / Then 400 naming both
    body = assert_error(token_client(viewer).get("/api/v1/runs/?status=maybe&batch=x"), 400)
    assert set(body["extra"]["fields"]) == {"status", "batch"}


def test_runs_list__stale_cursor__404(token_client, viewer, environments):
    # Given a cursor that is not one / When listing / Then 404 in the error shape
    assert_error(token_client(viewer).get("/api/v1/runs/?cursor=garbage"), 404)
