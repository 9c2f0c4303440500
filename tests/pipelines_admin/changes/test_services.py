"""Change requests (changes.services): four eyes on an environment under change control."""

from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.changes import services
from pipelines_admin.changes.models import ChangeRequest
from pipelines_admin.changes.selectors import request_standing, upcoming_changes, waiting_for
from pipelines_admin.configs.change_control import ChangeRequestRequired
from pipelines_admin.configs.models import ServiceBinding
from pipelines_admin.configs.selectors import release_live
from pipelines_admin.core.errors import Conflict, InvalidInput, NotAllowed
from pipelines_admin.releases import services as release_services
from pipelines_admin.testcases import services as case_services
from tests.pipelines_admin.conftest import ADULT

pytestmark = pytest.mark.django_db


def suite_passes(pipeline, environment, actor, version_number, override=None):
    suite = case_services.suite_run_now(
        pipeline=pipeline,
        environment=environment,
        actor=actor,
        version=pipeline.versions.get(number=version_number),
        override=override,
    )
    assert suite.status == "passed", suite.error_message
    return suite


@pytest.fixture
def tested(live_pipeline, cases, controlled, publisher):
    """Version 2 has passed the test suite for production."""
    suite_passes(live_pipeline, controlled, publisher, 2)
    return live_pipeline


def open_release(pipeline, environment, actor, number=2, **kwargs):
    submitted = services.change_submit(
        kind="release",
        pipeline=pipeline,
        environment=environment,
        actor=actor,
        reason="quarterly release",
        version=number,
        **kwargs,
    )
    assert submitted.requested and submitted.applied is None
    return submitted.change_request


def test_change_submit__controlled_environment__opens_a_request_and_changes_nothing(
    tested, controlled, publisher
):
    request = open_release(tested, controlled, publisher)
    assert request.status == "open" and request.author == publisher
    assert request.payload == {"version": 2, "override": {}}
    assert release_live(tested, controlled) is None
    standing = request_standing(request)
    assert standing.state == "open" and standing.approvals_missing == 1
    assert standing.gate is not None and standing.gate.open
    assert AuditEvent.objects.filter(action="change_request.opened", object_id=str(request.pk)).exists()


def test_change_request__second_publisher_approves__applies_exactly_the_approved_config(
    tested, controlled, publisher, publisher2
):
    request = open_release(tested, controlled, publisher)
    services.change_request_approve(change_request=request, actor=publisher2, comment="looks right")
    assert request_standing(request).state == "approved"
    applied = services.change_request_apply(change_request=request, actor=publisher)
    live = release_live(tested, controlled)
    assert applied.status == "applied" and applied.applied_release == live
    assert live.effective_hash == request.effective_hash and live.version.number == 2
    event = AuditEvent.objects.get(action="release.created", object_id=str(live.pk))
    assert event.data["authority"] == {
        "kind": "change_request",
        "change_request": request.pk,
        "approvers": ["paula"],
    }


def test_change_request__author_approves_own__refused(tested, controlled, publisher):
    request = open_release(tested, controlled, publisher)
    with pytest.raises(NotAllowed, match="own change request"):
        services.change_request_approve(change_request=request, actor=publisher)


def test_change_request__version_author_approves__refused(tested, controlled, publisher, django_user_model):
    # the editor who wrote version 2 is made a publisher: still not their own change's approver
    from tests.pipelines_admin.conftest import make_user

    writer = tested.versions.get(number=2).author
    writer.groups.add(*make_user(django_user_model, "tmp", "publisher").groups.all())
    writer._console_roles = None
    request = open_release(tested, controlled, publisher)
    with pytest.raises(NotAllowed, match="wrote a version"):
        services.change_request_approve(change_request=request, actor=writer)


def test_change_request__editor_and_viewer_cannot_approve(tested, controlled, publisher, editor, viewer):
    request = open_release(tested, controlled, publisher)
    for user in (editor, viewer):
        with pytest.raises(NotAllowed, match="Only publishers"):
            services.change_request_approve(change_request=request, actor=user)


def test_change_request__apply_without_approval__refused_nothing_applied(tested, controlled, publisher):
    request = open_release(tested, controlled, publisher)
    with pytest.raises(services.ApplyRefused, match="needs 1 more approval"):
        services.change_request_apply(change_request=request, actor=publisher)
    assert release_live(tested, controlled) is None


def test_change_request__revised_after_approval__approval_voided_visibly(
    tested, controlled, publisher, publisher2
):
    request = open_release(tested, controlled, publisher)
    services.change_request_approve(change_request=request, actor=publisher2)
    revised = services.change_request_revise(
        change_request=request, actor=publisher, payload={"override": {"description": "patched"}}
    )
    standing = request_standing(revised)
    assert revised.revision == 2 and standing.state == "open"
    [approval] = standing.approvals
    assert not approval.stands and "revised the request" in approval.why_not
    with pytest.raises(services.ApplyRefused):
        services.change_request_apply(change_request=revised, actor=publisher)


def test_change_request__test_case_edited_after_approval__approval_voided(
    tested, controlled, publisher, publisher2, editor
):
    request = open_release(tested, controlled, publisher)
    services.change_request_approve(change_request=request, actor=publisher2)
    case_services.case_create(
        pipeline=tested, name="another adult", record=ADULT, actor=editor, expected={"status": "passed"}
    )
    standing = request_standing(request)
    assert standing.state == "open"
    assert "test cases changed" in standing.approvals[0].why_not
    with pytest.raises(services.ApplyRefused):
        services.change_request_apply(change_request=request, actor=publisher)


def test_change_request__environment_changed_under_a_toggle__approval_voided(
    tested, controlled, publisher, publisher2, superuser
):
    # Given v2 live in production, a request to turn a stage off, approved
    first = open_release(tested, controlled, publisher)
    services.change_request_approve(change_request=first, actor=publisher2)
    services.change_request_apply(change_request=first, actor=publisher)
    stage = next(iter(tested.versions.get(number=2).document["stages"]))
    toggle = services.change_submit(
        kind="toggle",
        pipeline=tested,
        environment=controlled,
        actor=publisher,
        reason="pause",
        stage=stage,
        enabled=False,
        disable_dependents=True,
    ).change_request
    services.change_request_approve(change_request=toggle, actor=publisher2)
    # When the override changes underneath it (break glass by a superuser)
    other = services.change_submit(
        kind="override",
        pipeline=tested,
        environment=controlled,
        actor=superuser,
        reason="hotfix",
        gate_override=True,
        override={"description": "hotfix"},
    ).change_request
    services.change_request_break_glass(change_request=other, actor=superuser, reason="incident 42")
    # Then the toggle's approval no longer stands: what it would produce is not what was approved
    standing = request_standing(toggle)
    assert "no longer what was approved" in standing.approvals[0].why_not
    with pytest.raises(services.ApplyRefused):
        services.change_request_apply(change_request=toggle, actor=publisher)


def test_reject__needs_a_comment_and_ends_the_request(tested, controlled, publisher, publisher2):
    request = open_release(tested, controlled, publisher)
    with pytest.raises(InvalidInput):
        services.change_request_reject(change_request=request, actor=publisher2, comment=" ")
    services.change_request_reject(change_request=request, actor=publisher2, comment="not this quarter")
    request.refresh_from_db()
    assert request.status == "rejected" and "not this quarter" in request.status_message
    with pytest.raises(Conflict):
        services.change_request_apply(change_request=request, actor=publisher)


def test_schedule__applied_by_beat_when_due_after_rechecking(tested, controlled, publisher, publisher2):
    request = open_release(tested, controlled, publisher)
    services.change_request_approve(change_request=request, actor=publisher2)
    now = timezone.now()
    services.change_request_schedule(
        change_request=request, actor=publisher, when=now + timedelta(hours=1), now=now
    )
    assert list(upcoming_changes(controlled)) == [request]
    assert services.changes_apply_due(now=now + timedelta(minutes=59))["applied"] == 0
    assert release_live(tested, controlled) is None
    assert services.changes_apply_due(now=now + timedelta(hours=1))["applied"] == 1
    request.refresh_from_db()
    assert request.status == "applied" and release_live(tested, controlled).version.number == 2


def test_schedule__moved_later__does_not_run_at_the_old_time(tested, controlled, publisher, publisher2):
    request = open_release(tested, controlled, publisher)
    services.change_request_approve(change_request=request, actor=publisher2)
    now = timezone.now()
    services.change_request_schedule(
        change_request=request, actor=publisher, when=now + timedelta(hours=1), now=now
    )
    services.change_request_schedule(
        change_request=request, actor=publisher, when=now + timedelta(hours=3), now=now
    )
    assert services.changes_apply_due(now=now + timedelta(hours=2)) == {
        "applied": 0,
        "refused": 0,
        "skipped": 0,
    }
    assert release_live(tested, controlled) is None


def test_schedule__config_changed_since_approval__refused_with_why_and_author_told(
    tested, controlled, publisher, publisher2, editor, mailoutbox, django_capture_on_commit_callbacks
):
    publisher.email = "pat@example.com"
    publisher.save()
    request = open_release(tested, controlled, publisher)
    services.change_request_approve(change_request=request, actor=publisher2)
    now = timezone.now()
    services.change_request_schedule(
        change_request=request, actor=publisher, when=now + timedelta(hours=1), now=now
    )
    case_services.case_create(
        pipeline=tested, name="late case", record=ADULT, actor=editor, expected={"status": "passed"}
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.changes_apply_due(now=now + timedelta(hours=1))
    assert counts["refused"] == 1
    request.refresh_from_db()
    assert request.status == "open" and request.scheduled_for is None and request.refused_at is not None
    assert "Not applied at its scheduled time" in request.status_message
    assert "test cases changed" in request.status_message
    assert release_live(tested, controlled) is None
    assert [m.to for m in mailoutbox] == [["pat@example.com"]]
    assert AuditEvent.objects.filter(action="change_request.refused", object_id=str(request.pk)).exists()
    assert request in waiting_for(publisher)["mine"]


def test_schedule__not_yet_approved__refused(tested, controlled, publisher):
    request = open_release(tested, controlled, publisher)
    with pytest.raises(Conflict, match="ready to apply"):
        services.change_request_schedule(
            change_request=request, actor=publisher, when=timezone.now() + timedelta(hours=1)
        )


def test_break_glass__superuser_with_reason__applied_and_recorded(tested, controlled, superuser, publisher):
    request = open_release(tested, controlled, publisher)
    with pytest.raises(InvalidInput):
        services.change_request_break_glass(change_request=request, actor=superuser, reason="")
    services.change_request_break_glass(change_request=request, actor=superuser, reason="incident 42")
    request.refresh_from_db()
    assert request.status == "applied" and request.break_glass
    release = release_live(tested, controlled)
    assert release.version.number == 2
    event = AuditEvent.objects.get(action="release.created", object_id=str(release.pk))
    assert event.data["authority"]["kind"] == "break_glass"
    assert AuditEvent.objects.filter(action="change_request.break_glass").exists()


def test_break_glass__publisher__refused(tested, controlled, publisher, publisher2):
    request = open_release(tested, controlled, publisher)
    with pytest.raises(NotAllowed, match="only superusers"):
        services.change_request_break_glass(change_request=request, actor=publisher2, reason="urgent")


def test_superuser_without_break_glass__opens_a_request_like_anyone(tested, controlled, superuser):
    request = open_release(tested, controlled, superuser)
    assert request.status == "open" and release_live(tested, controlled) is None
    with pytest.raises(ChangeRequestRequired):
        release_services.release_create(
            pipeline=tested,
            environment=controlled,
            version=tested.versions.get(number=2),
            actor=superuser,
            reason="x",
        )


def test_gate_override__uncontrolled_protected_environment__needs_a_second_publisher(
    live_pipeline, environments, publisher, publisher2
):
    production = environments["production"]
    assert not production.change_requests_required
    with pytest.raises(ChangeRequestRequired, match="second publisher"):
        release_services.release_create(
            pipeline=live_pipeline,
            environment=production,
            version=live_pipeline.versions.get(number=2),
            actor=publisher,
            reason="no cases yet",
            gate_override=True,
        )
    request = open_release(live_pipeline, production, publisher, gate_override=True)
    standing = request_standing(request)
    assert standing.gate is not None and not standing.gate.open
    with pytest.raises(NotAllowed):
        services.change_request_approve(change_request=request, actor=publisher)
    services.change_request_approve(change_request=request, actor=publisher2)
    services.change_request_apply(change_request=request, actor=publisher)
    assert release_live(live_pipeline, production).version.number == 2


def test_gate_closed_without_override__approved_request_still_not_applied(
    live_pipeline, cases, controlled, publisher, publisher2
):
    request = open_release(live_pipeline, controlled, publisher)  # no suite ran on v2
    services.change_request_approve(change_request=request, actor=publisher2)
    with pytest.raises(services.ApplyRefused, match="release gate is closed"):
        services.change_request_apply(change_request=request, actor=publisher)


def test_binding_change__controlled__through_a_request(controlled, publisher, publisher2):
    request = services.change_submit(
        kind="binding",
        environment=controlled,
        actor=publisher,
        reason="new vendor",
        interface="KYCService",
        name="kyc",
        values={"kind": "simulated", "latency_ms": 20},
    ).change_request
    assert not ServiceBinding.objects.filter(environment=controlled).exists()
    services.change_request_approve(change_request=request, actor=publisher2)
    services.change_request_apply(change_request=request, actor=publisher)
    assert ServiceBinding.objects.get(environment=controlled, name="kyc").latency_ms == 20


def test_environment_settings__controlled__loosening_needs_a_request(controlled, publisher, publisher2):
    from pipelines_admin.configs import services as config_services

    with pytest.raises(ChangeRequestRequired):
        config_services.environment_update(
            environment=controlled,
            actor=publisher,
            protected=True,
            position=30,
            description="x",
            change_requests_required=False,
            reason="too slow",
        )
    request = services.change_submit(
        kind="environment",
        environment=controlled,
        actor=publisher,
        reason="too slow",
        change_requests_required=False,
    ).change_request
    services.change_request_approve(change_request=request, actor=publisher2)
    services.change_request_apply(change_request=request, actor=publisher)
    controlled.refresh_from_db()
    assert controlled.change_requests_required is False


def test_change_submit__uncontrolled__applies_at_once(released, environments, editor):
    submitted = services.change_submit(
        kind="override",
        pipeline=released,
        environment=environments["development"],
        actor=editor,
        override={"description": "dev tweak"},
    )
    assert not submitted.requested and submitted.applied == release_live(
        released, environments["development"]
    )


def test_waiting_for__lists_requests_to_approve_for_other_publishers_only(
    tested, controlled, publisher, publisher2, editor
):
    request = open_release(tested, controlled, publisher)
    assert waiting_for(publisher2)["to_approve"] == [request]
    assert waiting_for(publisher)["to_approve"] == []
    assert waiting_for(editor)["to_approve"] == []
    services.change_request_approve(change_request=request, actor=publisher2)
    assert waiting_for(publisher2)["to_approve"] == []
    assert waiting_for(publisher)["mine"] == [request]
    assert ChangeRequest.objects.count() == 1


def test_webhooks__a_request_from_open_to_apply__each_step_and_the_release_told(
    tested, controlled, publisher, publisher2
):
    from pipelines_admin.webhooks import services as webhook_services
    from pipelines_admin.webhooks.events import EVENTS
    from pipelines_admin.webhooks.models import WebhookDelivery

    webhook_services.subscription_create(
        actor=publisher,
        name="chat",
        url="https://hooks.example.com/a",
        events=list(EVENTS),
        environment=controlled,
    )
    request = open_release(tested, controlled, publisher)
    services.change_request_approve(change_request=request, actor=publisher2)
    services.change_request_apply(change_request=request, actor=publisher)
    sent = list(WebhookDelivery.objects.order_by("id").values_list("event", flat=True))
    assert sent == [
        "change_request.opened",
        "change_request.approved",
        "release.created",
        "change_request.applied",
    ]
    release = WebhookDelivery.objects.get(event="release.created")
    import json

    body = json.loads(release.body)
    assert body["environment"] == "production" and body["data"]["change_request"] == request.pk
    assert body["data"]["version"] == 2 and body["data"]["break_glass"] is False


def test_approve__the_revision_read_was_revised_since__stale_nothing_approved(
    tested, controlled, publisher, publisher2
):
    from pipelines_admin.core.errors import Stale

    request = open_release(tested, controlled, publisher)
    request = services.change_request_revise(
        change_request=request, actor=publisher, payload={"override": {"description": "x"}}
    )
    with pytest.raises(Stale):
        services.change_request_approve(change_request=request, actor=publisher2, expected_revision=1)
    assert not request.approvals.exists()
    suite_passes(tested, controlled, publisher, 2, override={"description": "x"})
    services.change_request_approve(change_request=request, actor=publisher2, expected_revision=2)
    assert request_standing(request).approved
