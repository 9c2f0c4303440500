"""A stage's rules one after another in dependency order."""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING

from rules_engine.executor.attempts import _gate, _run_attempts, _settle_attempt
from rules_engine.executor.state import _Run
from rules_engine.executor.verdicts import (
    _READY,
    _apply_writes,
    _dependency_blocker,
    _dependency_skip,
    _raised,
    _stage_status,
    _stage_timed_out_skip,
    _stopped_skip,
)
from rules_engine.result import StageResult
from rules_engine.rule import FAIL, PASS, SKIP, Verdict

if TYPE_CHECKING:  # pragma: no cover
    from rules_engine.compiler import CompiledStage

#: outcomes of a proper Verdict that _settle_attempt would keep as they are, writes
#: included, when the rule finished within its own limit and the stage's deadline
#: (a tuple, as in _checked: an outcome need not be hashable to be refused)
_SETTLED = (PASS, FAIL, SKIP)


def _run_sequential_stage(run: _Run, stage: CompiledStage) -> StageResult:
    """The stage's rules one at a time in dependency order. The loop is the hot path of
    the engine: a rule that only computes, passes and writes nothing costs one call,
    one clock reading and two list stores. A rule that fails, skips itself or writes
    within its limits is recorded next to it (_SETTLED); everything else (errors,
    overruns, a return value that is no verdict) is settled by _settle_attempt. ``fail_fast`` and the stage timeout end the loop; the rest is skipped."""
    # in plan order, a rule's dependencies have their verdicts, and so has a rule that ran
    verdicts: list[Verdict] = run.verdicts  # type: ignore[assignment]
    durations = run.durations
    view = run.view
    ctx = run.ctx
    clock = perf_counter
    verdict_type = Verdict
    passed = PASS
    settled = _SETTLED
    started = clock()
    deadline = started + stage.timeout
    before = started
    failed_rule: str | None = None
    stop_message: str | None = None
    timed_out = False
    plan = stage.plan_network if run.network else stage.plan
    for index, rule_id, evaluate, dep, deps, limit, simple, rule in plan:
        if dep < 0 and deps:
            for dep in deps:
                if verdicts[dep][0] != passed:
                    break
            else:
                dep = -1
        if dep >= 0 and verdicts[dep][0] != passed:
            # a dependency did not pass: unless its result went to review, skip
            blocker = _dependency_blocker(run, rule)
            if blocker != _READY:
                _dependency_skip(run, rule, blocker)
                continue
        if simple:
            ctx.rule_id = rule_id
            try:
                verdict = evaluate(view, ctx)
            except Exception as error:  # noqa: BLE001
                verdict = _raised(error)
            now = clock()
            elapsed = now - before
            before = now
            if (
                type(verdict) is verdict_type
                and verdict[0] == passed
                and elapsed <= limit
                and now <= deadline
                and not ctx.writes
            ):
                verdicts[index] = verdict
                durations[index] = elapsed
                continue
            writes = ctx.writes
            if writes:
                ctx.writes = {}
            if (
                type(verdict) is not verdict_type
                or verdict[0] not in settled
                or elapsed > limit
                or now > deadline
            ):
                verdict, writes, timed_out = _settle_attempt(
                    run, rule, verdict, writes, elapsed, stage, now, deadline
                )
            if writes:
                _apply_writes(run, rule_id, writes)
            run.record(rule, verdict, elapsed, 1)
        elif clock() >= deadline:
            timed_out = True
            run.skip(rule, _stage_timed_out_skip(stage))
        else:
            timed_out = _gate(run, rule) and _run_attempts(run, rule, stage, deadline)
            before = clock()
        if verdicts[index][0] in rule.fails_on:
            if failed_rule is None:
                failed_rule = rule_id
            if stage.fail_fast:
                stop_message = _stopped_skip(rule_id)
        if timed_out:
            stop_message = _stage_timed_out_skip(stage)
        if stop_message is not None:
            for entry in plan[rule.plan_position + 1 :]:
                run.skip(entry[-1], stop_message)
            break
    return _stage_status(run, stage, failed_rule, timed_out, clock() - started)
