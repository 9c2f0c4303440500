"""What the audit page says about an event beside its reason and its config changes: an
outcome (a run's, a batch's or a suite run's status) and a few short lines holding the
numbers and facts the event recorded, in words. Every action the code records has its
own summary; an action without one (an older event, say) lists its data as it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipelines_admin.audit.models import AuditEvent


@dataclass(frozen=True)
class EventSummary:
    status: str = ""
    lines: tuple[str, ...] = ()


def _plural(count, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _versions(diff: dict, first: str = "") -> str:
    before, after = diff.get("from_version"), diff.get("to_version")
    if after is None:
        return ""
    if before is None:
        return f"version {after}{first}"
    return f"version {after}" if before == after else f"version {before} → {after}"


def _release(event: AuditEvent) -> EventSummary:
    lines = [_versions(event.diff, first=", the first release here")]
    gate = event.data.get("gate") or {}
    if gate.get("result") == "passed":
        lines.append(f"release gate passed: suite run #{gate.get('suite_run')}")
    elif gate.get("result") == "overridden":
        lines.append("release gate overridden")
    lines.append(_authority(event.data.get("authority")))
    dependents = event.data.get("disabled_dependents") or []
    if dependents:
        lines.append(
            "also turned off, as they depend on it: "
            + ", ".join(f"{d.get('stage')}/{d.get('rule')}" for d in dependents)
        )
    return EventSummary(lines=tuple(line for line in lines if line))


def _authority(authority) -> str:
    """Under whose authority a change to an environment under change control was made."""
    if not isinstance(authority, dict):
        return ""
    number = authority.get("change_request")
    if authority.get("kind") == "break_glass":
        return f"break glass on change request #{number}"
    approvers = ", ".join(authority.get("approvers") or [])
    return f"change request #{number}" + (f", approved by {approvers}" if approvers else "")


def _gate_overridden(event: AuditEvent) -> EventSummary:
    lines = (
        f"the gate was closed: {event.data.get('why_closed', '')}",
        _authority(event.data.get("authority")),
    )
    return EventSummary(lines=tuple(line for line in lines if line))


def _short_hash(value) -> str:
    return str(value or "").removeprefix("sha256:")[:12]


def _change_request(event: AuditEvent) -> EventSummary:
    """A step of a change request (changes.services): its kind and revision, the result's
    hash, and what the step did."""
    data = event.data
    lines = [
        f"{data.get('kind', '')}, revision {data.get('revision', 1)}, result {_short_hash(data.get('effective_hash'))}"
    ]
    if data.get("gate_override"):
        lines.append("overrides the release gate")
    if "approvals" in data:
        lines.append(f"{data['approvals']} of {_plural(data.get('required', 1), 'approval')}")
    if data.get("approvers"):
        lines.append("approved by " + ", ".join(data["approvers"]))
    if "hash_before" in data:
        lines.append(
            f"result {_short_hash(data['hash_before'])} → {_short_hash(data.get('effective_hash'))}; "
            f"{_plural(data.get('approvals_voided', 0), 'approval')} voided"
        )
    if event.action == "change_request.scheduled":
        when = data.get("scheduled_for")
        lines.append(f"scheduled for {when}" if when else "taken off the schedule")
        if data.get("was"):
            lines.append(f"was {data['was']}")
    return EventSummary(lines=tuple(lines))


def _version(event: AuditEvent) -> EventSummary:
    return EventSummary(lines=(_versions(event.diff),))


BINDING_LABELS = {
    "kind": "kind",
    "url": "URL",
    "timeout_seconds": "timeout (s)",
    "secret_env": "secret from",
    "latency_ms": "latency (ms)",
    "failure_rate": "failure rate",
}


def _binding(event: AuditEvent) -> EventSummary:
    before, after = event.diff.get("before") or {}, event.diff.get("after") or {}
    parts = ["new binding"] if event.data.get("created") else []
    for field, value in after.items():
        label = BINDING_LABELS.get(field, field)
        if value in ("", None) and before.get(field) in ("", None):
            continue
        if before and before.get(field) != value:
            parts.append(
                f"{label} {before.get(field) if before.get(field) not in ('', None) else '–'} → {value}"
            )
        else:
            parts.append(f"{label} {value}")
    return EventSummary(lines=("; ".join(parts),) if parts else ())


def _binding_removed(event: AuditEvent) -> EventSummary:
    before = event.diff.get("before") or {}
    parts = [
        f"{BINDING_LABELS.get(field, field)} {value}"
        for field, value in before.items()
        if value not in ("", None)
    ]
    return EventSummary(
        lines=(
            "removed; it was: " + "; ".join(parts) if parts else "removed",
            "its rules call the simulated adapter now",
        )
    )


def _environment(event: AuditEvent) -> EventSummary:
    lines = ["protected" if event.data.get("protected") else "not protected"]
    if event.data.get("position") is not None:
        lines.append(f"order {event.data['position']}")
    return EventSummary(lines=tuple(lines))


ENVIRONMENT_LABELS = {"protected": "protected", "position": "order", "description": "description"}


def _environment_changed(event: AuditEvent) -> EventSummary:
    before, after = event.diff.get("before") or {}, event.diff.get("after") or {}
    lines = []
    for field, value in after.items():
        if field == "protected":
            lines.append(
                "now protected: publishers only" if value else "no longer protected: editors may change it"
            )
        elif field == "description":
            lines.append(f"description: {value}" if value else "description removed")
        else:
            lines.append(f"{ENVIRONMENT_LABELS.get(field, field)} {before.get(field, '–')} → {value}")
    return EventSummary(lines=tuple(lines))


def _run(event: AuditEvent) -> EventSummary:
    data = event.data
    facts = [
        f"version {data['config_version']}" if data.get("config_version") is not None else "",
        f"from {data['source']}" if data.get("source") else "",
        _plural(data["attempts"], "attempt") if data.get("attempts") is not None else "",
    ]
    lines = [", ".join(fact for fact in facts if fact)]
    if data.get("partial_stages"):
        lines.append(f"partial: only {', '.join(data['partial_stages'])} ran")
    if data.get("error"):
        lines.append(data["error"])
    return EventSummary(status=data.get("status", ""), lines=tuple(line for line in lines if line))


def _batch_submitted(event: AuditEvent) -> EventSummary:
    data = event.data
    return EventSummary(
        lines=(
            f"{_plural(data.get('total', 0), 'application')} in {_plural(data.get('chunks', 0), 'chunk')}, "
            f"{_plural(data.get('rejected_rows', 0), 'row')} rejected",
            f"version {data.get('config_version')}",
        )
    )


def _batch_completed(event: AuditEvent) -> EventSummary:
    data = event.data
    return EventSummary(
        status="completed",
        lines=(
            f"{_plural(data.get('total', 0), 'application')}: {data.get('passed', 0)} passed, "
            f"{data.get('failed', 0)} failed, {data.get('review', 0)} to review, "
            f"{data.get('undecided', 0)} undecided, "
            f"{_plural(data.get('errored', 0), 'error')}",
        ),
    )


def _batch_cancelled(event: AuditEvent) -> EventSummary:
    data = event.data
    return EventSummary(
        status="cancelled",
        lines=(
            f"{data.get('processed', 0)} of {_plural(data.get('total', 0), 'application')} processed, "
            f"{_plural(data.get('chunks_cancelled', 0), 'chunk')} not run",
        ),
    )


def _expects(expected: dict | None) -> str:
    return f"expects {(expected or {}).get('status', 'any outcome')}"


def _case_created(event: AuditEvent) -> EventSummary:
    source = event.data.get("source_run")
    lines = [_expects(event.data.get("expected"))]
    if source:
        lines.append(f"saved from run {str(source)[:8]}")
    return EventSummary(lines=tuple(lines))


def _case_changed(event: AuditEvent) -> EventSummary:
    before, after = event.diff.get("before") or {}, event.diff.get("after") or {}
    lines = []
    if before.get("name") != after.get("name"):
        lines.append(f"renamed from {before.get('name')}")
    if before.get("expected") != after.get("expected"):
        lines.append(f"expectation changed: now {_expects(after.get('expected'))}")
    if before.get("input") != after.get("input"):
        lines.append("application changed")
    return EventSummary(lines=tuple(lines))


def _case_deleted(event: AuditEvent) -> EventSummary:
    return EventSummary(lines=(_expects(event.data.get("expected")).replace("expects", "expected", 1),))


def _suite_run(event: AuditEvent) -> EventSummary:
    data = event.data
    lines = [
        f"{_plural(data.get('total', 0), 'test case')}: {data.get('passed', 0)} passed, "
        f"{data.get('failed', 0)} failed"
    ]
    if data.get("version") is not None:
        lines.append(f"on version {data['version']}")
    elif data.get("target"):  # events recorded before the version was kept
        lines.append(f"on {data['target']}")
    if data.get("error"):
        lines.append(data["error"])
    return EventSummary(status=data.get("status", ""), lines=tuple(lines))


def _candidate(data: dict) -> str:
    if data.get("candidate_version") is not None:
        return f"version {data['candidate_version']}"
    return str(data.get("candidate", ""))  # events recorded before the version was kept


def _impact_started(event: AuditEvent) -> EventSummary:
    data = event.data
    return EventSummary(lines=(f"{_plural(data.get('runs', 0), 'past run')} against {_candidate(data)}",))


def _impact_completed(event: AuditEvent) -> EventSummary:
    data = event.data
    return EventSummary(
        status="completed",
        lines=(
            f"{_plural(data.get('replayed', 0), 'application')} replayed against {_candidate(data)}",
            f"{data.get('flips_to_fail', 0)} would no longer pass, {data.get('flips_to_pass', 0)} would now pass"
            + (
                f"; {data.get('flips_to_review', 0)} would now go to review, "
                f"{data.get('flips_from_review', 0)} would no longer"
                if data.get("flips_to_review") or data.get("flips_from_review")
                else ""
            ),
        ),
    )


def _impact_cancelled(event: AuditEvent) -> EventSummary:
    data = event.data
    return EventSummary(
        status="cancelled",
        lines=(f"{data.get('processed', 0)} of {_plural(data.get('total', 0), 'run')} replayed",),
    )


def _token_revoked(event: AuditEvent) -> EventSummary:
    owner = event.data.get("owner")
    return EventSummary(lines=(f"owned by {owner}",) if owner and owner != event.actor_name else ())


def _review(event: AuditEvent) -> EventSummary:
    """A step of a run's review (reviews.services): the case's state after it, and what was done."""
    data = event.data
    lines = [f"{data.get('approvals', 0)} of {_plural(data.get('approvals_required', 1), 'approval')}"]
    if event.action == "review.field_revealed":
        lines.append(f"revealed the field {data.get('field', '')}")
    elif event.action == "review.released" and data.get("claimed_by") not in ("", None, event.actor_name):
        lines.append(f"released {data['claimed_by']}'s claim")
    elif data.get("reason_code"):
        lines.append(f"{data.get('decision', '')}: {data['reason_code']}")
    return EventSummary(status=str(data.get("case_status", "")), lines=tuple(lines))


def _webhook(event: AuditEvent) -> EventSummary:
    """A webhook subscription managed (webhooks.services): where it sends, what changed."""
    data = event.data
    lines = []
    if data.get("url"):
        lines.append(f"to {data['url']}")
    if data.get("events"):
        lines.append("events: " + ", ".join(data["events"]))
    for key, change in (data.get("changed") or {}).items():
        lines.append(f"{key}: {change.get('from')} → {change.get('to')}")
    if event.action == "webhook.disabled":
        lines.append(str(data.get("reason", "")))
        lines.append(
            f"{_plural(data.get('consecutive_failures', 0), 'failed delivery', 'failed deliveries')} in a row"
        )
    if data.get("was_disabled_because"):
        lines.append(f"was disabled: {data['was_disabled_because']}")
    if "deliveries" in data:
        lines.append(f"{_plural(data['deliveries'], 'delivery', 'deliveries')} logged")
    if event.action == "webhook.delivery_resent":
        lines.append(
            f"{data.get('event', '')} (event {data.get('event_id', '')}) as delivery {data.get('delivery', '')}"
        )
    return EventSummary(lines=tuple(line for line in lines if line))


def _nothing(event: AuditEvent) -> EventSummary:
    return EventSummary()


SUMMARIES: dict[str, Callable[[AuditEvent], EventSummary]] = {
    "pipeline.created": _nothing,
    "config_version.created": _version,
    "release.created": _release,
    "override.set": _release,
    "stage.toggled": _release,
    "rule.toggled": _release,
    "release.rolled_back": _release,
    "release_gate.overridden": _gate_overridden,
    "service_binding.set": _binding,
    "service_binding.removed": _binding_removed,
    "environment.created": _environment,
    "environment.updated": _environment_changed,
    "run.completed": _run,
    "batch.submitted": _batch_submitted,
    "batch.completed": _batch_completed,
    "batch.cancelled": _batch_cancelled,
    "test_case.created": _case_created,
    "test_case.changed": _case_changed,
    "test_case.deleted": _case_deleted,
    "suite_run.completed": _suite_run,
    "impact.started": _impact_started,
    "impact.completed": _impact_completed,
    "impact.cancelled": _impact_cancelled,
    "review.claimed": _review,
    "review.released": _review,
    "review.field_revealed": _review,
    "review.approved": _review,
    "review.declined": _review,
    "api_token.created": _nothing,  # its name and prefix are the event's object
    "api_token.revoked": _token_revoked,
    "change_request.opened": _change_request,
    "change_request.revised": _change_request,
    "change_request.approved": _change_request,
    "change_request.rejected": _change_request,
    "change_request.withdrawn": _change_request,
    "change_request.scheduled": _change_request,
    "change_request.applied": _change_request,
    "change_request.refused": _change_request,
    "change_request.break_glass": _change_request,
    "webhook.created": _webhook,
    "webhook.updated": _webhook,
    "webhook.secret_rotated": _nothing,  # never the secret itself
    "webhook.enabled": _webhook,
    "webhook.disabled": _webhook,
    "webhook.deleted": _webhook,
    "webhook.delivery_resent": _webhook,
}


def _as_recorded(event: AuditEvent) -> EventSummary:
    """An action without a summary of its own: its plain values as they are."""
    data = event.data if isinstance(event.data, dict) else {}
    parts = [
        f"{key} {value}"
        for key, value in data.items()
        if isinstance(value, (str, int, float, bool)) and value not in ("", None)
    ]
    return EventSummary(status=str(data.get("status", "")), lines=("; ".join(parts),) if parts else ())


def event_summary(event: AuditEvent) -> EventSummary:
    return SUMMARIES.get(event.action, _as_recorded)(event)
