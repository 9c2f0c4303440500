"""Change requests: the front door for every change to what an environment runs or holds.

- `change_submit` is what every interface calls (console, API, commands). It applies a
  change at once where that is allowed, and opens a change request where the
  environment is under change control or the release gate is to be overridden.
- A request is approved by `approvals_required` publishers other than its author and
  other than the author of a version it releases. Each approval is bound to the hash of
  what the change produces and to the test cases' fingerprint (changes.selectors).
- `change_request_apply` applies it only when all of that still holds and the release
  gate is open (or its override was approved); a scheduled apply does the same checks
  when its time comes, and a refusal says why and tells the author.
- `change_request_break_glass`: a superuser applies without approvals, with a reason;
  recorded as such, and everyone subscribed hears of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from pipelines_admin.accounts.permissions import BREAK_GLASS, ENVIRONMENT_CHANGE, require
from pipelines_admin.audit.services import audit_record
from pipelines_admin.changes.models import ChangeApproval, ChangeRequest
from pipelines_admin.changes.notify import notify_author, notify_publishers
from pipelines_admin.changes.plans import Plan, fingerprint_for, plan_change
from pipelines_admin.changes.selectors import may_approve, request_standing
from pipelines_admin.configs.change_control import ChangeAuthority
from pipelines_admin.configs.models import Environment, Pipeline, Release, ServiceBinding
from pipelines_admin.configs.selectors import (
    environment_revision,
    release_live,
    settings_revision,
    version_get,
)
from pipelines_admin.configs.services import (
    environment_locked,
    environment_settings,
    environment_update,
    require_reason,
    service_binding_remove,
    service_binding_set,
)
from pipelines_admin.core.errors import Conflict, InvalidInput, NotAllowed, ServiceError
from pipelines_admin.core.revisions import revision_check
from pipelines_admin.releases.services import (
    override_set,
    release_create,
    release_rollback,
    rule_toggle,
    stage_toggle,
)
from pipelines_admin.webhooks import events
from pipelines_admin.webhooks.services import event_publish

#: how far ahead a change may be scheduled
SCHEDULE_HORIZON = timedelta(days=90)


@dataclass
class Submitted:
    """What `change_submit` did: applied the change (`applied`: the Release, the
    ServiceBinding, None for a removed binding, or the Environment) or opened
    `change_request`."""

    change_request: ChangeRequest | None = None
    applied: Any = None

    @property
    def requested(self) -> bool:
        return self.change_request is not None


def _apply(
    *,
    kind: str,
    pipeline: Pipeline | None,
    environment: Environment,
    payload: dict,
    actor,
    reason: str,
    gate_override: bool,
    base_revision: str | None,
    authority: ChangeAuthority | None,
) -> Any:
    """Make the change through the services that own it (their checks, validation and
    audit events), with `authority` for an environment under change control."""
    common = {"environment": environment, "actor": actor, "reason": reason, "authority": authority}
    if kind == "binding":
        if payload.get("remove"):
            service_binding_remove(
                interface=payload["interface"], name=payload["name"], base_revision=base_revision, **common
            )
            return None
        return service_binding_set(
            interface=payload["interface"],
            name=payload["name"],
            expect=payload.get("expect"),
            base_revision=base_revision,
            **common,
            **(payload.get("values") or {}),
        )
    if kind == "environment":
        settings = {**environment_settings(environment), **payload}
        return environment_update(base_revision=base_revision, **common, **settings)
    if pipeline is None:
        raise InvalidInput(f"A {kind} names a pipeline.", {"fields": {"pipeline": ["required"]}})
    release_args = {"pipeline": pipeline, "gate_override": gate_override, **common}
    if kind == "release":
        version = version_get(pipeline, payload["version"])
        return release_create(version=version, override=payload.get("override"), **release_args)
    if kind == "rollback":
        to = Release.objects.get(pk=payload["to_release"], pipeline=pipeline, environment=environment)
        return release_rollback(to_release=to, **release_args)
    if kind == "override":
        return override_set(override=payload["override"], base_revision=base_revision, **release_args)
    toggle = stage_toggle if not payload.get("rule") else rule_toggle
    rule = {"rule": payload["rule"]} if payload.get("rule") else {}
    return toggle(
        stage=payload["stage"],
        enabled=payload["enabled"],
        disable_dependents=bool(payload.get("disable_dependents")),
        base_revision=base_revision,
        **rule,
        **release_args,
    )


def change_submit(
    *,
    kind: str,
    environment: Environment,
    actor,
    pipeline: Pipeline | None = None,
    reason: str = "",
    gate_override: bool = False,
    base_revision: str | None = None,
    **payload,
) -> Submitted:
    """Apply the change now, or open a change request for it where the environment is
    under change control or the release gate is to be overridden."""
    if environment.change_requests_required or gate_override:
        return Submitted(
            change_request=change_request_open(
                kind=kind,
                pipeline=pipeline,
                environment=environment,
                actor=actor,
                reason=reason,
                gate_override=gate_override,
                base_revision=base_revision,
                payload=payload,
            )
        )
    with transaction.atomic():
        applied = _apply(
            kind=kind,
            pipeline=pipeline,
            environment=environment,
            payload=payload,
            actor=actor,
            reason=reason,
            gate_override=False,
            base_revision=base_revision,
            authority=None,
        )
    return Submitted(applied=applied)


def _current_revision(kind: str, pipeline: Pipeline | None, environment: Environment, payload: dict) -> str:
    if kind == "binding":
        binding = ServiceBinding.objects.filter(
            environment=environment, interface=payload.get("interface"), name=payload.get("name")
        ).first()
        return settings_revision(binding) if binding else "unbound"
    if kind == "environment":
        return settings_revision(environment)
    return environment_revision(release_live(pipeline, environment)) if pipeline else ""


def _plan_for_open(
    *, kind: str, pipeline: Pipeline | None, environment: Environment, payload: dict, actor
) -> tuple[Plan, dict]:
    """The plan, and the payload made exact: a release names its override (the one live
    now when none was given), so what is approved is what applies."""
    payload = dict(payload)
    plan = plan_change(kind=kind, pipeline=pipeline, environment=environment, payload=payload)
    if kind == "release":
        payload["override"] = plan.override
    if plan.before == plan.after:
        raise InvalidInput(f"Nothing changed: {environment.name} already is exactly so.")
    _dry_run(kind=kind, pipeline=pipeline, environment=environment, payload=payload, actor=actor)
    return plan, payload


class _DryRun(Exception):
    pass


def _dry_run(*, kind: str, pipeline: Pipeline | None, environment: Environment, payload: dict, actor) -> None:
    """Apply the change in a savepoint and roll it back: the owning service's validation
    (the effective config, the binding's settings, the live configs it would break)
    refuses a request that could never apply. The release gate is not asked here: the
    request shows it, and applying checks it."""
    try:
        with transaction.atomic():
            _apply(
                kind=kind,
                pipeline=pipeline,
                environment=environment,
                payload=payload,
                actor=actor,
                reason="dry run",
                gate_override=True,
                base_revision=None,
                authority=ChangeAuthority("change_request", 0),
            )
            raise _DryRun
    except _DryRun:
        pass


@transaction.atomic
def change_request_open(
    *,
    kind: str,
    environment: Environment,
    actor,
    payload: dict,
    pipeline: Pipeline | None = None,
    reason: str = "",
    gate_override: bool = False,
    base_revision: str | None = None,
) -> ChangeRequest:
    require(actor, ENVIRONMENT_CHANGE, environment)
    reason = require_reason(environment, reason, why="A change request needs a reason: say what it is for.")
    environment = environment_locked(environment)
    current = _current_revision(kind, pipeline, environment, payload)
    revision_check(base=base_revision, current=current, what=f"What {environment.name} holds")
    plan, payload = _plan_for_open(
        kind=kind, pipeline=pipeline, environment=environment, payload=payload, actor=actor
    )
    request = ChangeRequest.objects.create(
        pipeline=pipeline if kind in ChangeRequest.PIPELINE_KINDS else None,
        environment=environment,
        kind=kind,
        payload=payload,
        reason=reason,
        gate_override=bool(gate_override),
        author=actor,
        effective_hash=plan.effective_hash,
        base_revision=current,
        cases_fingerprint=fingerprint_for(pipeline if kind in ChangeRequest.PIPELINE_KINDS else None),
    )
    _audit(request, actor, action="change_request.opened", reason=reason, diff={"changes": plan.changes})
    return request


#: the audit actions a webhook hears of, as its events
_WEBHOOK_EVENTS = {
    "change_request.opened": events.CHANGE_REQUEST_OPENED,
    "change_request.approved": events.CHANGE_REQUEST_APPROVED,
    "change_request.rejected": events.CHANGE_REQUEST_REJECTED,
    "change_request.applied": events.CHANGE_REQUEST_APPLIED,
    "change_request.refused": events.CHANGE_REQUEST_REFUSED,
    "change_request.break_glass": events.CHANGE_REQUEST_BREAK_GLASS,
}


def _audit(request: ChangeRequest, actor, *, action: str, reason: str = "", diff=None, data=None) -> None:
    """The step's audit event, and its webhook event where subscribers may hear of it
    (ids, names, hashes and usernames: a change request holds no application data)."""
    if action in _WEBHOOK_EVENTS:
        event_publish(
            event=_WEBHOOK_EVENTS[action],
            pipeline=request.pipeline,
            environment=request.environment,
            data={
                "change_request": request.pk,
                "title": request.title,
                "kind": request.kind,
                "revision": request.revision,
                "effective_hash": request.effective_hash,
                "gate_override": request.gate_override,
                "author": request.author.get_username(),
                "actor": actor.get_username() if actor is not None else None,
                "status": request.status,
                "message": reason,
                "scheduled_for": request.scheduled_for.isoformat() if request.scheduled_for else None,
                "applied_release": request.applied_release_id,
                "break_glass": request.break_glass,
            },
        )
    audit_record(
        actor=actor,
        action=action,
        object_type="change_request",
        object_id=request.pk,
        object_repr=f"#{request.pk}: {request.title}",
        pipeline=request.pipeline.slug if request.pipeline else "",
        environment=request.environment.name,
        reason=reason,
        diff=diff,
        data={
            "kind": request.kind,
            "revision": request.revision,
            "effective_hash": request.effective_hash,
            "gate_override": request.gate_override,
            **(data or {}),
        },
    )


def _locked(request: ChangeRequest) -> ChangeRequest:
    return (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("pipeline", "environment")
        .get(pk=request.pk)
    )


def _require_open(request: ChangeRequest) -> None:
    if not request.is_open:
        raise Conflict(
            f"Change request #{request.pk} is {request.get_status_display()}: nothing more can be done with it.",
            {"change_request": request.pk, "status": request.status},
        )


@transaction.atomic
def change_request_revise(
    *, change_request: ChangeRequest, actor, payload: dict, reason: str = ""
) -> ChangeRequest:
    """The author changes what the request does: every approval given so far is voided,
    visibly, and the request waits for approvals of the new revision."""
    request = _locked(change_request)
    _require_open(request)
    if request.author_id != getattr(actor, "pk", None):
        raise NotAllowed("Only the author revises a change request.", {"change_request": request.pk})
    require(actor, ENVIRONMENT_CHANGE, request.environment)
    merged = {**request.payload, **payload}
    plan, merged = _plan_for_open(
        kind=request.kind,
        pipeline=request.pipeline,
        environment=request.environment,
        payload=merged,
        actor=actor,
    )
    before_hash = request.effective_hash
    request.payload, request.effective_hash = merged, plan.effective_hash
    request.reason = (reason or "").strip() or request.reason
    request.revision += 1
    request.scheduled_for = None
    request.refused_at = None
    request.status_message = ""
    request.cases_fingerprint = fingerprint_for(request.pipeline)
    request.save()
    voided = ChangeApproval.objects.filter(change_request=request, voided_at__isnull=True).update(
        voided_at=timezone.now(),
        voided_reason=f"Voided: the author revised the request (revision {request.revision}).",
    )
    _audit(
        request,
        actor,
        action="change_request.revised",
        reason=request.reason,
        diff={"changes": plan.changes},
        data={"hash_before": before_hash, "approvals_voided": voided},
    )
    return request


@transaction.atomic
def change_request_approve(
    *, change_request: ChangeRequest, actor, comment: str = "", expected_revision: int | None = None
) -> ChangeApproval:
    """`expected_revision`: the revision the approver read; Stale if the author revised it since."""
    return _decide(change_request, actor, ChangeApproval.Decision.APPROVE, comment, expected_revision)


@transaction.atomic
def change_request_reject(
    *, change_request: ChangeRequest, actor, comment: str, expected_revision: int | None = None
) -> ChangeApproval:
    if not (comment or "").strip():
        raise InvalidInput(
            "Say why you reject the change: the author reads it.", {"fields": {"comment": ["required"]}}
        )
    return _decide(change_request, actor, ChangeApproval.Decision.REJECT, comment, expected_revision)


def _check_revision(request: ChangeRequest, expected_revision: int | None) -> None:
    revision_check(
        base=None if expected_revision is None else str(expected_revision),
        current=str(request.revision),
        what=f"Change request #{request.pk}",
        extra={"change_request": request.pk, "revision": request.revision},
    )


def _decide(
    change_request: ChangeRequest, actor, decision: str, comment: str, expected_revision: int | None
) -> ChangeApproval:
    request = _locked(change_request)
    _require_open(request)
    _check_revision(request, expected_revision)
    standing = request_standing(request)
    allowed, why = may_approve(actor, request, standing.plan)
    if not allowed:
        raise NotAllowed(why, {"change_request": request.pk})
    if standing.plan is None:
        raise Conflict(
            f"Change request #{request.pk} can no longer be applied: {standing.plan_error}",
            {"change_request": request.pk},
        )
    if standing.plan.effective_hash != request.effective_hash:
        raise Conflict(
            f"What change request #{request.pk} produces changed since it was opened: its author revises it first.",
            {"change_request": request.pk, "now": standing.plan.effective_hash},
        )
    if any(a.stands and a.approval.approver_id == actor.pk for a in standing.approvals):
        raise Conflict("You already decided this revision of the request.", {"change_request": request.pk})
    approval = ChangeApproval.objects.create(
        change_request=request,
        approver=actor,
        decision=decision,
        comment=(comment or "").strip(),
        effective_hash=standing.plan.effective_hash,
        cases_fingerprint=fingerprint_for(request.pipeline),
        request_revision=request.revision,
    )
    if decision == ChangeApproval.Decision.REJECT:
        request.status = ChangeRequest.Status.REJECTED
        request.status_message = f"Rejected by {actor.get_username()}: {approval.comment}"
        request.scheduled_for = None
        request.save()
        _audit(request, actor, action="change_request.rejected", reason=approval.comment)
        notify_author(request, "change_request.rejected", request.status_message)
    else:
        _audit(
            request,
            actor,
            action="change_request.approved",
            reason=approval.comment,
            data={"approvals": len(standing.standing_approvals) + 1, "required": standing.required},
        )
        if len(standing.standing_approvals) + 1 >= standing.required:
            notify_author(request, "change_request.approved", f"Approved by {actor.get_username()}.")
    return approval


@transaction.atomic
def change_request_withdraw(*, change_request: ChangeRequest, actor, reason: str = "") -> ChangeRequest:
    request = _locked(change_request)
    _require_open(request)
    if request.author_id != getattr(actor, "pk", None) and not getattr(actor, "is_superuser", False):
        raise NotAllowed("Only the author withdraws a change request.", {"change_request": request.pk})
    request.status = ChangeRequest.Status.WITHDRAWN
    request.status_message = (reason or "").strip()
    request.scheduled_for = None
    request.save()
    _audit(request, actor, action="change_request.withdrawn", reason=request.status_message)
    return request


@transaction.atomic
def change_request_schedule(
    *, change_request: ChangeRequest, actor, when: datetime | None, now: datetime | None = None
) -> ChangeRequest:
    """Apply an approved request at `when` (None: take it off the schedule). Beat applies
    it then, only if everything still holds; moving it takes the old time away."""
    request = _locked(change_request)
    _require_open(request)
    require(actor, ENVIRONMENT_CHANGE, request.environment)
    now = now or timezone.now()
    if when is not None:
        if timezone.is_naive(when):
            raise InvalidInput(
                "Give the time with its time zone.", {"fields": {"when": ["needs a time zone"]}}
            )
        if when <= now:
            raise InvalidInput("Schedule it in the future.", {"fields": {"when": ["must be in the future"]}})
        if when > now + SCHEDULE_HORIZON:
            raise InvalidInput(
                f"Schedule it within {SCHEDULE_HORIZON.days} days.", {"fields": {"when": ["too far ahead"]}}
            )
        standing = request_standing(request)
        if not standing.ready:
            raise Conflict(
                f"Only a request ready to apply can be scheduled: {' '.join(standing.blockers)}",
                {"change_request": request.pk, "blockers": standing.blockers},
            )
    before = request.scheduled_for
    request.scheduled_for, request.scheduled_by = when, (actor if when else None)
    request.refused_at = None if when else request.refused_at
    request.save()
    _audit(
        request,
        actor,
        action="change_request.scheduled",
        data={
            "scheduled_for": when.isoformat() if when else None,
            "was": before.isoformat() if before else None,
        },
    )
    return request


class ApplyRefused(Conflict):
    """Something the approvals were given for no longer holds (nothing was applied)."""


@transaction.atomic
def change_request_apply(
    *, change_request: ChangeRequest, actor, expected_revision: int | None = None
) -> ChangeRequest:
    """Apply an approved request now: its hash, its approvals and the gate are checked
    again first (ApplyRefused says what no longer holds)."""
    request = _locked(change_request)
    _require_open(request)
    _check_revision(request, expected_revision)
    require(actor, ENVIRONMENT_CHANGE, request.environment)
    return _apply_request(request, actor)


def _apply_request(request: ChangeRequest, actor) -> ChangeRequest:
    environment_locked(request.environment)  # nothing else changes it until this commits
    standing = request_standing(request)
    if not standing.ready:
        raise ApplyRefused(
            f"Change request #{request.pk} was not applied: {' '.join(standing.blockers)}",
            {"change_request": request.pk, "blockers": standing.blockers},
        )
    approvers = tuple(a.approver.get_username() for a in standing.standing_approvals)
    applied = _apply(
        kind=request.kind,
        pipeline=request.pipeline,
        environment=request.environment,
        payload=request.payload,
        actor=actor,
        reason=f"Change request #{request.pk}: {request.reason}",
        gate_override=request.gate_override,
        base_revision=None,
        authority=ChangeAuthority("change_request", request.pk, approvers),
    )
    if isinstance(applied, Release) and applied.effective_hash != request.effective_hash:
        raise ApplyRefused(  # rolls the release back with this transaction
            f"Change request #{request.pk} was not applied: it would have produced "
            f"{applied.effective_hash}, not the approved {request.effective_hash}.",
            {"change_request": request.pk},
        )
    request.status = ChangeRequest.Status.APPLIED
    request.applied_release = applied if isinstance(applied, Release) else None
    request.applied_at, request.applied_by = timezone.now(), actor
    request.status_message = ""
    request.save()
    _audit(request, actor, action="change_request.applied", data={"approvers": list(approvers)})
    notify_author(request, "change_request.applied", f"Applied by {actor.get_username()}.")
    return request


@transaction.atomic
def change_request_break_glass(*, change_request: ChangeRequest, actor, reason: str) -> ChangeRequest:
    """A superuser applies an open request without its approvals, with a reason. The
    gate is still asked (its override must have been requested); the audit trail
    records the break-glass and every publisher and subscriber hears of it."""
    require(actor, BREAK_GLASS)
    request = _locked(change_request)
    _require_open(request)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "Breaking glass needs a reason: it is recorded and everyone is told.",
            {"fields": {"reason": ["required"]}},
        )
    plan = plan_change(
        kind=request.kind, pipeline=request.pipeline, environment=request.environment, payload=request.payload
    )
    applied = _apply(
        kind=request.kind,
        pipeline=request.pipeline,
        environment=request.environment,
        payload=request.payload,
        actor=actor,
        reason=f"Break glass on change request #{request.pk}: {reason}",
        gate_override=request.gate_override,
        base_revision=None,
        authority=ChangeAuthority("break_glass", request.pk),
    )
    request.status = ChangeRequest.Status.APPLIED
    request.break_glass, request.break_glass_reason = True, reason
    request.effective_hash = plan.effective_hash
    request.applied_release = applied if isinstance(applied, Release) else None
    request.applied_at, request.applied_by = timezone.now(), actor
    request.save()
    _audit(request, actor, action="change_request.break_glass", reason=reason, diff={"changes": plan.changes})
    notify_publishers(request, f"{actor.get_username()} broke glass: {reason}")
    return request


def changes_apply_due(*, now: datetime | None = None) -> dict[str, int]:
    """Beat's job: apply each scheduled request whose time has come, as the publisher
    who scheduled it, checking everything again. One that no longer holds is taken off
    the schedule, says why, and its author is told."""
    now = now or timezone.now()
    due = list(
        ChangeRequest.objects.filter(
            status=ChangeRequest.Status.OPEN, scheduled_for__isnull=False, scheduled_for__lte=now
        )
        .order_by("scheduled_for", "id")
        .values_list("pk", flat=True)
    )
    counts = {"applied": 0, "refused": 0, "skipped": 0}
    for pk in due:
        counts[_apply_scheduled(pk, now)] += 1
    return counts


@transaction.atomic
def _apply_scheduled(pk: int, now: datetime) -> str:
    request = (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("pipeline", "environment")
        .get(pk=pk)
    )
    if not request.is_open or request.scheduled_for is None or request.scheduled_for > now:
        return "skipped"  # applied, withdrawn or moved since it was found due
    actor = request.scheduled_by
    try:
        with transaction.atomic():
            if actor is None:
                raise ApplyRefused("Nobody scheduled it.")
            require(actor, ENVIRONMENT_CHANGE, request.environment)
            _apply_request(request, actor)
        return "applied"
    except ServiceError as exc:
        request.refresh_from_db()
        when = request.scheduled_for
        request.scheduled_for = None
        request.refused_at = now
        request.status_message = (
            f"Not applied at its scheduled time ({when.isoformat() if when else 'unknown'}): {exc.message}"
        )
        request.save()
        _audit(request, actor, action="change_request.refused", reason=request.status_message)
        notify_author(request, "change_request.refused", request.status_message)
        return "refused"
