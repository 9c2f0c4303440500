"""The console under change control: with production under change control, no console
form changes production directly, for a publisher or a superuser; each opens a change
request instead. Nobody approves their own request through the page; a second
publisher's approval, then applying, puts the change live."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from pipelines_admin.changes.models import ChangeApproval, ChangeRequest
from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.change_control import ChangeAuthority
from pipelines_admin.configs.models import Environment, ServiceBinding
from pipelines_admin.configs.selectors import environment_revision, release_live, settings_revision
from pipelines_admin.releases import services as release_services
from pipelines_admin.testcases import services as case_services
from tests.pipelines_admin.changes.conftest import controlled, live_pipeline  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

#: data set-up: what production ran before the tests start was approved then
APPROVED = ChangeAuthority("change_request", 0, ("paula",))
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def production(live_pipeline, controlled, publisher):
    """Production under change control, running v1 then v2 (two releases, so one to roll
    back to), with the KYC service bound."""
    for number in (1, 2):
        release_services.release_create(
            pipeline=live_pipeline,
            environment=controlled,
            version=live_pipeline.versions.get(number=number),
            actor=publisher,
            reason="set-up",
            gate_override=True,
            authority=APPROVED,
        )
    config_services.service_binding_set(
        environment=controlled,
        interface="KYCService",
        name="jumio",
        kind="simulated",
        latency_ms=10,
        actor=publisher,
        reason="set-up",
        authority=APPROVED,
    )
    return controlled


def live_state(pipeline) -> dict:
    """Everything a console change could alter in production."""
    environment = Environment.objects.get(name="production")
    live = release_live(pipeline, environment)
    return {
        "release": (live.pk, live.effective_hash),
        "releases": pipeline.releases.filter(environment=environment).count(),
        "bindings": sorted(
            ServiceBinding.objects.filter(environment=environment).values_list(
                "interface", "name", "kind", "latency_ms", "url"
            )
        ),
        "settings": (
            environment.protected,
            environment.position,
            environment.description,
            environment.change_requests_required,
            environment.approvals_required,
        ),
    }


def page_url(name, **kwargs):
    return reverse(f"console:{name}", kwargs=kwargs)


def form_for(what: str, pipeline) -> tuple[str, dict]:
    """The URL and body each console change form posts, as its page draws it."""
    environment = Environment.objects.get(name="production")
    live = release_live(pipeline, environment)
    binding = ServiceBinding.objects.get(environment=environment, interface="KYCService", name="jumio")
    slug = pipeline.slug
    if what == "release":
        return page_url("version-release", slug=slug, number=1), {
            "environment": "production",
            "reason": "back to v1",
        }
    if what == "rollback":
        first = pipeline.releases.filter(environment=environment).order_by("pk").first()
        return page_url("release-rollback", slug=slug, env="production", release_id=first.pk), {
            "reason": "back to the first release"
        }
    if what == "override":
        return page_url("environment-detail", slug=slug, env="production"), {
            "override": json.dumps({"stages": {"data_quality": {"timeout_seconds": 20}}}),
            "reason": "slower data",
            "base_revision": environment_revision(live),
        }
    if what in ("stage toggle", "rule toggle"):
        body = {
            "environment": "production",
            "stage": "business_rules",
            "enabled": "false",
            "reason": "outage",
            "base_revision": environment_revision(live),
        }
        if what == "rule toggle":
            body.update(stage="data_quality", rule="email_format")
        return page_url("pipeline-toggle", slug=slug), body
    if what == "binding set":
        return page_url("binding-set", env="production"), {
            "interface": "KYCService",
            "name": "jumio",
            "kind": "simulated",
            "latency_ms": "250",
            "failure_rate": "0",
            "timeout_seconds": "5",
            "url": "",
            "secret_env": "",
            "reason": "slower vendor",
            "base_revision": settings_revision(binding),
        }
    if what == "binding remove":
        return page_url("binding-remove", env="production", service="KYCService:jumio"), {
            "reason": "not needed",
            "base_revision": settings_revision(binding),
        }
    assert what == "environment settings"
    return page_url("environment", env="production"), {
        "position": str(environment.position),
        "description": "changed under control",
        "protected": "on",
        "change_requests_required": "on",
        "approvals_required": "1",
        "reason": "tidy up",
        "base_revision": settings_revision(environment),
    }


FORMS = (
    "release",
    "rollback",
    "override",
    "stage toggle",
    "rule toggle",
    "binding set",
    "binding remove",
    "environment settings",
)


@pytest.mark.parametrize("role", ["publisher", "superuser"])
@pytest.mark.parametrize("what", FORMS)
def test_console_change__production_under_change_control__opens_a_request_and_changes_nothing_live(
    client, request, production, live_pipeline, what, role
):
    # Given production under change control, and a publisher or a superuser
    user = request.getfixturevalue(role)
    client.force_login(user)
    url, body = form_for(what, live_pipeline)
    before = live_state(live_pipeline)
    # When they post the console's form
    response = client.post(url, body)
    # Then production is exactly as it was, and a change request waits for approval
    assert live_state(live_pipeline) == before
    change = ChangeRequest.objects.get()
    assert change.status == "open" and change.author == user and change.environment == production
    assert response.status_code == 302
    assert response["Location"] == page_url("change-request", pk=change.pk)
    page = client.get(response["Location"]).content.decode()
    assert f"Change request #{change.pk} opened: production needs 1 approval from another publisher" in page


def test_toggle__htmx__hx_redirect_to_the_request(client, publisher, production, live_pipeline):
    client.force_login(publisher)
    url, body = form_for("stage toggle", live_pipeline)
    before = live_state(live_pipeline)
    response = client.post(url, body, **HTMX)
    change = ChangeRequest.objects.get()
    assert response.status_code == 200 and response["HX-Redirect"] == page_url("change-request", pk=change.pk)
    assert live_state(live_pipeline) == before


@pytest.fixture
def tested(production, live_pipeline, cases, publisher):
    """v1 has passed the test suite for production (the release gate is open for it)."""
    suite = case_services.suite_run_now(
        pipeline=live_pipeline,
        environment=production,
        actor=publisher,
        version=live_pipeline.versions.get(number=1),
    )
    assert suite.status == "passed", suite.error_message
    return live_pipeline


def open_release_through_the_page(client, pipeline) -> ChangeRequest:
    url, body = form_for("release", pipeline)
    client.post(url, body)
    return ChangeRequest.objects.get()


def test_change_request_page__author_approves_own__refused_nothing_applies(
    client, publisher, tested, production
):
    # Given a publisher's request to release v1 to production
    client.force_login(publisher)
    change = open_release_through_the_page(client, tested)
    before = live_state(tested)
    # Then her page does not offer to approve it, and says why
    html = client.get(page_url("change-request", pk=change.pk)).content.decode()
    assert "Nobody approves their own change request." in html and 'id="approve-form"' not in html
    # When she approves it anyway, then applies it
    response = client.post(page_url("change-request-approve", pk=change.pk), {"comment": "fine by me"})
    assert (
        response.status_code == 403
        and "Nobody approves their own change request." in response.content.decode()
    )
    response = client.post(page_url("change-request-apply", pk=change.pk))
    # Then nothing was approved and nothing applied
    assert response.status_code == 409 and "needs 1 more approval" in response.content.decode()
    assert not ChangeApproval.objects.exists()
    assert live_state(tested) == before
    change.refresh_from_db()
    assert change.status == "open"


def test_change_request_page__second_publisher_approves_then_applies__live(
    client, publisher, publisher2, tested, production
):
    # Given a publisher's request to release v1 to production
    client.force_login(publisher)
    change = open_release_through_the_page(client, tested)
    assert release_live(tested, production).version.number == 2
    # When a second publisher finds it waiting for her, approves it and applies it
    client.force_login(publisher2)
    listing = client.get(page_url("changes")).content.decode()
    waiting = listing[listing.index('id="waiting"') : listing.index('id="scheduled"')]
    assert page_url("change-request", pk=change.pk) in waiting
    response = client.post(page_url("change-request-approve", pk=change.pk), {"comment": "checked"})
    assert response.status_code == 302
    response = client.post(page_url("change-request-apply", pk=change.pk))
    # Then production runs v1, through the request
    assert response.status_code == 302
    change.refresh_from_db()
    live = release_live(tested, production)
    assert change.status == "applied" and change.applied_release == live and live.version.number == 1


def test_change_request_page__reject_without_comment__form_again_nothing_decided(
    client, publisher, publisher2, tested, production
):
    client.force_login(publisher)
    change = open_release_through_the_page(client, tested)
    client.force_login(publisher2)
    response = client.post(page_url("change-request-reject", pk=change.pk), {"comment": "  "})
    assert response.status_code == 400 and "Say why you reject the change" in response.content.decode()
    change.refresh_from_db()
    assert change.status == "open" and not ChangeApproval.objects.exists()
    response = client.post(page_url("change-request-reject", pk=change.pk), {"comment": "wrong version"})
    change.refresh_from_db()
    assert response.status_code == 302 and change.status == "rejected"


def test_change_request_page__editor_and_viewer_may_not_approve(
    client, publisher, editor, viewer, tested, production
):
    client.force_login(publisher)
    change = open_release_through_the_page(client, tested)
    for user in (editor, viewer):
        client.force_login(user)
        html = client.get(page_url("change-request", pk=change.pk)).content.decode()
        assert "Only publishers approve change requests." in html and 'id="approve-form"' not in html
        response = client.post(page_url("change-request-approve", pk=change.pk), {"comment": "ok"})
        assert response.status_code == 403
    assert not ChangeApproval.objects.exists()


def test_change_request_page__schedule_and_unschedule(client, publisher, publisher2, tested, production):
    client.force_login(publisher)
    change = open_release_through_the_page(client, tested)
    # not approved yet: scheduling is refused with why
    response = client.post(page_url("change-request-schedule", pk=change.pk), {"when": "2099-01-01T10:00"})
    assert response.status_code in (400, 409)
    client.force_login(publisher2)
    client.post(page_url("change-request-approve", pk=change.pk), {"comment": "ok"})
    client.force_login(publisher)
    from datetime import timedelta

    from django.utils import timezone

    when = timezone.localtime() + timedelta(days=1)
    response = client.post(
        page_url("change-request-schedule", pk=change.pk), {"when": when.strftime("%Y-%m-%dT%H:%M")}
    )
    change.refresh_from_db()
    assert response.status_code == 302 and change.scheduled_for is not None
    assert timezone.localtime(change.scheduled_for).strftime("%Y-%m-%d %H:%M") == when.strftime(
        "%Y-%m-%d %H:%M"
    )
    html = client.get(page_url("environment", env="production")).content.decode()
    upcoming = html[html.index('id="upcoming"') :]
    assert f"#{change.pk} " in upcoming[: upcoming.index("</section>")]
    response = client.post(page_url("change-request-schedule", pk=change.pk), {"action": "unschedule"})
    change.refresh_from_db()
    assert response.status_code == 302 and change.scheduled_for is None


def test_change_request_page__break_glass__superuser_only_with_reason(
    client, publisher, superuser, tested, production
):
    client.force_login(publisher)
    change = open_release_through_the_page(client, tested)
    before = live_state(tested)
    response = client.post(page_url("change-request-break-glass", pk=change.pk), {"reason": "outage"})
    assert response.status_code == 403 and live_state(tested) == before
    client.force_login(superuser)
    assert 'id="break-glass-form"' in client.get(page_url("change-request", pk=change.pk)).content.decode()
    response = client.post(page_url("change-request-break-glass", pk=change.pk), {"reason": ""})
    assert response.status_code == 400 and live_state(tested) == before
    response = client.post(page_url("change-request-break-glass", pk=change.pk), {"reason": "outage"})
    change.refresh_from_db()
    assert response.status_code == 302 and change.break_glass and change.status == "applied"
    assert release_live(tested, production).version.number == 1


def test_environment_page__under_change_control__said_prominently(client, viewer, production):
    client.force_login(viewer)
    html = client.get(page_url("environment", env="production")).content.decode()
    assert "Changes here need 1 approval from another publisher." in html


def test_changes_list__filters_and_empty_states(client, viewer, publisher, tested, production):
    client.force_login(viewer)
    html = client.get(page_url("changes")).content.decode()
    assert "No change request yet." in html and "Nothing waits for you." in html
    client.force_login(publisher)
    change = open_release_through_the_page(client, tested)
    client.force_login(viewer)
    html = client.get(page_url("changes") + "?status=open&environment=production").content.decode()
    assert page_url("change-request", pk=change.pk) in html
    html = client.get(page_url("changes") + "?status=applied", **HTMX).content.decode()
    assert "No change request matches these filters." in html and "<html" not in html


def test_navigation__changes_badge_counts_what_waits(client, publisher, publisher2, tested, production):
    client.force_login(publisher)
    change = open_release_through_the_page(client, tested)
    client.force_login(publisher2)
    html = client.get(page_url("changes")).content.decode()
    assert 'title="1 change request waiting for you">1</span>' in html
    assert change.pk


def test_change_request_page__author_revises__approval_voided_visibly(
    client, publisher, publisher2, tested, production
):
    # Given a request approved by a second publisher
    client.force_login(publisher)
    change = open_release_through_the_page(client, tested)
    client.force_login(publisher2)
    client.post(page_url("change-request-approve", pk=change.pk), {"comment": "ok"})
    # When its author changes the override it releases with
    client.force_login(publisher)
    override = {"stages": {"data_quality": {"timeout_seconds": 20}}}
    response = client.post(
        page_url("change-request-revise", pk=change.pk),
        {"version": "1", "override": json.dumps(override), "reason": "slower data too"},
    )
    # Then it is at revision 2, the approval no longer stands and the page says why
    change.refresh_from_db()
    assert response.status_code == 302 and change.revision == 2 and change.payload["override"] == override
    html = client.get(page_url("change-request", pk=change.pk)).content.decode()
    assert 'class="voided"' in html and "the author revised the request (revision 2)" in html
    # and someone else may not revise it
    client.force_login(publisher2)
    response = client.post(
        page_url("change-request-revise", pk=change.pk), {"version": "1", "override": "", "reason": "mine"}
    )
    change.refresh_from_db()
    assert response.status_code == 403 and change.revision == 2


def test_change_request_page__author_withdraws__nothing_changes(client, publisher, tested, production):
    client.force_login(publisher)
    change = open_release_through_the_page(client, tested)
    before = live_state(tested)
    response = client.post(page_url("change-request-withdraw", pk=change.pk), {"reason": "wrong version"})
    change.refresh_from_db()
    assert response.status_code == 302 and change.status == "withdrawn" and live_state(tested) == before


def test_change_request_page__approve_a_revision_revised_since__412_nothing_approved(
    client, publisher, publisher2, tested, production
):
    # Given a second publisher reading revision 1 of a request
    client.force_login(publisher)
    change = open_release_through_the_page(client, tested)
    client.force_login(publisher2)
    assert (
        'name="revision" value="1"' in client.get(page_url("change-request", pk=change.pk)).content.decode()
    )
    # When its author revises it before she presses "Approve revision 1"
    client.force_login(publisher)
    client.post(
        page_url("change-request-revise", pk=change.pk),
        {"version": "1", "override": json.dumps({"description": "changed"}), "reason": "another override"},
    )
    client.force_login(publisher2)
    response = client.post(
        page_url("change-request-approve", pk=change.pk), {"comment": "ok", "revision": "1"}
    )
    # Then her approval is refused as stale, and nothing is approved
    assert response.status_code == 412
    assert not change.approvals.exists()
