"""The review pages: the queue (oldest first, age and SLA colour, filters, the backlog in
the navigation), a run's review (trace, claim, reveal, decide, dispositions), the run
page's review panel, and the dashboards' review figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from pipelines_admin.reviews import services
from pipelines_admin.reviews.models import ReviewCase
from pipelines_admin.testcases.models import TestCase
from tests.pipelines_admin.reviews.conftest import PEP_APPLICANT, review_run  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_review_queue__runs_of_several_ages__oldest_first_with_sla_colours(review_run, viewer, settings):
    # Given a 24-hour SLA and runs in review waiting 1 hour, 15 hours and 30 hours
    settings.REVIEW_SLA_HOURS = 24
    fresh = review_run(age=timedelta(hours=1))
    late = review_run(age=timedelta(hours=30))
    due = review_run(age=timedelta(hours=15))
    # When a viewer opens the queue
    html = client_of(viewer).get(reverse("console:reviews")).content.decode()
    # Then the oldest comes first, each aged and coloured against the SLA
    positions = [html.index(str(run.pk)[:8]) for run in (late, due, fresh)]
    assert positions == sorted(positions)
    assert 'sla-red" title' in html and 'sla-amber" title' in html and 'sla-green" title' in html
    assert "30 h" not in html and "1 d 6 h" in html and "15 h 00 min" in html
    # and the navigation counts the backlog
    assert 'title="3 waiting for a reviewer">3</span>' in html
    # and the viewer is told deciding takes the reviewer role
    assert "needs the reviewer role" in html


def test_review_queue__decided_run__left_out_and_empty_state_explains(review_run, reviewer, viewer):
    # Given the only run in review, decided
    run = review_run()
    services.review_decide(run=run, actor=reviewer, decision="decline", reason_code="risk_too_high")
    # When the queue is opened
    html = client_of(viewer).get(reverse("console:reviews")).content.decode()
    # Then it is empty, saying how applications get there
    assert str(run.pk)[:8] not in html and "No application is waiting for a review" in html
    assert "on_fail" in html


def test_review_queue__environment_filter_by_htmx__only_the_table_for_that_environment(
    review_run, viewer, released, environments, editor
):
    from pipelines_admin.releases import services as release_services
    from tests.pipelines_admin.reviews.conftest import make_review_run

    release_services.release_create(
        pipeline=released, environment=environments["staging"], version=released.versions.get(), actor=editor
    )
    development = review_run()
    staging = make_review_run(released, environments["staging"], editor)
    response = client_of(viewer).get(
        reverse("console:reviews") + "?environment=staging", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="queue-table">')
    assert str(staging.pk)[:8] in html and str(development.pk)[:8] not in html


def test_review_page__two_approvals_needed__trace_highlights_the_routed_rule_and_counts_what_is_missing(
    review_run, reviewer
):
    # Given a run in review whose rule needs two reviewers
    run = review_run(approvals=2)
    # When a reviewer opens its review
    html = client_of(reviewer).get(reverse("console:review", kwargs={"run_id": run.pk})).content.decode()
    # Then it says two approvals from different reviewers are needed, shows why and the trace with the
    # routed rule marked, and offers the claim, the reveal and the decision
    assert "Waiting for 2 approvals from different reviewers" in html
    assert "2 more approvals needed" in html
    assert "pep_hit" in html and "We need to check a few details." in html
    assert '<tr class="routed">' in html and "listed as a politically exposed person" in html
    assert "Claim it" in html and "Reveal one field" in html and ">Approve</button>" in html
    # and no personal value of the applicant is on the page
    for value in PEP_APPLICANT.values():
        assert value not in html


def test_review_page__viewer__no_controls_and_a_role_note(review_run, viewer):
    html = (
        client_of(viewer).get(reverse("console:review", kwargs={"run_id": review_run().pk})).content.decode()
    )
    assert "Claim it" not in html and "Reveal one field" not in html and ">Approve</button>" not in html
    assert "Deciding applications needs the reviewer role" in html


def test_review_page__held_by_another__names_the_holder_without_controls(review_run, reviewer, reviewer2):
    run = review_run()
    services.review_claim(run=run, actor=reviewer2)
    html = client_of(reviewer).get(reverse("console:review", kwargs={"run_id": run.pk})).content.decode()
    assert "<strong>rex</strong> is reviewing it" in html
    assert "Claim it" not in html and ">Approve</button>" not in html and "Reveal one field" not in html


def test_review_page__run_not_in_review__404(released, environments, editor, reviewer):
    from pipelines_admin.runs.services import run_submit

    run = run_submit(
        pipeline=released, environment=environments["development"], record=PEP_APPLICANT, actor=editor
    )
    assert client_of(reviewer).get(reverse("console:review", kwargs={"run_id": run.pk})).status_code == 404


def test_review_claim_and_release__posted__held_then_free(review_run, reviewer):
    run = review_run()
    client = client_of(reviewer)
    response = client.post(reverse("console:review-claim", kwargs={"run_id": run.pk}))
    assert response.status_code == 302 and ReviewCase.objects.get().claimed_by == reviewer
    html = client.get(response["Location"]).content.decode()
    assert "You are reviewing it" in html and ">Release</button>" in html
    client.post(reverse("console:review-release", kwargs={"run_id": run.pk}))
    assert ReviewCase.objects.get().claimed_by is None


def test_review_reveal__htmx_post__fragment_with_the_value_not_cached(review_run, reviewer):
    # Given a reviewer on a run's review
    run = review_run()
    # When they reveal the SSN with a reason, through htmx
    response = client_of(reviewer).post(
        reverse("console:review-reveal", kwargs={"run_id": run.pk}),
        {"field": "ssn", "reason": "compare with the PEP list"},
        HTTP_HX_REQUEST="true",
    )
    # Then the fragment shows that one value, and no cache keeps it
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="reveal">')
    assert PEP_APPLICANT["ssn"] in html and PEP_APPLICANT["name"] not in html
    assert response["Cache-Control"] == "no-store"


def test_review_reveal__no_reason__form_again_with_the_error_and_nothing_revealed(review_run, reviewer):
    run = review_run()
    response = client_of(reviewer).post(
        reverse("console:review-reveal", kwargs={"run_id": run.pk}), {"field": "ssn", "reason": ""}
    )
    html = response.content.decode()
    assert (
        response.status_code == 400 and PEP_APPLICANT["ssn"] not in html and "This field is required" in html
    )


def test_review_decide__approve_posted_on_two_approval_case__message_says_one_more_needed(
    review_run, reviewer
):
    run = review_run(approvals=2)
    client = client_of(reviewer)
    response = client.post(
        reverse("console:review-decide", kwargs={"run_id": run.pk}),
        {
            "decision": "approve",
            "approve-reason_code": "false_positive",
            "approve-note": "<b>ok</b>",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "1 more approval from another reviewer needed" in html
    assert "You approved it already" in html and ">Approve</button>" not in html
    # the note is escaped
    assert "&lt;b&gt;ok&lt;/b&gt;" in html and "<b>ok</b>" not in html


def test_review_decide__reason_code_of_decline_with_approve__400_with_the_form(review_run, reviewer):
    run = review_run()
    response = client_of(reviewer).post(
        reverse("console:review-decide", kwargs={"run_id": run.pk}),
        {"decision": "approve", "approve-reason_code": "confirmed_match"},
    )
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not ReviewCase.objects.exists()


def test_run_page__decided_review__panel_shows_each_disposition(review_run, reviewer, reviewer2, viewer):
    # Given a run approved by two reviewers
    run = review_run(approvals=2)
    services.review_decide(
        run=run, actor=reviewer, decision="approve", reason_code="verified_identity", note="Passport seen."
    )
    services.review_decide(run=run, actor=reviewer2, decision="approve", reason_code="false_positive")
    # When the run's page is opened
    html = client_of(viewer).get(reverse("console:run-detail", kwargs={"run_id": run.pk})).content.decode()
    # Then its review panel shows the decision and each disposition with its reason and note
    assert "Review: approved" in html
    assert (
        "<strong>rita</strong>" in html
        and "Identity verified with documents" in html
        and "Passport seen." in html
    )
    assert "<strong>rex</strong>" in html and "False positive: not the listed person" in html


def test_run_page__run_never_in_review__no_review_panel(released, environments, editor, viewer):
    from pipelines_admin.runs.services import run_execute, run_submit

    run = run_execute(
        run_submit(
            pipeline=released, environment=environments["development"], record=PEP_APPLICANT, actor=editor
        ).pk
    )
    html = client_of(viewer).get(reverse("console:run-detail", kwargs={"run_id": run.pk})).content.decode()
    assert 'id="run-review"' not in html


def test_review_save_as_test_case__declined_expecting_review__test_case_and_redirect(
    review_run, reviewer, editor
):
    run = review_run()
    services.review_decide(run=run, actor=reviewer, decision="decline", reason_code="confirmed_match")
    client = client_of(editor)
    html = client.get(reverse("console:review", kwargs={"run_id": run.pk})).content.decode()
    assert "failed: the reviewers&#x27; decision" in html and "Save as test case" in html
    response = client.post(
        reverse("console:review-save-as-test-case", kwargs={"run_id": run.pk}), {"expect": "review"}
    )
    case = TestCase.objects.get()
    assert response.status_code == 302 and case.expected_masked == {"status": "review"}
    assert response["Location"] == reverse(
        "console:test-case-edit", kwargs={"slug": "onboarding", "case_id": case.pk}
    )


def test_dashboards__backlog_decisions_and_dispositions__review_figures_shown(
    review_run, reviewer, reviewer2, viewer
):
    # Given one run waiting 2 hours, and two decided: approved by rita, declined by rex
    review_run(age=timedelta(hours=2))
    services.review_decide(run=review_run(), actor=reviewer, decision="approve", reason_code="false_positive")
    services.review_decide(
        run=review_run(), actor=reviewer2, decision="decline", reason_code="confirmed_match"
    )
    # When the dashboards are opened
    html = client_of(viewer).get(reverse("console:dashboards")).content.decode()
    # Then the review section shows the backlog, its oldest, the decisions and the dispositions
    section = html[html.index('id="reviews"') :]
    assert '<span class="value">1</span>' in section and "2 h 00 min" in section
    assert '2 <span class="muted small">(1 approved, 1 declined)</span>' in section
    assert "rita" in section and "False positive: not the listed person" in section
    assert "rex" in section and "Confirmed match" in section
