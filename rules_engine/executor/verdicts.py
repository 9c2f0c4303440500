"""Verdicts the executor makes itself (errors, timeouts, skips), what dependencies say,
how a rule's writes reach the working copy, and a finished stage's status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from rules_engine.conditions import Condition, ConditionError
from rules_engine.executor.state import CONDITIONAL, DISABLED, _Run
from rules_engine.result import FAILED, PASSED, StageResult
from rules_engine.rule import ERROR, OUTCOMES, PASS, SKIP, TIMEOUT, Verdict

if TYPE_CHECKING:  # pragma: no cover
    from rules_engine.compiler import CompiledRule, CompiledStage


def _condition_blocks(
    run: _Run, condition: Condition, stage_name: str, rule_id: str | None
) -> tuple[str, bool] | None:
    """None when ``condition`` holds; otherwise (why the stage or rule is skipped,
    whether the condition was evaluated). A condition that could not be evaluated is
    no decision of the author's: what it guards did not run, and the application
    cannot pass."""
    try:
        if condition.evaluate(run.data, run.context):
            return None
        return f"condition not met: {condition.source}", True
    except ConditionError as error:
        reason = f"condition could not be evaluated: {error}"
        note = {"stage": stage_name, "outcome": SKIP, "message": reason}
        if rule_id is not None:
            note["rule"] = rule_id
        run.notes.append(note)
        return reason, False


def _stage_status(
    run: _Run, stage: CompiledStage, failed_rule: str | None, timed_out: bool, duration: float
) -> StageResult:
    """A stage that ran: failed when an error-severity rule failed, errored or timed out,
    or when the stage itself timed out (which also makes the run's status at least
    ``error``: its checks did not all happen)."""
    if timed_out:
        run.any_errored = True
        return StageResult(
            stage.name, FAILED, f"timed out after {stage.timeout:g} s", duration, stage.first, stage.end
        )
    if failed_rule is None:
        return StageResult(stage.name, PASSED, None, duration, stage.first, stage.end)
    return StageResult(stage.name, FAILED, f"{failed_rule} failed", duration, stage.first, stage.end)


def _raised(error: BaseException) -> Verdict:
    """The verdict of a rule that raised: error, with the exception's type and message."""
    text = str(error)
    name = type(error).__name__
    return Verdict(ERROR, f"{name}: {text}" if text else name, {"exception": name})


def _checked(verdict: Any) -> Verdict:
    """``verdict`` if it is a proper Verdict; a plain (outcome, message[, details]) tuple
    is accepted; anything else is an error verdict."""
    if type(verdict) is Verdict and verdict[0] in OUTCOMES:
        return verdict
    if (
        isinstance(verdict, tuple)
        and 2 <= len(verdict) <= 3
        and verdict[0] in OUTCOMES
        and isinstance(verdict[1], str)
        and (len(verdict) == 2 or isinstance(verdict[2], Mapping))
    ):
        return Verdict(*verdict)
    shown = repr(verdict)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return Verdict(ERROR, f"The rule returned {shown} instead of a verdict.", {"exception": "InvalidVerdict"})


def _rule_timeout_verdict(elapsed: float, limit: float, abandoned: bool = True) -> Verdict:
    if abandoned:  # a pool call we stopped waiting for
        message = (
            f"No result within the rule's time limit of {limit:g} s; the rule was abandoned "
            f"and anything it returns later is ignored."
        )
    else:  # an inline rule that came back too late
        message = f"The rule took longer than its time limit of {limit:g} s; its result was discarded."
    return Verdict(TIMEOUT, message, {"timeout_seconds": limit, "elapsed_seconds": round(elapsed, 3)})


def _stage_timeout_verdict(stage: CompiledStage) -> Verdict:
    return Verdict(
        TIMEOUT,
        f"Stage {stage.name} timed out after {stage.timeout:g} s while this rule was running.",
        {"stage_timeout_seconds": stage.timeout},
    )


def _stage_timed_out_skip(stage: CompiledStage) -> str:
    return f"Not run: stage {stage.name} timed out after {stage.timeout:g} s."


def _stopped_skip(failed_rule: str) -> str:
    return f"Not run: stage stopped after {failed_rule} failed (fail_fast)."


_READY = -1
_WAIT = -2
_DISABLED_SKIP = "Skipped: the rule is disabled."


def _dependency_blocker(run: _Run, rule: CompiledRule) -> int:
    """What the dependencies of ``rule`` say: _READY (each passed, or its result went
    to review: the rules after it still run, so the reviewer sees every check), _WAIT (some not
    finished, and nothing yet rules the rule out), or the index of the dependency to
    skip it for. A dependency that did not pass other than by a `when` is named first:
    the skip it causes is open. Only when every dependency that did not pass was
    skipped by a `when` is the skip passed on as conditional."""
    verdicts = run.verdicts
    conditional = run.conditional
    rules = run.pipeline.rules
    waiting = False
    first_conditional = _READY
    for dep in rule.deps:
        verdict = verdicts[dep]
        if verdict is None:
            waiting = True
        elif verdict[0] != PASS and verdict[0] not in rules[dep].review_on:
            if dep not in conditional:
                return dep
            if first_conditional == _READY:
                first_conditional = dep
    if waiting:
        return _WAIT
    return first_conditional


def _dependency_skip(run: _Run, rule: CompiledRule, dep: int | None = None) -> None:
    """Skip ``rule`` for its dependency ``dep`` (default: the one _dependency_blocker
    names; every dependency must have finished). Conditional when ``dep`` was skipped
    by a `when`: the author made that branch conditional; open otherwise. A disabled
    rule is skipped as disabled, whatever its dependencies did."""
    if not rule.enabled:
        run.skip(rule, _DISABLED_SKIP, why=DISABLED)
        return
    if dep is None:
        dep = _dependency_blocker(run, rule)
    dep_id = run.pipeline.rule_ids[dep]
    outcome = cast(Verdict, run.verdicts[dep])[0]  # every dependency has finished
    if dep in run.conditional:
        run.skip(
            rule,
            f"Skipped because {dep_id} was skipped by a condition.",
            {"dependency": dep_id, "dependency_outcome": outcome},
            CONDITIONAL,
        )
    else:
        run.skip(
            rule,
            f"Skipped because {dep_id} did not pass ({outcome}).",
            {"dependency": dep_id, "dependency_outcome": outcome},
        )


def _apply_writes(run: _Run, rule_id: str, writes: Mapping[str, Any]) -> None:
    """A finished rule's ``ctx.set`` calls, applied to the working copy; every field whose
    value changed is recorded in ``changes``."""
    data = run.data
    missing = _MISSING
    for field, after in writes.items():
        before = data.get(field, missing)
        data[field] = after
        if before is missing:
            run.changes.append((field, None, after, rule_id))
            continue
        try:
            changed = type(before) is not type(after) or bool(before != after)
        except Exception:  # noqa: BLE001 - values that cannot say whether they are equal
            changed = True
        if changed:
            run.changes.append((field, before, after, rule_id))


_MISSING = object()
_CANCELLED = Verdict(
    ERROR, "The rule was cancelled because the pipeline was closed.", {"exception": "CancelledError"}
)
