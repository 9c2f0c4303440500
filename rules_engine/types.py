"""The shapes of what the engine hands out as plain data, for type checkers and readers:
``RunResult.to_dict()`` returns a :class:`RunResultDict`."""

# No `from __future__ import annotations`: TypedDict reads NotRequired from evaluated annotations.
from typing import Any, NotRequired, TypedDict


class RuleResultDict(TypedDict):
    id: str
    outcome: str  # one of rules_engine.OUTCOMES
    message: str
    details: dict[str, Any]
    duration_ms: float
    attempts: int
    severity: str  # "error" or "warning"
    slow: NotRequired[bool]  # present (true) when the rule ran past the slow-rule threshold
    review: NotRequired[bool]  # present (true) when its result was routed to review


class StageResultDict(TypedDict):
    name: str
    status: str  # passed, failed, skipped, not_run
    reason: str | None
    duration_ms: float
    rules: list[RuleResultDict]


class UndecidedDict(TypedDict):
    stage: str
    rule: str | None  # None: the whole stage did not run
    message: str
    dependency: NotRequired[str]
    dependency_outcome: NotRequired[str | None]


class ChangeDict(TypedDict):
    field: str
    before: Any
    after: Any
    rule: str


class WarningDict(TypedDict, total=False):
    stage: str
    rule: str | None
    outcome: str
    message: str


class SlowRuleDict(TypedDict):
    stage: str
    rule: str
    duration_ms: float
    threshold_ms: float


class AlertDict(TypedDict):
    kind: str  # "timeout"
    stage: str
    rule: str
    message: str


class ConfigLabelDict(TypedDict, total=False):
    name: str
    version: str


class ReasonDict(TypedDict):
    stage: str
    rule: str
    outcome: str
    reason_code: str  # the rule's (or its stage's) reason_code; default the rule id
    customer_message: str | None  # what may be told to the applicant; None when not declared


class ReviewDict(TypedDict):
    rules: list[str]  # the rules whose result went to review
    approvals: int  # how many different reviewers must approve


class DecisionDict(TypedDict):
    status: str  # the run's status
    reasons: list[ReasonDict]
    next_steps: list[str]  # in rule order, each once
    review: ReviewDict | None  # None unless the status is review


class RunResultDict(TypedDict):
    status: str  # passed, failed, review, error, undecided
    decision: DecisionDict
    config: NotRequired[ConfigLabelDict]  # the config's own name and version, when it gives them
    partial: bool
    undecided: list[UndecidedDict]
    stages: list[StageResultDict]
    data: dict[str, Any]
    changes: list[ChangeDict]
    warnings: list[WarningDict]
    slow_rules: list[SlowRuleDict]
    alerts: list[AlertDict]
    context: dict[str, Any]
    config_hash: str
    duration_ms: float
