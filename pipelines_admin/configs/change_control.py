"""The four-eyes guard every write to what an environment runs or holds passes through.

On an environment with `change_requests_required`, nothing is applied without a
ChangeAuthority: an approved change request being applied, or a superuser's
break-glass. Only pipelines_admin.changes makes one, after its checks. The same holds
anywhere for an override of the release gate: nobody overrides the gate for their own
change, so an override always comes through a change request a second publisher
approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipelines_admin.configs.models import Environment
from pipelines_admin.core.errors import Conflict


@dataclass(frozen=True)
class ChangeAuthority:
    """Why a change may be applied: `request_id`'s approvals (by `approvers`), or a
    superuser's break-glass with a reason, recorded as such."""

    kind: Literal["change_request", "break_glass"]
    request_id: int
    approvers: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {"kind": self.kind, "change_request": self.request_id, "approvers": list(self.approvers)}


class ChangeRequestRequired(Conflict):
    """The change needs a change request (and its approvals) before it can apply."""


def require_change_authority(environment: Environment, authority: ChangeAuthority | None, what: str) -> None:
    if authority is None and environment.change_requests_required:
        count = environment.approvals_required
        raise ChangeRequestRequired(
            f"{environment.name} changes only through change requests: {what} needs "
            f"{count} approval{'s' if count != 1 else ''} from another publisher. Open a change request.",
            {
                "environment": environment.name,
                "change_requests_required": True,
                "approvals_required": count,
            },
        )


def require_gate_override_authority(
    environment: Environment, authority: ChangeAuthority | None, gate_override: bool
) -> None:
    if gate_override and authority is None:
        raise ChangeRequestRequired(
            "Overriding the release gate needs a second publisher: nobody overrides the gate for "
            f"their own change. Open a change request for {environment.name} asking for the "
            "override; another publisher approves it.",
            {"environment": environment.name, "gate_override": True},
        )
