"""Working the review queue: claiming a case, releasing it, revealing one field of the
application, approving or declining it, and keeping a decided case as a test case.

Every write takes the reviewer role (accounts.permissions.REVIEW_DECIDE) and writes its
audit event in the same transaction. One reviewer holds a case at a time: revealing and
deciding take the claim when it is free, and are refused while another reviewer holds
it. A disposition gives the claim up, so the next reviewer can take it; a reviewer who
has approved a case cannot claim it again (each approval comes from a different person).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from pipelines_admin.accounts.permissions import REVIEW_DECIDE, can, require
from pipelines_admin.audit.services import audit_record
from pipelines_admin.core.errors import Conflict, InvalidInput, NotAllowed
from pipelines_admin.reviews.models import APPROVE, DECLINE, REASON_CODES, ReviewCase, ReviewDisposition
from pipelines_admin.reviews.selectors import approvals_required, masked_fields, revealable_fields
from pipelines_admin.runs.models import Run
from pipelines_admin.runs.records import record_decrypt, result_mask
from pipelines_admin.testcases.models import TestCase
from pipelines_admin.testcases.services import case_create

NOTE_MAX = 2000
REASON_MIN = 5
REASON_MAX = 500
#: what a test case saved from a decided case expects: the final decision as a run status
EXPECTED_STATUS = {ReviewCase.Status.APPROVED: "passed", ReviewCase.Status.DECLINED: "failed"}


def _username(user) -> str:
    return user.get_username() if user is not None else ""


def _audit(case: ReviewCase, *, actor, action: str, reason: str = "", data: dict | None = None) -> None:
    run = case.run
    audit_record(
        actor=actor,
        action=action,
        object_type="run",
        object_id=run.pk,
        object_repr=f"review of run {run.pk}",
        pipeline=run.pipeline.slug,
        environment=run.environment.name,
        reason=reason,
        data={
            "case_status": case.status,
            "approvals": case.approvals,
            "approvals_required": case.approvals_required,
            **(data or {}),
        },
    )


def _case_locked(run: Run) -> ReviewCase:
    """The run's case, created on first use, its row locked for this transaction."""
    locked = (
        Run.objects.select_for_update(of=("self",))
        .select_related("pipeline", "environment")
        .filter(pk=run.pk)
        .first()
    )
    if locked is None or locked.status != Run.Status.REVIEW:
        raise Conflict("This application is not waiting for a review.", {"run": str(run.pk)})
    case, _created = ReviewCase.objects.get_or_create(
        run=locked,
        defaults={
            "pipeline_id": locked.pipeline_id,
            "environment_id": locked.environment_id,
            "run_created_at": locked.created_at,
            "approvals_required": approvals_required(locked),
        },
    )
    case = ReviewCase.objects.select_for_update(of=("self",)).select_related("claimed_by").get(pk=case.pk)
    case.run = locked
    return case


def _open(case: ReviewCase) -> None:
    if case.decided:
        raise Conflict(
            f"This application was {case.status} already.",
            {"status": case.status, "decided_at": case.decided_at.isoformat() if case.decided_at else None},
        )


def _refuse_second_approval(case: ReviewCase, actor) -> None:
    if case.dispositions.filter(reviewer=actor, decision=APPROVE).exists():
        raise Conflict(
            "You approved this application already: its next approval must come from another reviewer.",
            {"approvals": case.approvals, "approvals_required": case.approvals_required},
        )


def _take(case: ReviewCase, actor) -> bool:
    """Give `actor` the claim on `case` (open, locked); True when it was newly taken."""
    if case.claimed_by_id == actor.pk:
        return False
    if case.claimed_by_id is not None:
        raise Conflict(
            f"{_username(case.claimed_by)} is reviewing this application; they, or an administrator, "
            "can release it.",
            {
                "claimed_by": _username(case.claimed_by),
                "claimed_at": case.claimed_at.isoformat() if case.claimed_at else None,
            },
        )
    _refuse_second_approval(case, actor)
    case.claimed_by, case.claimed_at = actor, timezone.now()
    case.save(update_fields=["claimed_by", "claimed_at"])
    _audit(case, actor=actor, action="review.claimed")
    return True


@transaction.atomic
def review_claim(*, run: Run, actor) -> ReviewCase:
    """Hold the case of `run` for `actor` (a no-op when they hold it already)."""
    require(actor, REVIEW_DECIDE)
    case = _case_locked(run)
    _open(case)
    _take(case, actor)
    return case


@transaction.atomic
def review_release(*, run: Run, actor) -> ReviewCase:
    """Give the claim up: the holder, or a superuser for anyone."""
    require(actor, REVIEW_DECIDE)
    case = _case_locked(run)
    _open(case)
    holder = case.claimed_by
    if holder is None:
        raise Conflict("Nobody is reviewing this application.")
    if holder.pk != actor.pk and not actor.is_superuser:
        raise NotAllowed(
            f"{_username(holder)} is reviewing this application: only they, or an administrator, can "
            "release it.",
            {"claimed_by": _username(holder)},
        )
    case.claimed_by, case.claimed_at = None, None
    case.save(update_fields=["claimed_by", "claimed_at"])
    _audit(case, actor=actor, action="review.released", data={"claimed_by": _username(holder)})
    return case


def _scrubbed(run: Run, record: dict, text: str) -> str:
    """`text` with any personal value of the application masked (as in the run's result)."""
    return str(result_mask({"text": text}, record, masked_fields(run))["text"])


@transaction.atomic
def review_reveal(*, run: Run, actor, field: str, reason: str) -> Any:
    """The clear value of one masked field of the application, for `actor` alone: the
    value is returned, never stored; the audit event names the field and the reason."""
    require(actor, REVIEW_DECIDE)
    reason = (reason or "").strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise InvalidInput(
            f"Say why you need to see it ({REASON_MIN} to {REASON_MAX} characters).",
            {"fields": {"reason": ["required"]}},
        )
    case = _case_locked(run)
    _open(case)
    fields = revealable_fields(case.run)
    if field not in fields:
        raise InvalidInput(
            f"{field!r} is not a masked field of this application"
            + (f" (those are {', '.join(fields)})." if fields else ": it has none."),
            {"fields": {"field": ["not a masked field"]}},
        )
    _take(case, actor)
    record = record_decrypt(case.run.input_encrypted)
    value: Any = record
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    _audit(
        case,
        actor=actor,
        action="review.field_revealed",
        reason=_scrubbed(case.run, record, reason),
        data={"field": field},
    )
    return value


@transaction.atomic
def review_decide(*, run: Run, actor, decision: str, reason_code: str, note: str = "") -> ReviewCase:
    """Approve or decline the application. A decline decides the case; an approval
    decides it once enough different reviewers have approved. Either gives the claim up."""
    require(actor, REVIEW_DECIDE)
    if decision not in (APPROVE, DECLINE):
        raise InvalidInput("Approve or decline.", {"fields": {"decision": ["approve or decline"]}})
    codes = REASON_CODES[decision]
    if reason_code not in codes:
        raise InvalidInput(
            f"Choose the reason: {', '.join(codes)}.", {"fields": {"reason_code": list(codes)}}
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(
            f"The note is {len(note)} characters; the limit is {NOTE_MAX}.",
            {"fields": {"note": ["too long"]}},
        )
    case = _case_locked(run)
    _open(case)
    _take(case, actor)
    if decision == APPROVE:
        _refuse_second_approval(case, actor)
    record = record_decrypt(case.run.input_encrypted)
    note = _scrubbed(case.run, record, note) if note else ""
    ReviewDisposition.objects.create(
        case=case, reviewer=actor, decision=decision, reason_code=reason_code, note=note
    )
    now = timezone.now()
    if decision == DECLINE:
        case.status = ReviewCase.Status.DECLINED
    else:
        case.approvals = case.dispositions.filter(decision=APPROVE).values("reviewer").distinct().count()
        if case.approvals >= case.approvals_required:
            case.status = ReviewCase.Status.APPROVED
    if case.decided:
        case.decided_at = now
        case.decision_seconds = (now - case.run_created_at).total_seconds()
    case.claimed_by, case.claimed_at = None, None
    case.save()
    facts = {"decision": decision, "reason_code": reason_code, "decided": case.decided}
    if decision == APPROVE:
        _audit(case, actor=actor, action="review.approved", reason=note, data=facts)
    else:
        _audit(case, actor=actor, action="review.declined", reason=note, data=facts)
    return case


def expected_choices(case: ReviewCase) -> list[tuple[str, str]]:
    """What a test case saved from a decided case may expect, the reviewer's decision first."""
    final = EXPECTED_STATUS.get(case.status)  # type: ignore[call-overload]  # a Status value
    choices = []
    if final:
        choices.append((final, f"{final}: the reviewers' decision"))
    choices.append(("review", "review: the pipeline sends it to a person again"))
    return choices


@transaction.atomic
def review_save_as_test_case(*, run: Run, actor, expect: str = "", name: str = "") -> TestCase:
    """Keep the application of a decided case as a test case of its pipeline, expecting
    the final decision (approved: passed, declined: failed) or, when `expect` is
    "review", that the pipeline sends it to a person again. Writing test cases takes the
    editor role, as anywhere else."""
    case = ReviewCase.objects.select_related("run__pipeline").filter(run=run).first()
    if case is None or not case.decided:
        raise InvalidInput("Decide the application first, then keep it as a test case.")
    allowed = [value for value, _label in expected_choices(case)]
    expect = expect or allowed[0]
    if expect not in allowed:
        raise InvalidInput(
            f"A test case of this review expects {' or '.join(allowed)}.", {"fields": {"expect": allowed}}
        )
    base = (name or "").strip() or f"Review {case.status}: run {str(run.pk)[:8]}"
    taken = set(
        TestCase.objects.filter(pipeline=run.pipeline, name__startswith=base).values_list("name", flat=True)
    )
    unique, n = base, 2
    while unique in taken:
        unique, n = f"{base} ({n})", n + 1
    reviewers = ", ".join(
        dict.fromkeys(_username(d.reviewer) for d in case.dispositions.select_related("reviewer"))
    )
    return case_create(
        pipeline=run.pipeline,
        name=unique,
        record=record_decrypt(run.input_encrypted),
        expected={"status": expect},
        actor=actor,
        description=f"Saved from the review of run {run.pk}: {case.status} by {reviewers}.",
        source_run=run,
    )


def can_decide(user) -> bool:
    return can(user, REVIEW_DECIDE)
