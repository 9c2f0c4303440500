"""Reads for change requests: each request's standing (which approvals still stand and
why the others do not), the "waiting for you" list and the upcoming scheduled changes."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import F, QuerySet

from pipelines_admin.accounts.permissions import CHANGE_APPROVE, can
from pipelines_admin.changes.models import ChangeApproval, ChangeRequest
from pipelines_admin.changes.plans import Plan, fingerprint_for, plan_change
from pipelines_admin.configs.models import Environment
from pipelines_admin.core.errors import NotFound, ServiceError
from pipelines_admin.impact.models import ImpactReport
from pipelines_admin.testcases.gate import GateState, gate_state


@dataclass
class ApprovalStanding:
    approval: ChangeApproval
    stands: bool
    why_not: str = ""


@dataclass
class Standing:
    """Where a request stands now: what it would do, its approvals, and whether it may
    be applied (`ready`) or why not (`blockers`)."""

    request: ChangeRequest
    plan: Plan | None
    plan_error: str
    approvals: list[ApprovalStanding]
    required: int
    gate: GateState | None
    blockers: list[str] = field(default_factory=list)

    @property
    def standing_approvals(self) -> list[ChangeApproval]:
        return [a.approval for a in self.approvals if a.stands and a.approval.decision == "approve"]

    @property
    def approved(self) -> bool:
        return len(self.standing_approvals) >= self.required

    @property
    def ready(self) -> bool:
        return self.request.is_open and not self.blockers

    @property
    def state(self) -> str:
        """open, approved (ready to apply), applied, rejected or withdrawn."""
        if self.request.is_open and self.approved:
            return "approved"
        return self.request.status

    @property
    def approvals_missing(self) -> int:
        return max(0, self.required - len(self.standing_approvals))


def approval_void_reason(
    approval: ChangeApproval, request: ChangeRequest, plan: Plan | None, fingerprint: str
) -> str:
    """Why `approval` no longer stands ('' when it does)."""
    if approval.voided_at is not None:
        return approval.voided_reason or "Voided."
    if approval.request_revision != request.revision:
        return (
            f"Given to revision {approval.request_revision}; the request is at revision {request.revision}."
        )
    if plan is None:
        return "The change can no longer be made as approved."
    if approval.effective_hash != plan.effective_hash:
        return (
            f"What the change produces is no longer what was approved "
            f"({approval.effective_hash.removeprefix('sha256:')[:12]} then, {plan.short_hash} now): "
            f"{request.environment.name} or the request changed since."
        )
    if approval.cases_fingerprint != fingerprint:
        return "The pipeline's test cases changed since the approval."
    return ""


def request_standing(
    request: ChangeRequest, *, brief: bool = False, fingerprints: dict | None = None
) -> Standing:
    """Where `request` stands now. `brief` (for lists): no diff and no release gate, and
    `fingerprints` caches the test cases' fingerprint per pipeline across requests."""
    plan: Plan | None = None
    plan_error = ""
    try:
        plan = plan_change(
            kind=request.kind,
            pipeline=request.pipeline,
            environment=request.environment,
            payload=request.payload,
            diff=not brief,
        )
    except ServiceError as exc:
        plan_error = exc.message
    if fingerprints is not None and request.pipeline_id in fingerprints:
        fingerprint = fingerprints[request.pipeline_id]
    else:
        fingerprint = fingerprint_for(request.pipeline)
        if fingerprints is not None:
            fingerprints[request.pipeline_id] = fingerprint
    approvals = []
    for approval in request.approvals.all():
        why = approval_void_reason(approval, request, plan, fingerprint)
        approvals.append(ApprovalStanding(approval, not why, why))
    gate = (
        gate_state(request.pipeline, request.environment, plan.effective_hash)
        if plan is not None and request.pipeline is not None and not brief
        else None
    )
    required = request.environment.approvals_required
    standing = Standing(request, plan, plan_error, approvals, required, gate)
    if not request.is_open:
        standing.blockers.append(f"The request is {request.get_status_display()}.")
        return standing
    if plan is None:
        standing.blockers.append(f"It can no longer be applied: {plan_error}")
    if plan is not None and plan.effective_hash != request.effective_hash:
        standing.blockers.append(
            f"What it produces changed since it was opened ({request.effective_hash.removeprefix('sha256:')[:12]} "
            f"then, {plan.short_hash} now): revise it to see the change again."
        )
    if standing.approvals_missing:
        count = standing.approvals_missing
        voided = [a.why_not for a in standing.approvals if not a.stands and a.approval.decision == "approve"]
        why = f" (voided: {' '.join(dict.fromkeys(voided))})" if voided else ""
        standing.blockers.append(f"It needs {count} more approval{'s' if count != 1 else ''}{why}.")
    if gate is not None and gate.required and not gate.open and not request.gate_override:
        standing.blockers.append(f"The release gate is closed: {gate.message}")
    return standing


def change_requests(
    *, environment: Environment | None = None, status: str = "", pipeline=None
) -> QuerySet[ChangeRequest]:
    qs = ChangeRequest.objects.select_related(
        "pipeline", "environment", "author", "applied_by", "scheduled_by"
    )
    if environment is not None:
        qs = qs.filter(environment=environment)
    if pipeline is not None:
        qs = qs.filter(pipeline=pipeline)
    if status:
        qs = qs.filter(status=status)
    return qs


def change_request_get(pk: int) -> ChangeRequest:
    try:
        return change_requests().get(pk=pk)
    except (ChangeRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"There is no change request #{pk}.", {"change_request": pk}) from None


def may_approve(user, request: ChangeRequest, plan: Plan | None = None) -> tuple[bool, str]:
    """Whether `user` may approve or reject `request`, and if not, why."""
    if not can(user, CHANGE_APPROVE):
        return False, "Only publishers approve change requests."
    if request.author_id == user.pk:
        return False, "Nobody approves their own change request."
    versions = plan.releases_versions if plan else []
    if any(v.author_id == user.pk for v in versions):
        return False, "You wrote a version this request releases: another publisher approves it."
    return True, ""


def waiting_for(user) -> dict[str, list[ChangeRequest]]:
    """Open requests `user` may approve and has not decided yet, and the user's own
    open requests that need them (approved and waiting to be applied, or refused)."""
    open_requests = change_requests(status=ChangeRequest.Status.OPEN).prefetch_related("approvals__approver")
    fingerprints: dict = {}
    to_approve: list[ChangeRequest] = []
    if can(user, CHANGE_APPROVE):
        decided = ChangeApproval.objects.filter(
            approver=user, voided_at__isnull=True, request_revision=F("change_request__revision")
        )
        candidates = open_requests.exclude(author=user).exclude(pk__in=decided.values("change_request"))
        for request in candidates[:200]:
            standing = request_standing(request, brief=True, fingerprints=fingerprints)
            allowed, _ = may_approve(user, request, standing.plan)
            if (
                allowed
                and not standing.approved
                and not any(a.approval.approver_id == user.pk and a.stands for a in standing.approvals)
            ):
                to_approve.append(request)
    mine = [
        r
        for r in open_requests.filter(author=user)
        if r.refused_at is not None or request_standing(r, brief=True, fingerprints=fingerprints).approved
    ]
    return {"to_approve": to_approve, "mine": mine}


def upcoming_changes(environment: Environment | None = None) -> QuerySet[ChangeRequest]:
    qs = change_requests(environment=environment, status=ChangeRequest.Status.OPEN).filter(
        scheduled_for__isnull=False
    )
    return qs.order_by("scheduled_for", "id")


def impact_for(request: ChangeRequest) -> ImpactReport | None:
    """The newest impact analysis of exactly what the request would release."""
    if request.pipeline is None:
        return None
    return (
        ImpactReport.objects.filter(pipeline=request.pipeline, candidate_hash=request.effective_hash)
        .order_by("-created_at", "-id")
        .first()
    )


def open_requests_count(user) -> int:
    """For the navigation's badge."""
    waiting = waiting_for(user)
    return len(waiting["to_approve"]) + len(waiting["mine"])
