"""The review queue over the API: the queue, a review, claim, release, reveal, decide,
save as test case and the review figures, with the same rules as the console."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.reviews.models import ReviewCase
from tests.pipelines_admin.api.conftest import assert_error
from tests.pipelines_admin.reviews.conftest import PEP_APPLICANT, make_review_run

pytestmark = pytest.mark.django_db

API = "/api/v1/reviews/"


@pytest.fixture
def review_run(released, environments, editor):
    def make(**kwargs):
        return make_review_run(released, environments["development"], editor, **kwargs)

    return make


def test_review_list__runs_in_review__oldest_first_with_sla_and_approvals(
    token_client, viewer, review_run, settings
):
    # Given a 24-hour SLA and two runs in review, 30 hours and 1 hour old
    settings.REVIEW_SLA_HOURS = 24
    recent = review_run(age=timedelta(hours=1), approvals=2)
    old = review_run(age=timedelta(hours=30))
    # When a viewer lists the queue
    body = token_client(viewer).get(API).json()
    # Then the oldest comes first, each with its age, SLA colour and approvals
    assert [r["run"] for r in body["results"]] == [str(old.pk), str(recent.pk)]
    first, second = body["results"]
    assert first["sla"] == "red" and first["age_seconds"] > 30 * 3600 - 5
    assert second["sla"] == "green" and second["approvals_required"] == 2 and second["approvals_missing"] == 2
    assert first["rules"] == ["age_verification"] and first["claimed_by"] is None
    assert first["url"].endswith(f"/api/v1/reviews/{old.pk}/") and first["run_url"].endswith(
        f"/api/v1/runs/{old.pk}/"
    )


def test_review_list__filtered_by_another_environment__empty(token_client, viewer, review_run):
    review_run()
    assert token_client(viewer).get(API + "?environment=staging").json()["results"] == []
    assert len(token_client(viewer).get(API + "?pipeline=onboarding").json()["results"]) == 1


def test_review_flow__claim_reveal_decide_by_two_reviewers__approved_and_left_the_queue(
    token_client, reviewer, reviewer2, review_run
):
    # Given a run needing two approvals
    run = review_run(approvals=2)
    rita, rex = token_client(reviewer), token_client(reviewer2)
    # When the first reviewer claims it
    claimed = rita.post(f"{API}{run.pk}/claim/")
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "rita"
    assert "ssn" in claimed.json()["revealable_fields"]
    # and the second cannot take it meanwhile
    assert_error(rex.post(f"{API}{run.pk}/claim/"), 409)
    # and the first reveals a field, then approves
    revealed = rita.post(
        f"{API}{run.pk}/reveal/", {"field": "ssn", "reason": "compare with the list"}, format="json"
    )
    assert revealed.status_code == 200 and revealed.json() == {"field": "ssn", "value": PEP_APPLICANT["ssn"]}
    assert revealed["Cache-Control"] == "no-store"
    first = rita.post(
        f"{API}{run.pk}/decide/", {"decision": "approve", "reason_code": "verified_identity"}, format="json"
    )
    assert first.status_code == 200
    assert (
        first.json()["status"] == "open"
        and first.json()["approvals_missing"] == 1
        and first.json()["claimed_by"] is None
    )
    # and approving again is refused
    again = rita.post(
        f"{API}{run.pk}/decide/", {"decision": "approve", "reason_code": "false_positive"}, format="json"
    )
    assert_error(again, 409)
    # When the second approves
    second = rex.post(
        f"{API}{run.pk}/decide/",
        {"decision": "approve", "reason_code": "false_positive", "note": "ok"},
        format="json",
    )
    # Then it is approved, with both dispositions, and the queue is empty
    body = second.json()
    assert body["status"] == "approved" and body["decided_at"] is not None
    assert [(d["reviewer"], d["decision"], d["reason_code"]) for d in body["dispositions"]] == [
        ("rita", "approve", "verified_identity"),
        ("rex", "approve", "false_positive"),
    ]
    assert rita.get(API).json()["results"] == []
    assert AuditEvent.objects.filter(action="review.approved").count() == 2


def test_review_decide__viewer_or_editor__403_and_nothing_written(token_client, viewer, editor, review_run):
    run = review_run()
    for user in (viewer, editor):
        response = token_client(user).post(
            f"{API}{run.pk}/decide/", {"decision": "decline", "reason_code": "risk_too_high"}, format="json"
        )
        assert_error(response, 403)
    assert not ReviewCase.objects.exists()


def test_review_decide__reason_code_of_the_other_decision__400(token_client, reviewer, review_run):
    run = review_run()
    response = token_client(reviewer).post(
        f"{API}{run.pk}/decide/", {"decision": "decline", "reason_code": "false_positive"}, format="json"
    )
    assert "reason_code" in assert_error(response, 400)["extra"]["fields"]


def test_review_release__holder__free_again(token_client, reviewer, review_run):
    run = review_run()
    client = token_client(reviewer)
    client.post(f"{API}{run.pk}/claim/")
    assert client.post(f"{API}{run.pk}/release/").json()["claimed_by"] is None
    assert_error(client.post(f"{API}{run.pk}/release/"), 409)


def test_review_detail__run_not_in_review__404(token_client, viewer, released, environments, editor):
    from pipelines_admin.runs.services import run_submit

    run = run_submit(
        pipeline=released, environment=environments["development"], record=PEP_APPLICANT, actor=editor
    )
    assert_error(token_client(viewer).get(f"{API}{run.pk}/"), 404)


def test_review_detail__any_reader__trace_reasons_and_masked_input(token_client, viewer, review_run):
    run = review_run()
    body = token_client(viewer).get(f"{API}{run.pk}/").json()
    assert body["status"] == "open" and body["reasons"][0]["reason_code"] == "pep_hit"
    assert body["result"]["decision"]["review"]["rules"] == ["age_verification"]
    assert body["input"]["ssn"] != PEP_APPLICANT["ssn"]


def test_review_save_as_test_case__declined__201_expecting_failed(token_client, reviewer, editor, review_run):
    run = review_run()
    token_client(reviewer).post(
        f"{API}{run.pk}/decide/", {"decision": "decline", "reason_code": "confirmed_match"}, format="json"
    )
    response = token_client(editor).post(f"{API}{run.pk}/save-as-test-case/", {}, format="json")
    assert response.status_code == 201 and response.json()["expected_masked"]["status"] == "failed"
    assert response["Location"] == response.json()["url"]


def test_review_summary__backlog_decisions_and_dispositions__figures(
    token_client, viewer, reviewer, review_run
):
    # Given one run waiting and one declined by rita
    review_run(age=timedelta(hours=2))
    declined = review_run(age=timedelta(hours=1))
    token_client(reviewer).post(
        f"{API}{declined.pk}/decide/",
        {"decision": "decline", "reason_code": "confirmed_match"},
        format="json",
    )
    # When the review figures are read
    body = token_client(viewer).get(API + "summary/?hours=24").json()
    # Then they hold the backlog, the decision and its time, and the disposition by reviewer and reason
    assert body["backlog"] == 1 and 2 * 3600 - 60 < body["oldest_seconds"] < 2 * 3600 + 60
    assert body["decided"] == 1 and body["declined"] == 1 and 3500 < body["decision_p50_seconds"] < 3700
    assert body["dispositions"] == [
        {
            "reviewer": "rita",
            "decision": "decline",
            "reason_code": "confirmed_match",
            "reason": "Confirmed match",
            "count": 1,
        }
    ]
