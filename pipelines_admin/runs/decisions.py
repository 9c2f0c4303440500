"""A run's decision, as the engine records it in its result: the status, the reasons
(each a rule with its reason code and customer message) and the next steps.

The engine writes `result["decision"]`:

    {"status": "review",
     "reasons": [{"stage", "rule", "outcome", "reason_code", "customer_message"}],
     "next_steps": ["..."],
     "review": {"rules": ["pep_screening"], "approvals": 2} or null}

Results stored before decisions were recorded have no `decision`: nothing is derived
for them, `decision_of` answers None and pages say no decision was recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: how each decision is named where people read it (pills keep the status itself)
STATUS_LABELS = {
    "passed": "Passed",
    "failed": "Failed",
    "review": "To review",
    "undecided": "Undecided",
    "error": "Error",
}

#: what the reasons of each decision are
REASONS_TITLES = {
    "failed": "Why it failed",
    "review": "Why it goes to a person",
    "undecided": "The checks that did not run",
    "error": "The checks that errored",
}


@dataclass(frozen=True)
class Reason:
    stage: str
    rule: str
    outcome: str
    reason_code: str
    customer_message: str | None


@dataclass(frozen=True)
class ReviewRouting:
    rules: tuple[str, ...]
    approvals: int


@dataclass(frozen=True)
class Decision:
    status: str
    reasons: tuple[Reason, ...]
    next_steps: tuple[str, ...]
    review: ReviewRouting | None

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def reasons_title(self) -> str:
        return REASONS_TITLES.get(self.status, "Reasons")

    @property
    def reason_codes(self) -> list[str]:
        return [reason.reason_code for reason in self.reasons]

    @property
    def customer_messages(self) -> list[str]:
        """The reasons' customer messages, in order, each once (reasons without one left out)."""
        return list(dict.fromkeys(r.customer_message for r in self.reasons if r.customer_message))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def decision_of(result: Mapping[str, Any] | None) -> Decision | None:
    """The decision a result records, or None when it records none (a run that has not
    finished, ended before the rules ran, or was stored before decisions were recorded)."""
    if not isinstance(result, Mapping):
        return None
    block = result.get("decision")
    if not isinstance(block, Mapping):
        return None
    reasons = tuple(
        Reason(
            stage=str(entry.get("stage") or ""),
            rule=str(entry.get("rule") or ""),
            outcome=str(entry.get("outcome") or ""),
            reason_code=str(entry.get("reason_code") or entry.get("rule") or ""),
            customer_message=_text(entry.get("customer_message")),
        )
        for entry in block.get("reasons") or []
        if isinstance(entry, Mapping)
    )
    review = block.get("review")
    routing = (
        ReviewRouting(
            rules=tuple(str(rule) for rule in review.get("rules") or []),
            approvals=int(review.get("approvals") or 1),
        )
        if isinstance(review, Mapping)
        else None
    )
    return Decision(
        status=str(block.get("status") or result.get("status") or ""),
        reasons=reasons,
        next_steps=tuple(step for step in block.get("next_steps") or [] if _text(step)),
        review=routing,
    )


def decision_json(result: Mapping[str, Any] | None) -> dict | None:
    """The decision block as the result holds it (for JSON exports), or None."""
    if not isinstance(result, Mapping) or not isinstance(result.get("decision"), Mapping):
        return None
    return dict(result["decision"])
