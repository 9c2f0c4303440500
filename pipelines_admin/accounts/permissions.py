"""Who may do what, checked by the services so every interface enforces the same rules.

| action               | viewer | editor            | publisher | reviewer | superuser |
|----------------------|--------|-------------------|-----------|----------|-----------|
| read                 | yes    | yes               | yes       | yes      | yes       |
| create a version     | no     | yes               | yes       | no       | yes       |
| write test cases     | no     | yes               | yes       | no       | yes       |
| submit runs, batches | no     | yes               | yes       | no       | yes       |
| run suites, analyses | no     | yes               | yes       | no       | yes       |
| change environment   | no     | unprotected only  | yes       | no       | yes       |
| add an environment   | no     | no                | yes       | no       | yes       |
| decide reviews       | no     | no                | no        | yes      | yes       |
| approve changes      | no     | no                | yes       | no       | yes       |
| break glass          | no     | no                | no        | no       | yes       |
(changing an environment: releasing, rolling back, overrides, toggles, its description
and order, its service bindings; adding one, and protecting or unprotecting one, is
checked as changing a protected environment; test cases use VERSION_CREATE, suite runs
and impact analyses RUN_SUBMIT; overriding the release gate takes no more than changing
the environment, so publishers only in protected ones; deciding reviews (claiming a
case, revealing a field, approving or declining) is the reviewer's alone: a viewer,
editor or publisher decides only when also given the reviewer role; approving or
rejecting a change request is a publisher's, never for the request's author nor the
author of a version it releases (changes.services checks that); applying a change
without approvals (break glass) is a superuser's alone, with a reason; roles add up)
"""

from __future__ import annotations

from pipelines_admin.accounts.roles import EDITOR, PUBLISHER, REVIEWER, VIEWER
from pipelines_admin.core.errors import NotAllowed

READ = "read"
VERSION_CREATE = "version.create"
ENVIRONMENT_CHANGE = "environment.change"
RUN_SUBMIT = "run.submit"
REVIEW_DECIDE = "review.decide"
CHANGE_APPROVE = "change.approve"
BREAK_GLASS = "change.break_glass"


def roles_of(user) -> set[str]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    cached = getattr(user, "_console_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._console_roles = cached
    return cached


def can(user, action: str, environment=None) -> bool:
    if getattr(user, "is_authenticated", False) and user.is_active and user.is_superuser:
        return True
    roles = roles_of(user)
    if action == READ:
        return bool(roles & {VIEWER, EDITOR, PUBLISHER, REVIEWER})
    if action == REVIEW_DECIDE:
        return REVIEWER in roles
    if action == CHANGE_APPROVE:
        return PUBLISHER in roles
    if action == BREAK_GLASS:
        return False  # superusers only (above)
    if action in (VERSION_CREATE, RUN_SUBMIT):
        return bool(roles & {EDITOR, PUBLISHER})
    if action == ENVIRONMENT_CHANGE:
        if environment is not None and environment.protected:
            return PUBLISHER in roles
        return bool(roles & {EDITOR, PUBLISHER})
    raise ValueError(f"unknown action {action!r}")


def role_needed(action: str, environment=None) -> str:
    """The least role that may do `action`: what to ask an administrator for."""
    if action == READ:
        return VIEWER
    if action == ENVIRONMENT_CHANGE and environment is not None and environment.protected:
        return PUBLISHER
    if action == REVIEW_DECIDE:
        return REVIEWER
    if action == CHANGE_APPROVE:
        return PUBLISHER
    if action == BREAK_GLASS:
        return "superuser"
    if action in (VERSION_CREATE, RUN_SUBMIT, ENVIRONMENT_CHANGE):
        return EDITOR
    raise ValueError(f"unknown action {action!r}")


def require(user, action: str, environment=None) -> None:
    if can(user, action, environment):
        return
    if action == ENVIRONMENT_CHANGE and environment is not None and environment.protected:
        raise NotAllowed(
            f"Only publishers may change the protected environment {environment.name}.",
            {"action": action, "environment": environment.name},
        )
    wording = {
        READ: "read pipelines",
        VERSION_CREATE: "create config versions",
        ENVIRONMENT_CHANGE: "change environments",
        RUN_SUBMIT: "submit runs",
        REVIEW_DECIDE: "decide reviews",
        CHANGE_APPROVE: "approve or reject change requests",
        BREAK_GLASS: "apply a change without its approvals (break glass): only superusers may",
    }[action]
    raise NotAllowed(f"Your role does not allow you to {wording}.", {"action": action})
