"""Impact reports: start (202 + Location, one task per chunk on commit), progress, the
figures and masked samples once the workers' service replayed the chunks, list with a
version filter, cancel."""

import copy
from datetime import date

import pytest

from pipelines_admin.impact import services
from pipelines_admin.impact.models import ImpactChunk, ImpactReport
from pipelines_admin.runs import services as run_services
from tests.pipelines_admin.api.conftest import assert_error

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/pipelines/onboarding/impact-reports/"


def born(years_ago: int) -> str:
    today = date.today()
    return today.replace(year=today.year - years_ago, day=min(today.day, 28)).isoformat()


AGES = [born(36), born(19), born(12), born(56), born(20), born(45)]  # two 18-20 year olds, one minor


def applicant(i: int) -> dict:
    return {
        "name": f"Person Number{i}",
        "email": f"person{i}@example.com",
        "date_of_birth": AGES[i % len(AGES)],
        "ssn": f"123-45-{6000 + i}",
    }


@pytest.fixture
def history(released, environments, editor):
    """Twelve finished runs in development: adults, 19 and 20 year olds, minors."""
    for i in range(12):
        run = run_services.run_submit(
            pipeline=released, environment=environments["development"], record=applicant(i), actor=editor
        )
        run_services.run_execute(run.pk)


@pytest.fixture
def stricter(token_client, editor, released, small_pipeline_document):
    """Version 2: minimum age 21, saved through the API."""
    document = copy.deepcopy(small_pipeline_document)
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 21
    response = token_client(editor).post(
        "/api/v1/pipelines/onboarding/versions/",
        {"document": document, "base_version": 1, "message": "minimum age 21"},
        format="json",
    )
    assert response.status_code == 201
    return response.json()["number"]


def start(client, django_capture_on_commit_callbacks, **body):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(REPORTS, {"environment": "development", **body}, format="json")
    return response, callbacks


def process(report_id: int) -> None:
    """What the workers do with each chunk's task."""
    for chunk_id in ImpactChunk.objects.filter(report_id=report_id).values_list("pk", flat=True):
        services.impact_chunk_process(chunk_id)


def test_impact_report__stricter_age__queued_then_flips_and_masked_samples(
    token_client, editor, viewer, history, stricter, settings, django_capture_on_commit_callbacks
):
    settings.IMPACT_CHUNK_SIZE = 5  # three chunks
    # Given twelve past runs and version 2 raising the minimum age to 21
    # When an editor asks for its impact
    response, callbacks = start(
        token_client(editor), django_capture_on_commit_callbacks, candidate_version=stricter, last=100
    )
    # Then 202: queued at the URL in Location, its chunks enqueued once the transaction commits
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == body["url"] == f"http://testserver{REPORTS}{body['id']}/"
    assert (body["status"], body["last"], body["total"], body["processed"]) == ("queued", 100, 12, 0)
    assert body["progress"] == {"percent": 0, "finished": False}
    assert body["candidate"]["version"] == 2 and body["candidate"]["label"] == "v2 in development"
    assert (
        body["baseline"]["version"] == 1
        and body["baseline"]["effective_hash"] != body["candidate"]["effective_hash"]
    )
    assert body["summary"]["replayed"] == 0 and body["samples"] == []
    assert len(callbacks) == 1 and ImpactChunk.objects.filter(report_id=body["id"]).count() == 3
    # When the workers replayed every chunk and a viewer reads the report
    process(body["id"])
    response = token_client(viewer).get(body["url"])
    report = response.json()
    # Then completed: the 19 and 20 year olds (4 of 12) would now fail, rule by rule
    assert (report["status"], report["processed"], report["progress"]) == (
        "completed",
        12,
        {"percent": 100, "finished": True},
    )
    summary = report["summary"]
    assert (summary["replayed"], summary["unchanged"], summary["skipped"]) == (12, 8, 0)
    assert summary["flips"] == {"to_fail": 4, "to_pass": 0, "other": 0}
    assert summary["decisions"]["passed"] == {
        "passed": 6,
        "failed": 4,
        "review": 0,
        "undecided": 0,
        "error": 0,
    }
    assert summary["decisions"]["failed"]["failed"] == 2
    age = summary["rules"][0]
    assert (age["stage"], age["rule"], age["changed"]) == ("business_rules", "age_verification", 4)
    assert age["after"]["fail"] - age["before"]["fail"] == 4
    assert all(rule["changed"] == 0 for rule in summary["rules"][1:])
    assert summary["latency_ms"]["before"]["p50"] is not None and summary["latency_ms"]["after"]["mean"] > 0
    # and the samples are the flipped applications, both results, PII masked
    assert len(report["samples"]) == 4
    sample = report["samples"][0]
    assert (sample["direction"], sample["before_status"], sample["after_status"]) == (
        "to_fail",
        "passed",
        "failed",
    )
    assert sample["before"]["status"] == "passed" and sample["after"]["status"] == "failed"
    assert sample["input"]["ssn"].startswith("***-**-")
    text = response.content.decode()
    assert "123-45-60" not in text and "Person Number" not in text
    assert not any(f"person{i}@" in text for i in range(12))


def test_impact_report__proposed_override__compared_with_live(
    token_client, editor, history, django_capture_on_commit_callbacks
):
    # Given a proposed override disabling business_rules / When its impact is replayed
    override = {"stages": {"business_rules": {"enabled": False}}}
    response, _ = start(
        token_client(editor), django_capture_on_commit_callbacks, candidate_override=override, last=5
    )
    body = response.json()
    assert (response.status_code, body["total"], body["candidate"]["override"]) == (202, 5, override)
    assert body["candidate"]["label"] == "v1 with a proposed override of development"
    process(body["id"])
    # Then the minors among the latest five would now pass
    summary = token_client(editor).get(body["url"]).json()["summary"]
    assert summary["replayed"] == 5 and summary["flips"]["to_pass"] >= 1 and summary["flips"]["to_fail"] == 0


def test_impact_report__candidate_is_what_is_live__400(
    token_client, editor, history, django_capture_on_commit_callbacks
):
    response, callbacks = start(token_client(editor), django_capture_on_commit_callbacks, candidate_version=1)
    assert "exactly what runs in development" in assert_error(response, 400)["message"]
    assert not callbacks and not ImpactReport.objects.exists()


def test_impact_report__no_past_runs__400(token_client, editor, stricter, django_capture_on_commit_callbacks):
    response, _ = start(token_client(editor), django_capture_on_commit_callbacks, candidate_version=stricter)
    assert "no finished runs" in assert_error(response, 400)["message"]


def test_impact_report__over_the_limit__400_on_last(
    token_client, editor, history, stricter, settings, django_capture_on_commit_callbacks
):
    settings.IMPACT_MAX_RUNS = 10
    response, _ = start(
        token_client(editor), django_capture_on_commit_callbacks, candidate_version=stricter, last=11
    )
    assert "last" in assert_error(response, 400)["extra"]["fields"]
    response, _ = start(
        token_client(editor), django_capture_on_commit_callbacks, candidate_version=stricter, last=0
    )
    assert "last" in assert_error(response, 400)["extra"]["fields"]


def test_impact_report__not_released_or_unknown__404(
    token_client, editor, history, stricter, django_capture_on_commit_callbacks
):
    client = token_client(editor)
    response, _ = start(
        client, django_capture_on_commit_callbacks, environment="production", candidate_version=stricter
    )
    assert_error(response, 404)
    assert_error(start(client, django_capture_on_commit_callbacks, candidate_version=9)[0], 404)
    assert_error(
        client.post("/api/v1/pipelines/ghost/impact-reports/", {"environment": "development"}, format="json"),
        404,
    )


def test_impact_report__viewer__403(
    token_client, viewer, history, stricter, django_capture_on_commit_callbacks
):
    response, _ = start(token_client(viewer), django_capture_on_commit_callbacks, candidate_version=stricter)
    assert "submit runs" in assert_error(response, 403)["message"]
    assert not ImpactReport.objects.exists()


def test_impact_reports_list__version_filter_newest_first_without_figures(
    token_client, editor, viewer, history, stricter, django_capture_on_commit_callbacks
):
    # Given a report on version 2, then one on an override of version 1
    client = token_client(editor)
    on_v2 = start(client, django_capture_on_commit_callbacks, candidate_version=stricter)[0].json()["id"]
    on_v1 = start(
        client,
        django_capture_on_commit_callbacks,
        candidate_override={"stages": {"business_rules": {"enabled": False}}},
    )[0].json()["id"]
    reader = token_client(viewer)
    # When listed / Then newest first, without figures and samples
    rows = reader.get(REPORTS).json()["results"]
    assert [r["id"] for r in rows] == [on_v1, on_v2]
    assert all("summary" not in r and "samples" not in r for r in rows)
    # and filtered by candidate version
    assert [r["id"] for r in reader.get(f"{REPORTS}?version=2").json()["results"]] == [on_v2]
    assert [r["id"] for r in reader.get(f"{REPORTS}?version=1").json()["results"]] == [on_v1]
    assert_error(reader.get(f"{REPORTS}?version=7"), 404)
    assert "version" in assert_error(reader.get(f"{REPORTS}?version=two"), 400)["extra"]["fields"]


def test_impact_report_cancel__queued__cancelled_chunks_skipped_then_400(
    token_client, editor, viewer, history, stricter, django_capture_on_commit_callbacks
):
    # Given a queued report
    client = token_client(editor)
    report_id = start(client, django_capture_on_commit_callbacks, candidate_version=stricter)[0].json()["id"]
    # When a viewer tries to cancel it / Then 403
    assert_error(token_client(viewer).post(f"{REPORTS}{report_id}/cancel/"), 403)
    # When an editor cancels it / Then it is cancelled, and its chunks replay nothing
    response = client.post(f"{REPORTS}{report_id}/cancel/")
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert response.json()["progress"]["finished"] is True
    process(report_id)
    assert client.get(f"{REPORTS}{report_id}/").json()["summary"]["replayed"] == 0
    # and cancelling again is refused
    assert "already cancelled" in assert_error(client.post(f"{REPORTS}{report_id}/cancel/"), 400)["message"]


@pytest.mark.parametrize("report_id", ["999", "99999999999999999999"])
def test_impact_report_get__unknown__404(token_client, viewer, released, report_id):
    assert_error(token_client(viewer).get(f"{REPORTS}{report_id}/"), 404)
    assert_error(token_client(viewer).post(f"{REPORTS}{report_id}/cancel/"), 404)
