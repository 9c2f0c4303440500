"""Writing and verifying the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from pipelines_admin.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from pipelines_admin.core.canonical import content_hash


def event_hash(event: AuditEvent) -> str:
    return content_hash(event.hashed_fields())


def audit_record(
    *,
    actor,
    action: str,
    object_type: str,
    object_id: Any = "",
    object_repr: str = "",
    pipeline: str = "",
    environment: str = "",
    diff: Any = None,
    reason: str = "",
    data: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain. Call inside the transaction of the change it
    records, so the change and its event commit or roll back together."""
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        event = AuditEvent(
            sequence=head.sequence + 1,
            occurred_at=timezone.now(),
            actor=actor if getattr(actor, "pk", None) else None,
            actor_name=actor.get_username() if getattr(actor, "pk", None) else (actor or "system"),
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_repr=object_repr[:300],
            pipeline=pipeline,
            environment=environment,
            diff=diff if diff is not None else {},
            reason=reason,
            data=data or {},
            prev_hash=head.last_hash,
        )
        event.hash = event_hash(event)
        event.save()
        head.sequence, head.last_hash = event.sequence, event.hash
        head.save(update_fields=["sequence", "last_hash"])
    return event


@dataclass(frozen=True)
class ChainProblem:
    sequence: int | None
    message: str


def audit_verify(batch_size: int = 2000) -> tuple[int, list[ChainProblem]]:
    """Walk the chain in order; return how many events were checked and every problem."""
    problems: list[ChainProblem] = []
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    events = AuditEvent.objects.order_by("sequence").iterator(chunk_size=batch_size)
    for event in events:
        checked += 1
        if event.sequence != expected_seq:
            problems.append(
                ChainProblem(event.sequence, f"events {expected_seq} to {event.sequence - 1} are missing")
            )
        if event.prev_hash != expected_prev:
            problems.append(
                ChainProblem(
                    event.sequence, "does not follow the event before it (an event was removed or changed)"
                )
            )
        if event_hash(event) != event.hash:
            problems.append(
                ChainProblem(event.sequence, "its content does not match its hash (it was edited)")
            )
        expected_prev, expected_seq = event.hash, event.sequence + 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and head.sequence > expected_seq - 1:
        problems.append(
            ChainProblem(head.sequence, f"the newest events after {expected_seq - 1} are missing")
        )
    elif head is not None and head.sequence < expected_seq - 1:
        problems.append(
            ChainProblem(
                expected_seq - 1,
                f"events after {head.sequence} were added outside the "
                "application (the chain head ends there)",
            )
        )
    elif head is not None and head.last_hash != expected_prev:
        problems.append(ChainProblem(head.sequence, "the newest event does not match the chain head"))
    return checked, problems
