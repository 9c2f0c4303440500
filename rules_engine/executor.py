"""Running one record through a compiled pipeline: stages, rules, timeouts, retries.

Where things happen:

- :func:`run_pipeline`: stages in document order; stage ``enabled`` / ``when`` /
  selection; ``stop_on_stage_failure``; the overall status.
- :func:`_run_sequential_stage`: a stage's rules one after another in dependency order,
  ``fail_fast``, and the fast path for rules that only compute.
- :class:`_ParallelStage`: ``parallel_execution``: every rule whose dependencies are
  met runs at once, up to ``max_parallel_rules``; blocking rules on the pipeline's pool.
- :func:`_run_attempts` / :func:`_settle_attempt`: one rule with its retries, backoff
  and the **rule timeout**: a blocking rule's call is abandoned at its deadline
  (:func:`_wait_for_pool_attempt`); an inline rule that overran its limit has its
  verdict and writes thrown away (:func:`_settle_attempt`).
- The **stage timeout** bounds everything a stage does: see ``deadline`` in the stage
  runners and :func:`_stage_timeout_verdict`.
- :func:`_apply_writes`: a rule's ``ctx.set`` calls reach the working copy here, in the
  coordinating thread, and each change is recorded.

Every piece of per-run state lives in a :class:`_Run`; nothing survives a run.

Rules that only compute (not ``blocking``) run inline in the calling thread even in a
parallel stage: handing them to a thread would cost more than the rule. Only blocking
rules (the ones with services) go to the pool, in sequential stages too, so that their
timeout can be enforced. Timeouts of inline rules are enforced after the fact: the
rule is measured and, if it overran, its result and writes are discarded.

Decisions worth knowing:

- A rule runs only if every dependency (same stage or earlier) passed; otherwise it is
  ``skip`` with a message naming the dependency and its outcome. That holds for
  warning-severity dependencies too: a warning does not fail the stage, but what
  depends on the rule still did not get what it needed.
- Every skip is one of three kinds (:meth:`_Run.skip`): *conditional* (a `when` of the
  rule or its stage was false, or every dependency that did not pass was itself
  skipped that way: the author made the branch conditional), *disabled* (the rule or
  its stage is switched off), or *open*: a check that did not run for any other
  reason (a dependency failed, errored or was skipped openly, the rule skipped itself,
  a `when` could not be evaluated, the stage was not selected, stopped or timed out).
  One open skip of an enabled rule makes a run that neither failed nor errored
  ``undecided``, never ``passed``. In a parallel stage a rule whose only problem so
  far is a conditional dependency waits for its other dependencies before it is
  skipped, so the kind does not depend on timing.
- A ``when`` that cannot be evaluated skips its stage or rule, with the reason, and is
  listed in the run's ``warnings``.
- Writes are applied for pass, fail and skip; an error or timeout attempt, or one that
  is retried, leaves no trace.
- Retries in a parallel stage wait their backoff without holding a pool slot; inline
  rules wait in the coordinating thread. A retry whose backoff would pass the stage
  deadline is not made: the last attempt's verdict stands.
- A stage whose deadline passes is ``failed`` (reason "timed out after N s") whatever
  the severity of the rule that was running, and the run is at least ``error``: some
  of its checks never happened.
- Rules of a stage that does not run (not selected, disabled, ``when`` false, stopped)
  are ``skip``, so rules of later stages depending on them are skipped as well.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, wait
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from math import inf
from time import perf_counter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from rules_engine.result import (
    ERRORED,
    FAILED,
    FAILURE_OUTCOMES,
    NOT_RUN,
    PASSED,
    SKIPPED,
    UNDECIDED,
    RunResult,
    StageResult,
)
from rules_engine.rule import ERROR, FAIL, OUTCOMES, PASS, SKIP, TIMEOUT, RuleContext, Verdict

if TYPE_CHECKING:  # pragma: no cover
    from rules_engine.compiler import CompiledRule, CompiledStage, Pipeline

from rules_engine.conditions import ConditionError

_NO_DETAILS: Mapping[str, Any] = MappingProxyType({})
_ATOMIC = (str, int, float, bool, type(None))
_ATOMIC_TYPES = frozenset(_ATOMIC)

# Why a rule was skipped (see _Run.skip).
OPEN = 0
CONDITIONAL = 1
DISABLED = 2


# ------------------------------------------------------------------ per-run state


class ResultsView(Mapping):
    """``ctx.results``: the verdicts of the rules finished so far, by rule id, in
    pipeline order. A live view for inline rules; a snapshot for pool rules."""

    __slots__ = ("_verdicts", "_ids", "_index")

    def __init__(self, verdicts: list, ids: tuple[str, ...], index: Mapping[str, int]):
        self._verdicts = verdicts
        self._ids = ids
        self._index = index

    def __getitem__(self, rule_id: str) -> Verdict:
        index = self._index.get(rule_id)
        verdict = self._verdicts[index] if index is not None else None
        if verdict is None:
            raise KeyError(rule_id)
        return verdict

    def get(self, rule_id: str, default: Any = None) -> Any:
        index = self._index.get(rule_id)
        verdict = self._verdicts[index] if index is not None else None
        return default if verdict is None else verdict

    def __contains__(self, rule_id: object) -> bool:
        return self.get(rule_id) is not None

    def __iter__(self) -> Iterator[str]:
        verdicts = self._verdicts
        return (rule_id for i, rule_id in enumerate(self._ids) if verdicts[i] is not None)

    def __len__(self) -> int:
        return sum(1 for verdict in self._verdicts if verdict is not None)


class _Run:
    """Everything one run owns."""

    __slots__ = (
        "pipeline",
        "data",
        "view",
        "context",
        "context_view",
        "verdicts",
        "durations",
        "attempts",
        "changes",
        "notes",
        "results",
        "ctx",
        "any_failed",
        "any_errored",
        "open_skips",
        "conditional",
    )

    def __init__(self, pipeline: Pipeline, record: Mapping[str, Any], context: Mapping[str, Any] | None):
        self.pipeline = pipeline
        self.data = _working_copy(record)
        self.view = MappingProxyType(self.data)
        run_context = {"now": datetime.now(UTC).isoformat()}
        if context:
            run_context.update(context)
        self.context = run_context
        self.context_view = MappingProxyType(run_context)
        count = len(pipeline.rules)
        self.verdicts: list[Verdict | None] = [None] * count
        self.durations = [0.0] * count
        # 1 unless the rule was retried or never ran (0)
        self.attempts = [1] * count
        self.changes: list[tuple] = []
        self.notes: list[dict] = []
        self.results = ResultsView(self.verdicts, pipeline.rule_ids, pipeline.rule_index)
        # one context for every inline attempt of this run; its writes are taken
        # (and the dict replaced) after each attempt
        self.ctx = RuleContext("", self.context_view, self.results)
        self.any_failed = False
        self.any_errored = False
        #: how many enabled rules were skipped for a reason other than a `when`: each one
        #: is a check that did not run, so the application cannot be ``passed``
        self.open_skips = 0
        #: indexes of the rules skipped by a `when` (their own or their stage's), or
        #: passed on from such a skip: the branches the author made conditional
        self.conditional: set[int] = set()

    def fresh_context(self, rule_id: str, snapshot: bool) -> RuleContext:
        results = self.results
        if snapshot:
            results = ResultsView(list(self.verdicts), self.pipeline.rule_ids, self.pipeline.rule_index)
        return RuleContext(rule_id, self.context_view, results)

    def record(self, rule: CompiledRule, verdict: Verdict, duration: float, attempts: int) -> None:
        """The final verdict of ``rule``, with the failure bookkeeping."""
        index = rule.index
        self.verdicts[index] = verdict
        self.durations[index] = duration
        self.attempts[index] = attempts
        outcome = verdict[0]
        if outcome == SKIP:  # the rule skipped itself: its check did not happen
            self.open_skips += 1
        elif rule.counts:
            if outcome == FAIL:
                self.any_failed = True
            elif outcome == ERROR or outcome == TIMEOUT:
                self.any_errored = True

    def skip(
        self, rule: CompiledRule, message: str, details: Mapping[str, Any] = _NO_DETAILS, why: int = OPEN
    ) -> None:
        """``rule`` did not run. ``why``: OPEN (a check that did not run), CONDITIONAL
        (a `when` said so) or DISABLED (the rule is switched off)."""
        index = rule.index
        self.verdicts[index] = Verdict(SKIP, message, details)
        self.durations[index] = 0.0
        self.attempts[index] = 0
        if why == OPEN:
            self.open_skips += 1
        elif why == CONDITIONAL:
            self.conditional.add(index)


def _working_copy(record: Mapping[str, Any]) -> dict:
    """The copy of the record rules work on: top level copied, nested containers copied
    too, so nothing a run does can reach the caller's record."""
    data = dict(record)
    if not _ATOMIC_TYPES.issuperset(map(type, data.values())):  # a flat record costs one C-level pass
        for key, value in data.items():
            if type(value) not in _ATOMIC_TYPES:
                data[key] = _copy_nested(value)
    return data


def _copy_nested(value: Any) -> Any:
    """A copy of nested dicts, lists and sets, made without recursion: a record nested
    thousands of levels deep is copied like any other instead of exhausting the stack."""
    stack: list[tuple[Any, Any]] = []
    root = _copy_shell(value, stack)
    while stack:
        source, target = stack.pop()
        if type(target) is dict:
            for k, v in source.items():
                target[k] = v if isinstance(v, _ATOMIC) else _copy_shell(v, stack)
        else:
            target.extend(v if isinstance(v, _ATOMIC) else _copy_shell(v, stack) for v in source)
    return root


def _copy_shell(value: Any, stack: list) -> Any:
    """An empty container to fill from ``value`` (queued on ``stack``), or the value's copy."""
    if isinstance(value, dict):
        stack.append((value, {}))
        return stack[-1][1]
    if isinstance(value, list):
        stack.append((value, []))
        return stack[-1][1]
    if isinstance(value, set):
        return set(value)
    return value  # tuples, dates, decimals... are immutable enough


# ------------------------------------------------------------------ pipeline level


def run_pipeline(
    pipeline: Pipeline,
    record: Mapping[str, Any],
    stages: Iterable[str] | None,
    context: Mapping[str, Any] | None,
) -> RunResult:
    started = perf_counter()
    if type(record) is not dict and not isinstance(record, Mapping):
        raise TypeError(f"a record must be a mapping (a JSON object), not {type(record).__name__}")
    if context is not None and not isinstance(context, Mapping):
        raise TypeError(f"the run context must be a mapping, not {type(context).__name__}")
    selected = _selected_stages(pipeline, stages)
    run = _Run(pipeline, record, context)
    stage_results: list[StageResult] = []
    stopped_by: str | None = None
    for stage in pipeline.stages:
        if stopped_by is not None:
            reason = f"stopped after stage {stopped_by} failed"
            stage_results.append(
                _not_running(
                    run, stage, NOT_RUN, reason, f"Stage '{stage.name}' did not run: {reason}.", OPEN
                )
            )
            continue
        if not stage.enabled:
            stage_results.append(
                _not_running(
                    run, stage, SKIPPED, "disabled", f"Stage '{stage.name}' was skipped: disabled.", DISABLED
                )
            )
            continue
        if selected is not None and stage.index not in selected:
            stage_results.append(
                _not_running(
                    run,
                    stage,
                    NOT_RUN,
                    "not selected",
                    f"Stage '{stage.name}' did not run: not selected.",
                    OPEN,
                )
            )
            continue
        if stage.when is not None:
            stage_start = perf_counter()
            blocked = _condition_blocks(run, stage.when, stage.name, None)
            if blocked is not None:
                reason, evaluated = blocked
                stage_results.append(
                    _not_running(
                        run,
                        stage,
                        SKIPPED,
                        reason,
                        f"Stage '{stage.name}' was skipped: {reason}.",
                        CONDITIONAL if evaluated else OPEN,
                        perf_counter() - stage_start,
                    )
                )
                continue
        if stage.parallel:
            result = _ParallelStage(run, stage).run()
        else:
            result = _run_sequential_stage(run, stage)
        stage_results.append(result)
        if result.status == FAILED and pipeline.stop_on_stage_failure:
            stopped_by = stage.name
    if run.any_failed:
        status = FAILED
    elif run.any_errored:
        status = ERRORED
    elif run.open_skips:
        status = UNDECIDED
    else:
        status = PASSED
    partial = selected is not None and any(
        stage.enabled and stage.index not in selected for stage in pipeline.stages
    )
    return RunResult(
        pipeline=pipeline,
        status=status,
        stages=stage_results,
        verdicts=run.verdicts,
        durations=run.durations,
        attempts=run.attempts,
        data=run.data,
        changes=run.changes,
        notes=run.notes,
        context=run.context,
        duration=perf_counter() - started,
        conditional=run.conditional,
        partial=partial,
    )


def _selected_stages(pipeline: Pipeline, stages: Iterable[str] | None) -> set[int] | None:
    if stages is None:
        return None
    if isinstance(stages, str):
        stages = [stages]
    selected = set()
    for name in stages:
        index = pipeline.stage_index.get(name)
        if index is None:
            raise ValueError(f"there is no stage {name!r}; the stages are: {', '.join(pipeline.stage_index)}")
        selected.add(index)
    return selected


def _not_running(
    run: _Run, stage: CompiledStage, status: str, reason: str, message: str, why: int, duration: float = 0.0
) -> StageResult:
    """Every rule of ``stage`` skipped with ``message``; a disabled rule stays disabled."""
    skipped = Verdict(SKIP, message, _NO_DETAILS)
    for rule in run.pipeline.rules[stage.first : stage.end]:
        run.verdicts[rule.index] = skipped
        run.attempts[rule.index] = 0
        if not rule.enabled:
            continue
        if why == OPEN:
            run.open_skips += 1
        elif why == CONDITIONAL:
            run.conditional.add(rule.index)
    return StageResult(stage.name, status, reason, duration, stage.first, stage.end)


def _condition_blocks(run: _Run, condition, stage_name: str, rule_id: str | None) -> tuple[str, bool] | None:
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


# ------------------------------------------------------------------ verdict helpers


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
    """What the dependencies of ``rule`` say: _READY (all passed), _WAIT (some not
    finished, and nothing yet rules the rule out), or the index of the dependency to
    skip it for. A dependency that did not pass other than by a `when` is named first:
    the skip it causes is open. Only when every dependency that did not pass was
    skipped by a `when` is the skip passed on as conditional."""
    verdicts = run.verdicts
    conditional = run.conditional
    waiting = False
    first_conditional = _READY
    for dep in rule.deps:
        verdict = verdicts[dep]
        if verdict is None:
            waiting = True
        elif verdict[0] != PASS:
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
    outcome = run.verdicts[dep][0]
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


# ------------------------------------------------------------------ one rule, all attempts


def _settle_attempt(
    run: _Run,
    rule: CompiledRule,
    verdict: Any,
    writes: dict,
    elapsed: float,
    stage: CompiledStage,
    finished_at: float,
    deadline: float,
) -> tuple[Verdict, dict, bool]:
    """One attempt's outcome after the timeouts: (verdict, writes to keep, stage timed out).
    An attempt that finished after the stage deadline or over the rule's own limit is
    ``timeout`` and its writes are dropped."""
    if finished_at > deadline:
        return _stage_timeout_verdict(stage), {}, True
    if elapsed > rule.timeout:
        return _rule_timeout_verdict(elapsed, rule.timeout, abandoned=rule.blocking), {}, False
    verdict = _checked(verdict)
    if verdict[0] == ERROR or verdict[0] == TIMEOUT:
        return verdict, {}, False
    return verdict, writes, False


def _retry_delay(rule: CompiledRule, verdict: Verdict, attempt: int, deadline: float) -> float | None:
    """Seconds to wait before another attempt, or None when there is none: no policy,
    an outcome not retried, attempts used up, or the backoff would pass the stage deadline."""
    policy = rule.retry
    if policy is None or verdict[0] not in policy.retry_on or attempt >= policy.max_attempts:
        return None
    delay = policy.delay_after(attempt)
    if perf_counter() + delay >= deadline:
        return None
    return delay


def _pool_attempt(evaluate, data: Mapping[str, Any], ctx: RuleContext) -> tuple[Any, float]:
    """What runs on a pool thread: the rule, and when it finished."""
    try:
        verdict = evaluate(data, ctx)
    except Exception as error:  # noqa: BLE001 - any failure of a rule is its `error` outcome
        verdict = _raised(error)
    return verdict, perf_counter()


def _submit(run: _Run, rule: CompiledRule) -> tuple[Future, RuleContext, float]:
    """Start one attempt of a blocking rule on the pool, on a snapshot of the data."""
    ctx = run.fresh_context(rule.rule_id, snapshot=True)
    snapshot = MappingProxyType(dict(run.data))
    started = perf_counter()
    future = run.pipeline.pool().submit(_pool_attempt, rule.evaluate, snapshot, ctx)
    return future, ctx, started


def _wait_for_pool_attempt(
    future: Future, started: float, limit: float, deadline: float
) -> tuple[Any, float]:
    """Where a blocking rule's timeout is enforced in a sequential stage: wait until the
    earlier of its own deadline and the stage's, then abandon it (its late result is
    never looked at). Returns (verdict or None, finished_at)."""
    wait_until = min(started + limit, deadline)
    try:
        return future.result(timeout=max(0.0, wait_until - perf_counter()) if wait_until != inf else None)
    except FutureTimeout:
        future.cancel()
        return None, perf_counter()
    except CancelledError:
        return _CANCELLED, perf_counter()


def _run_attempts(run: _Run, rule: CompiledRule, stage: CompiledStage, deadline: float) -> bool:
    """Run ``rule`` to its final verdict in the calling thread: retries with backoff,
    blocking rules through the pool. Returns True when the stage deadline passed."""
    first_start = perf_counter()
    attempt = 0
    while True:
        attempt += 1
        if rule.blocking:
            future, ctx, started = _submit(run, rule)
            verdict, finished_at = _wait_for_pool_attempt(future, started, rule.timeout, deadline)
            elapsed = finished_at - started
            if verdict is None:  # abandoned at its deadline
                if finished_at >= deadline:
                    run.record(rule, _stage_timeout_verdict(stage), perf_counter() - first_start, attempt)
                    return True
                verdict = _rule_timeout_verdict(elapsed, rule.timeout)
        else:
            ctx = run.fresh_context(rule.rule_id, snapshot=False)
            started = perf_counter()
            try:
                verdict = rule.evaluate(run.view, ctx)
            except Exception as error:  # noqa: BLE001
                verdict = _raised(error)
            finished_at = perf_counter()
            elapsed = finished_at - started
        verdict, writes, stage_timed_out = _settle_attempt(
            run, rule, verdict, ctx.writes, elapsed, stage, finished_at, deadline
        )
        if stage_timed_out:
            run.record(rule, verdict, perf_counter() - first_start, attempt)
            return True
        delay = _retry_delay(rule, verdict, attempt, deadline)
        if delay is None:
            if writes:
                _apply_writes(run, rule.rule_id, writes)
            run.record(rule, verdict, perf_counter() - first_start, attempt)
            return False
        time.sleep(delay)


def _gate(run: _Run, rule: CompiledRule) -> bool:
    """Disabled rules and rules whose ``when`` does not hold are skipped here; True
    when the rule may run."""
    if not rule.enabled:
        run.skip(rule, _DISABLED_SKIP, why=DISABLED)
        return False
    if rule.when is not None:
        blocked = _condition_blocks(run, rule.when, rule.stage_name, rule.rule_id)
        if blocked is not None:
            reason, evaluated = blocked
            run.skip(rule, f"Skipped: {reason}.", why=CONDITIONAL if evaluated else OPEN)
            return False
    return True


# ------------------------------------------------------------------ sequential stages


def _run_sequential_stage(run: _Run, stage: CompiledStage) -> StageResult:
    """The stage's rules one at a time in dependency order. The loop is the hot path of
    the engine: a rule that only computes, passes and writes nothing costs one call,
    one clock reading and two list stores; everything else leaves the loop's fast
    lane. ``fail_fast`` and the stage timeout end the loop; the rest is skipped."""
    verdicts = run.verdicts
    durations = run.durations
    view = run.view
    ctx = run.ctx
    clock = perf_counter
    verdict_type = Verdict
    passed = PASS
    started = clock()
    deadline = started + stage.timeout
    before = started
    failed_rule: str | None = None
    stop_message: str | None = None
    timed_out = False
    for index, rule_id, evaluate, dep, deps, limit, simple, rule in stage.plan:
        if dep >= 0:
            if verdicts[dep][0] != passed:
                _dependency_skip(run, rule, dep)
                continue
        elif deps:
            for dep in deps:
                if verdicts[dep][0] != passed:
                    _dependency_skip(run, rule)
                    break
            else:
                dep = -1
            if dep >= 0:
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
            ctx.writes = {}
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
        if verdicts[index][0] in FAILURE_OUTCOMES and rule.counts:
            if failed_rule is None:
                failed_rule = rule_id
            if stage.fail_fast:
                stop_message = _stopped_skip(rule_id)
        if timed_out:
            stop_message = _stage_timed_out_skip(stage)
        if stop_message is not None:
            for entry in stage.plan[rule.plan_position + 1 :]:
                run.skip(entry[-1], stop_message)
            break
    return _stage_status(run, stage, failed_rule, timed_out, clock() - started)


# ------------------------------------------------------------------ parallel stages


class _InFlight:
    """A blocking rule's attempt running on the pool."""

    __slots__ = ("entry", "rule", "future", "ctx", "started", "deadline", "attempt", "first_start")

    def __init__(self, entry, future, ctx, started, attempt, first_start, stage_deadline):
        self.entry = entry
        self.rule = entry[-1]
        self.future = future
        self.ctx = ctx
        self.started = started
        self.deadline = min(started + self.rule.timeout, stage_deadline)
        self.attempt = attempt
        self.first_start = first_start


class _Retry:
    """A blocking rule's failed attempt, waiting out its backoff (holding no pool slot)."""

    __slots__ = ("due", "entry", "attempt", "first_start", "last_verdict")

    def __init__(self, due, entry, attempt, first_start, last_verdict):
        self.due = due
        self.entry = entry
        #: the number of the attempt to make
        self.attempt = attempt
        self.first_start = first_start
        self.last_verdict = last_verdict


class _ParallelStage:
    """A stage with ``parallel_execution``: every rule whose dependencies are met runs
    at once, blocking ones on the pool (at most ``max_parallel_rules`` in flight), the
    others inline in this thread. With ``fail_fast``, the first failure stops new
    starts (retries included); what is in flight finishes or times out; the rest is
    skipped. When the stage deadline passes, what is in flight is ``timeout``."""

    __slots__ = (
        "run_state",
        "stage",
        "started",
        "deadline",
        "failed_rule",
        "stop_message",
        "timed_out",
        "waiting",
        "in_flight",
        "retries",
    )

    def __init__(self, run: _Run, stage: CompiledStage):
        self.run_state = run
        self.stage = stage
        self.started = perf_counter()
        self.deadline = self.started + stage.timeout
        self.failed_rule: str | None = None
        self.stop_message: str | None = None
        self.timed_out = False
        #: plan entries whose dependencies are unresolved or that wait for pool room, in plan order
        self.waiting: list[tuple] = []
        self.in_flight: dict[Future, _InFlight] = {}
        self.retries: list[_Retry] = []

    def run(self) -> StageResult:
        run = self.run_state
        verdicts = run.verdicts
        durations = run.durations
        view = run.view
        ctx = run.ctx
        deadline = self.deadline
        waiting = self.waiting
        before = perf_counter()
        # First pass, in dependency order: rules that only compute run right here, so a
        # stage without blocking rules costs what a sequential one does.
        clock = perf_counter
        verdict_type = Verdict
        passed = PASS
        for entry in self.stage.plan:
            index, rule_id, evaluate, dep, deps, limit, simple, rule = entry
            if dep < 0 and deps:
                for dep in deps:
                    verdict = verdicts[dep]
                    if verdict is None or verdict[0] != passed:
                        break
                else:
                    dep = -1
            if dep >= 0:
                verdict = verdicts[dep]
                if verdict is None or verdict[0] != passed:
                    blocker = _dependency_blocker(run, rule)
                    if blocker == _WAIT:
                        waiting.append(entry)
                    else:
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
                ctx.writes = {}
                verdict, writes, timed_out = _settle_attempt(
                    run, rule, verdict, writes, elapsed, self.stage, now, deadline
                )
                if writes:
                    _apply_writes(run, rule_id, writes)
                run.record(rule, verdict, elapsed, 1)
                self.after_final(rule, timed_out)
            else:
                self.start(entry)
                before = clock()
            if self.stop_message is not None:
                for later in self.stage.plan[rule.plan_position + 1 :]:
                    run.skip(later[-1], self.stop_message)
                break
        if waiting or self.in_flight or self.retries:
            self.event_loop()
        return _stage_status(run, self.stage, self.failed_rule, self.timed_out, perf_counter() - self.started)

    # -- bookkeeping

    def after_final(self, rule: CompiledRule, stage_timed_out: bool) -> None:
        """A rule has its final verdict: note failures, fail_fast, stage timeout."""
        if self.run_state.verdicts[rule.index][0] in FAILURE_OUTCOMES and rule.counts:
            if self.failed_rule is None:
                self.failed_rule = rule.rule_id
            if self.stage.fail_fast and self.stop_message is None:
                self.stop_message = _stopped_skip(rule.rule_id)
        if stage_timed_out:
            self.time_out()

    def time_out(self) -> None:
        """The stage deadline passed: what runs is ``timeout`` (abandoned), rules waiting
        to retry keep their last verdict, the rest is skipped."""
        if self.timed_out:
            return
        self.timed_out = True
        self.stop_message = _stage_timed_out_skip(self.stage)
        run = self.run_state
        for future, flight in list(self.in_flight.items()):
            future.cancel()
            run.record(
                flight.rule,
                _stage_timeout_verdict(self.stage),
                perf_counter() - flight.first_start,
                flight.attempt,
            )
            self.after_final(flight.rule, False)
        self.in_flight.clear()
        self.drop_retries()

    def drop_retries(self) -> None:
        """Retries that will not happen (fail_fast, stage timeout): the last attempt stands."""
        run = self.run_state
        retries, self.retries = self.retries, []
        for retry in retries:
            rule = retry.entry[-1]
            run.record(rule, retry.last_verdict, perf_counter() - retry.first_start, retry.attempt - 1)
            self.after_final(rule, False)

    def has_room(self) -> bool:
        return len(self.in_flight) < self.stage.max_parallel

    # -- starting rules

    def start(self, entry: tuple) -> None:
        """Start a rule whose dependencies passed: a blocking rule goes to the pool
        when there is room, else it waits; any other rule runs here and now."""
        rule = entry[-1]
        run = self.run_state
        if rule.blocking and not self.has_room():
            self.waiting.append(entry)
            self.waiting.sort(key=lambda e: e[-1].plan_position)
        elif not _gate(run, rule):
            return
        elif rule.blocking:
            self.submit(entry, 1, None)
        else:
            self.after_final(rule, _run_attempts(run, rule, self.stage, self.deadline))

    def submit(self, entry: tuple, attempt: int, first_start: float | None) -> None:
        future, ctx, started = _submit(self.run_state, entry[-1])
        self.in_flight[future] = _InFlight(
            entry,
            future,
            ctx,
            started,
            attempt,
            started if first_start is None else first_start,
            self.deadline,
        )

    def start_ready(self) -> None:
        """Start due retries while there is pool room, then every waiting rule whose
        dependencies are resolved."""
        run = self.run_state
        verdicts = run.verdicts
        if self.retries and self.has_room():
            now = perf_counter()
            self.retries.sort(key=lambda retry: retry.due)
            while self.retries and self.retries[0].due <= now and self.has_room():
                retry = self.retries.pop(0)
                self.submit(retry.entry, retry.attempt, retry.first_start)
        if not self.waiting:
            return
        pending, self.waiting = self.waiting, []
        for entry in pending:
            rule = entry[-1]
            if self.stop_message is not None:
                run.skip(rule, self.stop_message)
                continue
            blocker = _dependency_blocker(run, rule)
            if blocker == _WAIT:
                self.waiting.append(entry)
            elif blocker != _READY:
                _dependency_skip(run, rule, blocker)
            elif rule.blocking and not self.has_room():
                self.waiting.append(entry)
            else:
                self.start(entry)

    # -- waiting for the pool

    def event_loop(self) -> None:
        """Where a parallel stage waits: for the first pool attempt to finish, the
        nearest attempt deadline (the rule timeout), a retry's backoff, or the stage
        deadline, whichever comes first."""
        while True:
            self.start_ready()
            if not self.in_flight and not self.retries:
                if self.waiting:  # pragma: no cover - dependency order guarantees progress
                    raise AssertionError("parallel stage stalled")
                return
            now = perf_counter()
            if now >= self.deadline:
                self.time_out()
                continue
            wake = self.deadline
            for flight in self.in_flight.values():
                wake = min(wake, flight.deadline)
            if self.has_room():
                for retry in self.retries:
                    wake = min(wake, retry.due)
            timeout = max(0.0, wake - now) if wake != inf else None
            if self.in_flight:
                wait(list(self.in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
            elif timeout:
                time.sleep(timeout)
            self.harvest()

    def harvest(self) -> None:
        """Settle every attempt that finished or whose deadline passed."""
        run = self.run_state
        now = perf_counter()
        for future, flight in list(self.in_flight.items()):
            if future not in self.in_flight:  # settled by a stage timeout found earlier in this loop
                continue
            if future.cancelled():
                verdict, finished_at = _CANCELLED, now
            elif future.done():
                verdict, finished_at = future.result()
            elif now >= flight.deadline:
                future.cancel()  # abandoned: the result, if it ever comes, is ignored
                verdict, finished_at = None, now
            else:
                continue
            del self.in_flight[future]
            rule = flight.rule
            elapsed = finished_at - flight.started
            if verdict is None or finished_at > flight.deadline:
                if finished_at >= self.deadline:
                    verdict, writes, stage_timed_out = _stage_timeout_verdict(self.stage), {}, True
                else:
                    verdict, writes, stage_timed_out = _rule_timeout_verdict(elapsed, rule.timeout), {}, False
            else:
                verdict, writes, stage_timed_out = _settle_attempt(
                    run, rule, verdict, flight.ctx.writes, elapsed, self.stage, finished_at, self.deadline
                )
            if not stage_timed_out and self.stop_message is None:
                delay = _retry_delay(rule, verdict, flight.attempt, self.deadline)
                if delay is not None:
                    self.retries.append(
                        _Retry(
                            perf_counter() + delay,
                            flight.entry,
                            flight.attempt + 1,
                            flight.first_start,
                            verdict,
                        )
                    )
                    continue
            if writes:
                _apply_writes(run, rule.rule_id, writes)
            run.record(rule, verdict, perf_counter() - flight.first_start, flight.attempt)
            self.after_final(rule, stage_timed_out)
        if self.stop_message is not None and self.retries:
            self.drop_retries()
