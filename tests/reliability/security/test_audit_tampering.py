"""Audit tampering: whoever edits, deletes, inserts or reorders audit events behind the
application's back (SQL, the ORM's bulk operations) is caught by `manage.py
verify_audit`, which names the event and exits non-zero. The application itself
never changes an event."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from pipelines_admin.audit.models import AppendOnlyError, AuditChainHead, AuditEvent
from pipelines_admin.audit.services import event_hash

pytestmark = pytest.mark.django_db


def verify() -> tuple[bool, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except CommandError as exc:
        return False, err.getvalue() + str(exc)
    return True, out.getvalue()


def sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.replace("{table}", AuditEvent._meta.db_table), params)


@pytest.fixture
def trail(estate):
    """The estate's audit trail, verified intact before anyone tampers with it."""
    ok, report = verify()
    assert ok and "audit trail intact" in report, report
    events = list(AuditEvent.objects.order_by("sequence"))
    assert len(events) >= 8
    return events


def test_untouched_trail__verified_intact(trail):
    ok, report = verify()
    assert ok and f"{len(trail)} events verified" in report


def test_reason_edited_with_sql__detected_naming_the_event(trail):
    # Given someone rewrites the reason of a release in the database
    target = next(e for e in trail if e.reason)
    sql("UPDATE {table} SET reason = %s WHERE sequence = %s", ["nothing to see", target.sequence])
    # When the trail is verified / Then that event is named as edited
    ok, report = verify()
    assert not ok
    assert f"event {target.sequence}: its content does not match its hash" in report


def test_data_edited_and_hash_recomputed__detected_by_the_next_event(trail):
    # Given someone edits a run's recorded outcome and recomputes that event's own hash
    target = next(e for e in trail if e.action == "run.completed")
    target.data = {**target.data, "status": "passed"}
    target.actor_name = "someone-else"
    forged = event_hash(target)
    sql(
        "UPDATE {table} SET data = %s, actor_name = %s, hash = %s WHERE sequence = %s",
        [json.dumps(target.data), "someone-else", forged, target.sequence],
    )
    # Then the event after it no longer follows it (or the chain head does not match)
    ok, report = verify()
    assert not ok
    assert (
        f"event {target.sequence + 1}: does not follow the event before it" in report
        or "the newest event does not match the chain head" in report
    )


def test_event_deleted_from_the_middle__detected(trail):
    middle = trail[len(trail) // 2]
    sql("DELETE FROM {table} WHERE sequence = %s", [middle.sequence])
    ok, report = verify()
    assert not ok and f"events {middle.sequence} to {middle.sequence} are missing" in report


def test_newest_events_deleted__detected_by_the_chain_head(trail):
    sql("DELETE FROM {table} WHERE sequence > %s", [trail[-3].sequence])
    ok, report = verify()
    assert not ok and f"the newest events after {trail[-3].sequence} are missing" in report


def test_forged_event_appended__detected(trail):
    # Given a forged event added after the newest one, chained to it, without the chain head knowing
    last = trail[-1]
    forged = AuditEvent(
        sequence=last.sequence + 1,
        occurred_at=last.occurred_at,
        actor_name="root",
        action="release.created",
        object_type="release",
        object_id="1",
        object_repr="release",
        pipeline="onboarding",
        environment="production",
        reason="approved",
        prev_hash=last.hash,
    )
    forged.hash = event_hash(forged)
    AuditEvent.objects.bulk_create([forged])  # bulk_create skips the model's own guard
    ok, report = verify()
    assert not ok and f"events after {last.sequence} were added outside the application" in report


def test_two_events_swapped__detected(trail):
    a, b = trail[2], trail[3]
    sql("UPDATE {table} SET sequence = -1 WHERE sequence = %s", [a.sequence])
    sql("UPDATE {table} SET sequence = %s WHERE sequence = %s", [a.sequence, b.sequence])
    sql("UPDATE {table} SET sequence = %s WHERE sequence = -1", [b.sequence])
    ok, report = verify()
    assert not ok and f"event {a.sequence}:" in report


def test_bulk_update_through_the_orm__detected(trail):
    AuditEvent.objects.filter(action="run.completed").update(reason="changed in bulk")
    ok, report = verify()
    assert not ok and "its content does not match its hash" in report


def test_application__never_changes_or_deletes_an_event(trail):
    # Given an event as the application loads it
    event = AuditEvent.objects.order_by("sequence").first()
    # When code tries to change or delete it / Then it is refused
    event.reason = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert verify()[0]
    assert AuditChainHead.objects.get().sequence == trail[-1].sequence
