"""The result of running one record through a pipeline.

The executor stores what happened as compactly as it can (a verdict and a duration per
rule, in lists indexed like the pipeline's rules); :meth:`RunResult.to_dict` turns it
into the documented JSON shape only when asked.

Overall ``status``, the first that applies:

- ``failed``: some rule of ``error`` severity ended ``fail`` (a business "no");
- ``error``: some rule of ``error`` severity ended ``error`` or ``timeout``, or a
  stage timed out (the pipeline could not decide);
- ``undecided``: some enabled rule was skipped for a reason other than a ``when``
  condition, so one of its checks never ran. That covers a rule skipped because a
  dependency did not run or failed only as a warning, a rule that skipped itself
  (nothing it could check), a ``when`` that could not be evaluated, and stages not
  selected in a run of chosen stages. ``undecided`` lists each of them, naming the
  rule and the dependency. An undecided application is never an approval;
- ``review``: nothing failed or errored and every check ran, but some rule's result
  was routed to a person (``on_fail: review``, ``on_error: review``, or ``on_flag:
  review`` for a pass the rule flagged for manual review); the rule's entry has
  ``"review": true`` and ``decision.review`` names the rules and the approvals needed;
- ``passed``: every enabled rule passed, failed at ``warning`` severity, or was
  skipped by a ``when``: its own, its stage's, or one passed on from a dependency
  that a ``when`` skipped (the author made that branch conditional). Disabled rules
  and stages do not count; validation refuses an enabled rule that depends on a
  disabled one.

Rules of ``warning`` severity never make a run failed or error; their failures, and
conditions that could not be evaluated, are listed under ``warnings``.

``decision`` says the same in words people act on: the status, the reasons (rule,
reason code, customer message) and the next steps (see :mod:`rules_engine.decision`).

``partial`` is true for a run of chosen stages that left out an enabled stage: such a
run is never ``passed``.

With ``execution_settings.performance_monitoring`` (and not ``enabled: false``), a rule
that ran longer than ``slow_rule_threshold_ms`` has ``"slow": true`` and is listed under
``slow_rules``; with ``alert_on_timeout``, each rule that timed out is an entry of
``alerts``. ``config`` holds the config's own ``name`` and ``version`` labels, when given.

A stage is ``failed`` when one of its error-severity rules ended fail, error or timeout;
``skipped`` when disabled or its ``when`` is false; ``not_run`` when it was not selected
or an earlier stage failed under ``stop_on_stage_failure``; ``passed`` otherwise.
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import enum
import math
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from rules_engine.decision import render_message
from rules_engine.rule import ERROR, FAIL, SKIP, TIMEOUT, Verdict

if TYPE_CHECKING:  # pragma: no cover
    from rules_engine.compiler import Pipeline
    from rules_engine.types import RuleResultDict, RunResultDict

PASSED = "passed"
FAILED = "failed"
ERRORED = "error"
UNDECIDED = "undecided"
REVIEW = "review"
SKIPPED = "skipped"
NOT_RUN = "not_run"

#: outcomes that count against a rule (and its stage, when the severity is error)
FAILURE_OUTCOMES = frozenset({FAIL, ERROR, TIMEOUT})


class StageResult(NamedTuple):
    name: str
    status: str
    reason: str | None
    duration: float  # seconds
    first: int  # index of the stage's first rule in the pipeline
    end: int  # one past its last rule


class RuleResult(NamedTuple):
    """One rule's result, as :meth:`RunResult.rules` gives it."""

    id: str
    stage: str
    outcome: str
    message: str
    details: Mapping[str, Any]
    duration: float  # seconds
    attempts: int
    severity: str

    def to_dict(self) -> RuleResultDict:
        return {
            "id": self.id,
            "outcome": self.outcome,
            "message": self.message if isinstance(self.message, str) else str(self.message),
            "details": to_jsonable(self.details),
            "duration_ms": _ms(self.duration),
            "attempts": self.attempts,
            "severity": self.severity,
        }


class RunResult:
    """What one ``Pipeline.run`` did. Cheap to build; ``to_dict()`` does the formatting."""

    __slots__ = (
        "status",
        "stages",
        "data",
        "changes",
        "config_hash",
        "duration",
        "context",
        "partial",
        "routed",
        "_pipeline",
        "_verdicts",
        "_durations",
        "_attempts",
        "_notes",
        "_conditional",
    )

    def __init__(
        self,
        *,
        pipeline: Pipeline,
        status: str,
        stages: list[StageResult],
        verdicts: list[Verdict],
        durations: list[float],
        attempts: list[int],
        data: dict[str, Any],
        changes: list[tuple[str, Any, Any, str]],
        notes: list[dict[str, Any]],
        context: Mapping[str, Any],
        duration: float,
        conditional: frozenset[int] | set[int] = frozenset(),
        partial: bool = False,
        routed: tuple[int, ...] = (),
    ):
        self.status = status
        #: indexes of the rules whose result went to review (see rules_engine.decision)
        self.routed = routed
        #: a run of chosen stages that left out an enabled stage (never ``passed``)
        self.partial = partial
        self.stages = stages
        #: the record after all transformations
        self.data = data
        #: (field, before, after, rule id) for each change, in the order applied
        self.changes = changes
        self.config_hash = pipeline.config_hash
        self.context = context
        self.duration = duration
        self._pipeline = pipeline
        self._verdicts = verdicts
        self._durations = durations
        self._attempts = attempts
        self._notes = notes
        #: indexes of the rules skipped by a `when`, or passed on from such a skip
        self._conditional = conditional

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def outcome(self, rule_id: str) -> str:
        """The outcome of the rule ``rule_id`` (KeyError for an unknown id)."""
        return self._verdicts[self._pipeline.rule_index[rule_id]].outcome

    def rule(self, rule_id: str) -> RuleResult:
        return self._rule_result(self._pipeline.rule_index[rule_id])

    def rules(self) -> Iterator[RuleResult]:
        """Every rule's result, stage by stage, in document order."""
        for index in range(len(self._verdicts)):
            yield self._rule_result(index)

    def _rule_result(self, index: int) -> RuleResult:
        compiled = self._pipeline.rules[index]
        verdict = self._verdicts[index]
        return RuleResult(
            compiled.rule_id,
            compiled.stage_name,
            verdict.outcome,
            verdict.message,
            verdict.details,
            self._durations[index],
            self._attempts[index],
            compiled.severity,
        )

    def warnings(self) -> list[dict[str, Any]]:
        """Warning-severity rules that did not pass, then conditions that could not be evaluated."""
        found = []
        for index in self._pipeline.warning_rules:
            verdict = self._verdicts[index]
            if verdict.outcome in FAILURE_OUTCOMES:
                compiled = self._pipeline.rules[index]
                found.append(
                    {
                        "stage": compiled.stage_name,
                        "rule": compiled.rule_id,
                        "outcome": verdict.outcome,
                        "message": verdict.message,
                    }
                )
        return found + [dict(note) for note in self._notes]

    def undecided(self) -> list[dict[str, Any]]:
        """Why the run is ``undecided``: the checks that did not run, in pipeline order.
        A stage that did not run at all is one entry (``rule`` None) with its reason;
        otherwise one entry per rule, with ``dependency`` when a dependency caused the
        skip. Empty unless the status is ``undecided``."""
        if self.status != UNDECIDED:
            return []
        rules = self._pipeline.rules
        found: list[dict[str, Any]] = []
        for stage, compiled_stage in zip(self.stages, self._pipeline.stages, strict=True):
            if not compiled_stage.enabled:
                continue
            open_skips = [i for i in range(stage.first, stage.end) if self._open_skip(i)]
            if not open_skips:
                continue
            if stage.status in (NOT_RUN, SKIPPED):
                found.append(
                    {
                        "stage": stage.name,
                        "rule": None,
                        "message": f"Stage '{stage.name}' did not run: {stage.reason}.",
                    }
                )
                continue
            for index in open_skips:
                verdict = self._verdicts[index]
                entry: dict[str, Any] = {
                    "stage": stage.name,
                    "rule": rules[index].rule_id,
                    "message": verdict.message,
                }
                dependency = (
                    verdict.details.get("dependency") if isinstance(verdict.details, Mapping) else None
                )
                if dependency is not None:
                    entry["dependency"] = dependency
                    entry["dependency_outcome"] = verdict.details.get("dependency_outcome")
                found.append(entry)
        return found

    def _open_skip(self, index: int) -> bool:
        """Whether rule ``index`` is an enabled rule skipped other than by a `when`."""
        verdict = self._verdicts[index]
        return (
            verdict is not None
            and verdict.outcome == SKIP
            and index not in self._conditional
            and self._pipeline.rules[index].enabled
        )

    def decision(self) -> dict[str, Any]:
        """The decision in words people act on (see :mod:`rules_engine.decision`): the
        status, the reasons of the rules that decided it, their next steps, and for
        ``review`` the rules that sent it there and how many reviewers must approve."""
        status = self.status
        rules = self._pipeline.rules
        verdicts = self._verdicts
        deciding: Iterable[int]
        if status == FAILED:
            deciding = [i for i, v in enumerate(verdicts) if v[0] == FAIL and FAIL in rules[i].fails_on]
        elif status == ERRORED:
            deciding = [
                i for i, v in enumerate(verdicts) if (v[0] == ERROR or v[0] == TIMEOUT) and rules[i].counts
            ]
        elif status == UNDECIDED:
            deciding = [i for i in range(len(verdicts)) if self._open_skip(i)]
        elif status == REVIEW:
            deciding = self.routed
        else:
            deciding = ()
        reasons = []
        next_steps: dict[str, None] = {}
        for index in deciding:
            compiled = rules[index]
            text = compiled.text
            reasons.append(
                {
                    "stage": compiled.stage_name,
                    "rule": compiled.rule_id,
                    "outcome": verdicts[index][0],
                    "reason_code": text.reason_code,
                    "customer_message": render_message(text.customer_message, self.data),
                }
            )
            if text.next_step is not None:
                next_steps[text.next_step] = None
        review = None
        if status == REVIEW:
            review = {
                "rules": [rules[i].rule_id for i in self.routed],
                "approvals": max(rules[i].text.approvals for i in self.routed),
            }
        return {"status": status, "reasons": reasons, "next_steps": list(next_steps), "review": review}

    def slow_rules(self) -> list[dict[str, Any]]:
        """The rules that ran longer than the config's slow-rule threshold ([] without one)."""
        threshold = self._pipeline.monitoring.slow_rule_ms
        if threshold is None:
            return []
        limit = threshold / 1000.0
        rules = self._pipeline.rules
        return [
            {
                "stage": rules[i].stage_name,
                "rule": rules[i].rule_id,
                "duration_ms": _ms(duration),
                "threshold_ms": threshold,
            }
            for i, duration in enumerate(self._durations)
            if duration > limit
        ]

    def alerts(self) -> list[dict[str, Any]]:
        """With ``alert_on_timeout``: one alert per rule that timed out."""
        if not self._pipeline.monitoring.alert_on_timeout:
            return []
        rules = self._pipeline.rules
        return [
            {
                "kind": "timeout",
                "stage": rules[i].stage_name,
                "rule": rules[i].rule_id,
                "message": verdict.message,
            }
            for i, verdict in enumerate(self._verdicts)
            if verdict is not None and verdict.outcome == TIMEOUT
        ]

    def to_dict(self) -> RunResultDict:
        """The documented JSON shape (see :mod:`rules_engine.types`); every value is JSON-serialisable (no NaN either).

        Built in one pass over the rules: each rule's entry, its slow flag and its
        timeout alert as it goes; only verdict details that are not flat are walked."""
        pipeline = self._pipeline
        compiled_rules = pipeline.rules
        verdicts, durations, attempts = self._verdicts, self._durations, self._attempts
        threshold = pipeline.monitoring.slow_rule_ms
        limit = threshold / 1000.0 if threshold is not None else math.inf
        alert_on_timeout = pipeline.monitoring.alert_on_timeout
        routed = self.routed
        slow: list[dict[str, Any]] = []
        alerts: list[dict[str, Any]] = []
        stages = []
        for stage in self.stages:
            rules = []
            for index in range(stage.first, stage.end):
                compiled = compiled_rules[index]
                outcome, message, details = verdicts[index]
                duration = durations[index]
                rule: dict[str, Any] = {
                    "id": compiled.rule_id,
                    "outcome": outcome,
                    "message": message if isinstance(message, str) else str(message),
                    "details": to_jsonable(details),
                    "duration_ms": round(duration * 1000.0, 3),
                    "attempts": attempts[index],
                    "severity": compiled.severity,
                }
                if duration > limit:
                    rule["slow"] = True
                    slow.append(
                        {
                            "stage": compiled.stage_name,
                            "rule": compiled.rule_id,
                            "duration_ms": rule["duration_ms"],
                            "threshold_ms": threshold,
                        }
                    )
                if routed and index in routed:
                    rule["review"] = True
                if alert_on_timeout and outcome == TIMEOUT:
                    alerts.append(
                        {
                            "kind": "timeout",
                            "stage": compiled.stage_name,
                            "rule": compiled.rule_id,
                            "message": to_jsonable(message),
                        }
                    )
                rules.append(rule)
            stages.append(
                {
                    "name": stage.name,
                    "status": stage.status,
                    "reason": stage.reason,
                    "duration_ms": round(stage.duration * 1000.0, 3),
                    "rules": rules,
                }
            )
        result: dict[str, Any] = {"status": self.status, "decision": to_jsonable(self.decision())}
        if pipeline.label:
            result["config"] = dict(pipeline.label)
        result["partial"] = self.partial
        result["undecided"] = to_jsonable(self.undecided()) if self.status == UNDECIDED else []
        result["stages"] = stages
        result["data"] = to_jsonable(self.data)
        result["changes"] = [
            {"field": field, "before": to_jsonable(before), "after": to_jsonable(after), "rule": rule_id}
            for field, before, after, rule_id in self.changes
        ]
        result["warnings"] = to_jsonable(self.warnings()) if pipeline.warning_rules or self._notes else []
        result["slow_rules"] = slow
        result["alerts"] = alerts
        result["context"] = to_jsonable(self.context)
        result["config_hash"] = self.config_hash
        result["duration_ms"] = round(self.duration * 1000.0, 3)
        # built in the documented key order ("decision" second, then "config"), hence the cast
        return cast("RunResultDict", result)

    def __repr__(self) -> str:
        return f"<RunResult {self.status} {len(self.stages)} stages {self.duration * 1000:.2f} ms>"


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


_PLAIN = (str, int, bool, type(None))
_AS_IS = frozenset(_PLAIN)  # exactly these types (not enums or other subclasses) need no conversion


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: mappings become objects (keys as text), sequences
    and sets lists, dates ISO text, decimals text, bytes base64 text, non-finite floats
    the text "NaN"/"Infinity"/"-Infinity", anything else its ``str``. Any depth
    converts: the first levels directly, deeper ones walked without recursion. The
    result shares no container with ``value``."""
    return value if type(value) in _AS_IS else _convert(value, _DIRECT_LEVELS)


#: how many levels of nesting are converted by direct calls before the walk takes over
_DIRECT_LEVELS = 32


def _convert(value: Any, levels: int) -> Any:
    """``value`` (not of an ``_AS_IS`` type) converted: plain dicts, lists, tuples and
    finite floats directly, while ``levels`` last; anything else by :func:`_walk`."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else _jsonable_leaf(value)
    if levels:
        levels -= 1
        if kind is dict or kind is MappingProxyType:
            return {
                (k if type(k) is str else str(k)): (v if type(v) in _AS_IS else _convert(v, levels))
                for k, v in value.items()
            }
        if kind is list or kind is tuple:
            return [v if type(v) in _AS_IS else _convert(v, levels) for v in value]
    return _walk(value)


def _walk(value: Any) -> Any:
    """``value`` converted by walking it with a stack instead of recursion."""
    stack: list[tuple[Any, Any]] = []
    root = _jsonable_shell(value, stack)
    while stack:
        source, target = stack.pop()
        if type(target) is dict:
            for k, v in source.items():
                target[k if type(k) is str else str(k)] = (
                    v if type(v) in _AS_IS else _jsonable_shell(v, stack)
                )
        else:
            append = target.append
            for v in source:
                append(v if type(v) in _AS_IS else _jsonable_shell(v, stack))
    return root


def _jsonable_shell(value: Any, stack: list[tuple[Any, Any]]) -> Any:
    """An empty object or list to fill from ``value`` (queued on ``stack``), or the value
    converted."""
    if isinstance(value, Mapping):
        stack.append((value, {}))
        return stack[-1][1]
    if isinstance(value, (list, tuple)) and not isinstance(value, _PLAIN):
        stack.append((value, []))
        return stack[-1][1]
    return _jsonable_leaf(value)


def _jsonable_leaf(value: Any) -> Any:
    if isinstance(value, _PLAIN):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, (set, frozenset)):
        items = [to_jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    return str(value)
