"""The release gate as a publisher meets it: a test case, a refused release, the suite, the release."""

import json

import pytest
from playwright.sync_api import expect

from pipelines_admin.configs.selectors import release_live
from pipelines_admin.testcases import services as testcase_services
from pipelines_admin.testcases.models import SuiteRun

from .test_pipeline_page import released, user  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def test_release_gate__refused_then_tested_then_released(login, live_server, released, django_user_model):
    from pipelines_admin.configs import services as config_services

    publisher = released.versions.get().author
    document = json.loads(json.dumps(released.versions.get().document))
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 21
    config_services.config_version_create(
        pipeline=released,
        document=document,
        base_version=released.versions.get(),
        author=publisher,
        message="minimum age 21",
    )
    testcase_services.case_create(
        pipeline=released,
        name="adult",
        actor=publisher,
        expected={"status": "passed"},
        record={"name": "Ann Lee", "email": "ann@example.com", "date_of_birth": "1980-01-01"},
    )
    page = login("paula", "correct horse battery")
    page.goto(f"{live_server.url}/pipelines/signup/versions/2/")
    gate = page.locator("#gate")
    expect(gate).to_contain_text("✗ closed")
    expect(gate).to_contain_text("has not run on this exact config")

    # releasing anyway without ticking the override is refused, and says why
    page.locator("#release select").select_option("production")
    page.locator("#release input[name=reason]").fill("raise the minimum age")
    page.locator("#release").get_by_role("button", name="Release").click()
    expect(page.locator("#release .error").first).to_contain_text("Release gate:")
    assert (
        release_live(
            released, released.releases.first().environment.__class__.objects.get(name="production")
        ).version.number
        == 1
    )

    # the suite runs (the worker's work done here), the gate opens, the release goes through
    page.locator("#gate").get_by_role(
        "button", name="Run the test cases on v2 as production would run it"
    ).click()
    suite = SuiteRun.objects.get()
    testcase_services.suite_execute(suite.pk)
    expect(page.locator("#progress")).to_contain_text("1 of 1 test cases run", timeout=10_000)
    page.goto(f"{live_server.url}/pipelines/signup/versions/2/")
    expect(page.locator("#gate")).to_contain_text("✓ open")
    page.locator("#release select").select_option("production")
    page.locator("#release input[name=reason]").fill("raise the minimum age")
    page.locator("#release").get_by_role("button", name="Release").click()
    expect(page).to_have_url(f"{live_server.url}/pipelines/signup/environments/production/")
    expect(page.locator(".messages")).to_contain_text("Version 2 released to production")
