"""The whole change-control journey in Chromium, with a real worker: an editor changes a
rule; a publisher asks to release it to production, which is under change control; a
second publisher approves and schedules it; when its time comes the scheduled apply
(beat's task, run by the worker) releases it after checking everything again; and a
webhook receiver on loopback gets the signed events."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from pipelines_admin.changes.models import ChangeRequest
from pipelines_admin.changes.tasks import apply_due
from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.models import Environment
from pipelines_admin.configs.samples import sample_get
from pipelines_admin.configs.selectors import release_live
from pipelines_admin.demo.pipelines import example_document
from pipelines_admin.releases import services as release_services
from pipelines_admin.testcases import services as testcase_services
from pipelines_admin.webhooks import services as webhook_services
from pipelines_admin.webhooks.events import EVENTS
from tests.browser.test_pipeline_page import user
from tests.pipelines_admin.runs.test_worker import wait_for
from tests.pipelines_admin.webhooks.conftest import receiver  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

PASSWORD = "correct horse battery"
APPLICANT = sample_get("good-applicant")["record"]  # credit score 742: passes at 650 and at 700


def test_change_control__editor_change_to_scheduled_apply_and_webhook(
    login, live_server, django_user_model, celery_worker_process, receiver
):
    # Given the onboarding pipeline live everywhere (set up before change control), a test
    # case, production under change control (one approval), and a webhook to a receiver
    ensure_default_environments(Environment)
    editor = user(django_user_model, "erin", "viewer", "editor")
    paula = user(django_user_model, "paula", "viewer", "editor", "publisher")
    petra = user(django_user_model, "petra", "viewer", "editor", "publisher")
    pipeline = config_services.pipeline_create(
        slug="onboarding",
        name="Onboarding",
        author=editor,
        document=example_document("customer_onboarding.json"),
    )
    testcase_services.case_create(
        pipeline=pipeline,
        name="good applicant",
        record=APPLICANT,
        expected={"status": "passed"},
        actor=editor,
    )
    production = Environment.objects.get(name="production")
    production.protected = False
    production.save()
    release_services.release_create(
        pipeline=pipeline,
        environment=production,
        version=pipeline.versions.get(),
        actor=paula,
        reason="set-up",
    )
    production.protected = production.change_requests_required = True
    production.approvals_required = 1
    production.save()
    hook = webhook_services.subscription_create(
        actor=petra, name="change feed", url=receiver.url, events=list(EVENTS), environment=production
    )
    receiver.secret = hook.secret

    # When the editor raises the minimum credit score in the rule editor
    page = login("erin", PASSWORD)
    page.goto(f"{live_server.url}/pipelines/onboarding/edit/")
    page.get_by_role("link", name="credit_score_check").click()
    page.get_by_label("Minimum score").fill("700")
    expect(page.locator("#validation-status")).to_contain_text("No problems")
    page.locator("#message").fill("Raise the minimum credit score to 700")
    page.get_by_role("button", name="Save as new version").click()
    expect(page.locator(".messages")).to_contain_text("Saved version 2")
    page.get_by_role("button", name="Log out").click()
    # (the test suite passes on version 2 as production would run it)
    suite = testcase_services.suite_run_now(
        pipeline=pipeline, environment=production, actor=paula, version=pipeline.versions.get(number=2)
    )
    assert suite.status == "passed", suite.error_message

    # And a publisher asks to release version 2 to production
    page = login("paula", PASSWORD)
    page.goto(f"{live_server.url}/pipelines/onboarding/versions/2/")
    page.locator("#release select").select_option("production")
    page.locator("#release input[name=reason]").fill("CAB-12: minimum credit score 700")
    page.locator("#release").get_by_role("button", name="Release").click()
    # Then a change request is opened, and production still runs version 1
    change = ChangeRequest.objects.get()
    expect(page.locator(".messages")).to_contain_text(f"Change request #{change.pk} opened")
    assert release_live(pipeline, production).version.number == 1
    page.get_by_role("button", name="Log out").click()

    # When a second publisher approves it from "Waiting for you" and schedules it a few seconds ahead
    page = login("petra", PASSWORD)
    page.goto(f"{live_server.url}/changes/")
    page.locator("#waiting").get_by_role("link", name=f"#{change.pk}").click()
    expect(page.locator("#what-it-changes")).to_contain_text("minimum_score")
    page.locator("#approve-form").get_by_role("button", name="Approve revision 1").click()
    expect(page.locator("#standing")).to_contain_text("Approved: ready to apply")
    when = timezone.localtime(timezone.now() + timedelta(seconds=4)).replace(microsecond=0)
    page.locator("#schedule-form input[name=when]").fill(when.strftime("%Y-%m-%dT%H:%M:%S"))
    page.locator("#schedule-form").get_by_role("button", name="Schedule").click()
    expect(page.locator("#schedule-form").get_by_role("button", name="Move")).to_be_visible()
    change.refresh_from_db()
    assert change.scheduled_for == when and change.scheduled_by == petra
    page.goto(f"{live_server.url}/environments/production/")
    expect(page.locator("body")).to_contain_text(f"#{change.pk}")
    assert release_live(pipeline, production).version.number == 1

    # When its time has come and beat's task runs on the worker
    while timezone.now() < when:
        time.sleep(0.2)
    apply_due.delay()
    # Then production runs version 2, released under the request's authority
    wait_for(lambda: release_live(pipeline, production).version.number == 2, celery_worker_process)
    change.refresh_from_db()
    assert change.status == "applied" and change.applied_by == petra
    page.goto(f"{live_server.url}/changes/{change.pk}/")
    expect(page.locator("body")).to_contain_text("applied")
    # and the receiver got every step, signed, each once
    wanted = {"change_request.opened", "change_request.approved", "release.created", "change_request.applied"}
    wait_for(lambda: wanted <= {a["event"] for a in receiver.accepted}, celery_worker_process)
    assert receiver.refused == []
    applied = next(a for a in receiver.accepted if a["event"] == "change_request.applied")
    assert applied["body"]["data"]["change_request"] == change.pk
    release = next(a for a in receiver.accepted if a["event"] == "release.created")
    assert release["body"]["data"]["version"] == 2 and release["body"]["environment"] == "production"
    for value in (APPLICANT["email"], APPLICANT["ssn"], APPLICANT["name"]):
        assert value not in str(receiver.accepted)
