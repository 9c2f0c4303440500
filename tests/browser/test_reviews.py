"""The review queue in a browser: a run in review is claimed, a field revealed, approved
by one reviewer and then a second, and the run's page shows both dispositions."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.models import Environment
from pipelines_admin.releases import services as release_services
from tests.pipelines_admin.conftest import SMALL_PIPELINE
from tests.pipelines_admin.reviews.conftest import PEP_APPLICANT, make_review_run

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery"
SCREENSHOTS = os.environ.get("REVIEW_SCREENSHOTS", "")


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/{name}.png", full_page=True)


@pytest.fixture
def world(django_user_model):
    """Two reviewers and a run of a released pipeline waiting for two approvals."""
    ensure_default_environments(Environment)
    editor = django_user_model.objects.create_user("erin", password=PASSWORD)
    editor.groups.set([Group.objects.get_or_create(name=r)[0] for r in ("viewer", "editor")])
    for name in ("rita", "rex"):
        user = django_user_model.objects.create_user(name, password=PASSWORD)
        user.groups.set([Group.objects.get_or_create(name="reviewer")[0]])
    pipeline = config_services.pipeline_create(
        slug="onboarding", name="Onboarding", document=SMALL_PIPELINE, author=editor
    )
    development = Environment.objects.get(name="development")
    release_services.release_create(
        pipeline=pipeline, environment=development, version=pipeline.versions.get(), actor=editor
    )
    return make_review_run(pipeline, development, editor, approvals=2, age=timedelta(hours=3))


def test_review_queue__two_reviewers__claim_reveal_approve_twice_and_run_page_shows_both(
    login, live_server, world
):
    run = world
    # Given the first reviewer, who sees the backlog in the navigation
    page = login("rita", PASSWORD)
    reviews_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews")
    expect(reviews_link).to_contain_text("1")
    # When she opens the queue
    reviews_link.click()
    row = page.locator("table.review-queue tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("age_verification")
    expect(row).to_contain_text("0 of 2")
    expect(row.locator(".sla")).to_have_class("sla sla-green")
    shot(page, "queue")
    # and opens the application
    row.get_by_role("link").click()
    expect(page.get_by_text("2 more approvals needed")).to_be_visible()
    expect(page.get_by_role("button", name="Claim it")).to_be_visible()
    # and reveals the SSN with a reason (in place, without a reload)
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Field").select_option("ssn")
    page.get_by_label("Why you need to see it").fill("compare with the PEP list")
    page.get_by_role("button", name="Reveal").click()
    expect(page.locator(".revealed")).to_contain_text(PEP_APPLICANT["ssn"])
    # Then she sees the value, and that revealing it claimed the case for her
    expect(page.get_by_text("You are reviewing it")).to_be_visible()
    expect(page.get_by_role("button", name="Claim it")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True
    shot(page, "case-revealed")
    # When she releases it, and claims it again
    page.get_by_role("button", name="Release").click()
    expect(page.get_by_text("Released: another reviewer can take it.")).to_be_visible()
    expect(page.get_by_text(PEP_APPLICANT["ssn"])).to_have_count(0)
    page.get_by_role("button", name="Claim it").click()
    expect(page.get_by_text("You are reviewing it")).to_be_visible()
    # and approves it with a reason code and a note
    approve = page.get_by_role("form", name="Approve")
    approve.get_by_label("Reason").select_option("verified_identity")
    approve.get_by_label("Note").fill("Passport checked against the list entry.")
    approve.get_by_role("button", name="Approve").click()
    # Then one more approval, from another reviewer, is needed
    expect(page.get_by_text("1 more approval from another reviewer needed")).to_be_visible()
    expect(page.get_by_text("You approved it already")).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    shot(page, "case-one-approval")

    # Given the second reviewer
    page.context.clear_cookies()
    page = login("rex", PASSWORD)
    page.goto(f"{live_server.url}/reviews/")
    expect(page.locator("table.review-queue tbody tr")).to_contain_text("1 of 2")
    page.locator("table.review-queue tbody tr").get_by_role("link").click()
    # When he approves it (deciding claims it for him)
    approve = page.get_by_role("form", name="Approve")
    approve.get_by_label("Reason").select_option("false_positive")
    approve.get_by_role("button", name="Approve").click()
    # Then it is approved and has left the queue
    expect(page.get_by_text("The application is approved.")).to_be_visible()
    shot(page, "case-approved")
    page.goto(f"{live_server.url}/reviews/")
    expect(page.get_by_text("No application is waiting for a review")).to_be_visible()
    # and the run's page shows both dispositions
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    panel = page.locator("#run-review")
    expect(panel).to_contain_text("Review: approved")
    expect(panel.locator(".disposition")).to_have_count(2)
    expect(panel).to_contain_text("rita")
    expect(panel).to_contain_text("Passport checked against the list entry.")
    expect(panel).to_contain_text("rex")
    expect(panel).to_contain_text("False positive: not the listed person")
    shot(page, "run-page")
