"""Change control as publishers meet it: one opens a release request for production, a
second approves it from "Waiting for you" and applies it, and production runs it."""

import json
import re

import pytest
from playwright.sync_api import expect

from pipelines_admin.changes.models import ChangeRequest
from pipelines_admin.configs.models import Environment
from pipelines_admin.configs.selectors import release_live
from pipelines_admin.testcases import services as testcase_services

from .test_pipeline_page import released, user  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def controlled_v2(released, django_user_model):
    """Production under change control; version 2 written and passing the test suite there."""
    from pipelines_admin.configs import services as config_services

    author = released.versions.get().author
    document = json.loads(json.dumps(released.versions.get().document))
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 21
    config_services.config_version_create(
        pipeline=released,
        document=document,
        base_version=released.versions.get(),
        author=author,
        message="minimum age 21",
    )
    testcase_services.case_create(
        pipeline=released,
        name="adult",
        actor=author,
        expected={"status": "passed"},
        record={"name": "Ann Lee", "email": "ann@example.com", "date_of_birth": "1980-01-01"},
    )
    production = Environment.objects.get(name="production")
    production.change_requests_required = True
    production.save()
    suite = testcase_services.suite_run_now(
        pipeline=released, environment=production, actor=author, version=released.versions.get(number=2)
    )
    assert suite.status == "passed"
    user(django_user_model, "petra", "viewer", "editor", "publisher")
    return released


def test_change_request__opened_approved_from_waiting_for_you_and_applied(login, live_server, controlled_v2):
    production = Environment.objects.get(name="production")
    # Given a publisher releases version 2 to production
    page = login("paula", "correct horse battery")
    page.goto(f"{live_server.url}/pipelines/signup/versions/2/")
    page.locator("#release select").select_option("production")
    page.locator("#release input[name=reason]").fill("raise the minimum age")
    page.locator("#release").get_by_role("button", name="Release").click()
    # Then a change request is opened instead, and production still runs version 1
    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))
    change = ChangeRequest.objects.get()
    assert page.url == f"{live_server.url}/changes/{change.pk}/"
    expect(page.locator(".messages")).to_contain_text(
        f"Change request #{change.pk} opened: production needs 1 approval from another publisher"
    )
    expect(page.locator("#why-not")).to_contain_text("Nobody approves their own change request.")
    assert release_live(controlled_v2, production).version.number == 1

    # When a second publisher finds it waiting for her, and approves it
    page.get_by_role("button", name="Log out").click()
    page = login("petra", "correct horse battery")
    page.goto(f"{live_server.url}/changes/")
    expect(page.locator(".mainnav .nav-count")).to_have_text("1")
    page.locator("#waiting").get_by_role(
        "link", name=f"#{change.pk} signup: release v2 in production"
    ).click()
    expect(page.locator("#what-it-changes")).to_contain_text("minimum_age 18 → 21")
    page.locator("#approve-form input[name=comment]").fill("suite passed, diff checked")
    page.locator("#approve-form").get_by_role("button", name="Approve revision 1").click()
    expect(page.locator(".messages")).to_contain_text(f"You approved change request #{change.pk}.")
    expect(page.locator("#standing")).to_contain_text("Approved: ready to apply")
    # And applies it
    page.locator("#apply-form").get_by_role("button", name="Apply to production").click()
    expect(page.locator(".messages")).to_contain_text(f"Change request #{change.pk} applied to production.")

    # Then production runs version 2
    page.goto(f"{live_server.url}/environments/production/")
    expect(page.locator("#live")).to_contain_text("v2")
    assert release_live(controlled_v2, production).version.number == 2
