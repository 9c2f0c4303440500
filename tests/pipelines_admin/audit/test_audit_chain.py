import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from pipelines_admin.audit.models import AppendOnlyError, AuditEvent
from pipelines_admin.audit.services import audit_record, audit_verify


def record_three():
    return [
        audit_record(
            actor="system",
            action=f"test.{i}",
            object_type="thing",
            object_id=i,
            diff={"n": i, "nested": {"v": [i, 1.5]}},
            reason="because",
        )
        for i in range(1, 4)
    ]


@pytest.mark.django_db
def test_audit_record__three_events__chained_and_verified():
    # Given three events recorded one after another
    events = record_three()
    # Then each carries the previous one's hash and the chain verifies
    assert [e.sequence for e in events] == [1, 2, 3]
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    checked, problems = audit_verify()
    assert (checked, problems) == (3, [])


@pytest.mark.django_db
def test_audit_event__save_or_delete_through_the_orm__refused():
    # Given a recorded event
    event = record_three()[0]
    # When code tries to change or delete it / Then it is refused
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{table}", AuditEvent._meta.db_table), params)


@pytest.mark.django_db
def test_audit_verify__event_edited_in_the_database__detected():
    # Given a chain where someone edits an event's reason directly in SQL
    record_three()
    raw("UPDATE {table} SET reason = %s WHERE sequence = %s", ["nothing to see", 2])
    # When verified / Then the edited event is named
    _, problems = audit_verify()
    assert [p.sequence for p in problems] == [2]
    assert "edited" in problems[0].message


@pytest.mark.django_db
def test_audit_verify__event_deleted_in_the_database__detected():
    # Given a chain where the middle event is deleted in SQL
    record_three()
    raw("DELETE FROM {table} WHERE sequence = %s", [2])
    # When verified / Then the gap is reported at the event after it
    _, problems = audit_verify()
    assert problems and problems[0].sequence == 3
    assert "missing" in problems[0].message


@pytest.mark.django_db
def test_audit_verify__newest_event_deleted__detected_by_the_chain_head():
    # Given the newest event deleted in SQL
    record_three()
    raw("DELETE FROM {table} WHERE sequence = %s", [3])
    # When verified / Then the head notices events are missing at the end
    _, problems = audit_verify()
    assert problems and "newest" in problems[-1].message


@pytest.mark.django_db
def test_verify_audit_command__tampered__exits_non_zero(capsys):
    # Given an intact chain the command succeeds
    record_three()
    call_command("verify_audit")
    assert "3 events verified" in capsys.readouterr().out
    # When an event is edited / Then the command fails
    raw("UPDATE {table} SET action = %s WHERE sequence = %s", ["test.hidden", 1])
    with pytest.raises(CommandError, match="tampered"):
        call_command("verify_audit")
