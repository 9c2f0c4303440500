"""One rule to its final verdict: its attempts, retries with backoff, the rule timeout
(a rule on the pool is abandoned at its deadline; a rule run inline under a call
deadline has its service calls ended there; an inline rule that overran has its verdict
and writes thrown away).

Durations are measured in the thread that runs the attempt: time spent waiting for a
pool thread, or for the coordinating thread to notice that an attempt finished, is not
the rule's."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from math import inf
from time import perf_counter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from rules_engine.executor.placement import INLINE_BOUNDED, POOL
from rules_engine.executor.state import CONDITIONAL, DISABLED, OPEN, _Run
from rules_engine.executor.verdicts import (
    _CANCELLED,
    _DISABLED_SKIP,
    _apply_writes,
    _checked,
    _condition_blocks,
    _raised,
    _rule_timeout_verdict,
    _stage_timeout_verdict,
)
from rules_engine.rule import ERROR, TIMEOUT, RuleContext, Verdict
from rules_engine.services.interfaces import call_deadline

if TYPE_CHECKING:  # pragma: no cover
    from rules_engine.compiler import CompiledRule, CompiledStage


def _settle_attempt(
    run: _Run,
    rule: CompiledRule,
    verdict: Any,
    writes: dict[str, Any],
    elapsed: float,
    stage: CompiledStage,
    finished_at: float,
    deadline: float,
) -> tuple[Verdict, dict[str, Any], bool]:
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


def _pool_attempt(
    evaluate: Callable[[Mapping[str, Any], RuleContext], Any],
    data: Mapping[str, Any],
    ctx: RuleContext,
    deadline: float,
    began: list[float],
) -> tuple[Any, float]:
    """What runs on a pool thread: the rule, its service calls bounded by ``deadline``
    where they can be; when it started goes into ``began``; returns the verdict and
    when it finished."""
    began[0] = perf_counter()
    try:
        with call_deadline(deadline):
            verdict = evaluate(data, ctx)
    except Exception as error:  # noqa: BLE001 - any failure of a rule is its `error` outcome
        verdict = _raised(error)
    return verdict, perf_counter()


def _submit(
    run: _Run, rule: CompiledRule, stage_deadline: float
) -> tuple[Future[tuple[Any, float]], RuleContext, float, list[float]]:
    """Start one attempt of a rule on the pool, on a snapshot of the data. Returns the
    future, the attempt's context, when it was handed over, and a cell that holds when
    the attempt started on its thread (until then, when it was handed over)."""
    ctx = run.fresh_context(rule.rule_id, snapshot=True)
    snapshot = MappingProxyType(dict(run.data))
    submitted = perf_counter()
    began = [submitted]
    deadline = min(submitted + rule.timeout, stage_deadline)
    future = run.pipeline.pool().submit(_pool_attempt, rule.evaluate, snapshot, ctx, deadline, began)
    return future, ctx, submitted, began


def _wait_for_pool_attempt(
    future: Future[tuple[Any, float]], started: float, limit: float, deadline: float
) -> tuple[Any, float]:
    """Where the timeout of a rule on the pool is enforced outside a parallel stage: wait
    until the earlier of its own deadline and the stage's, then abandon it (its late
    result is never looked at). Returns (verdict or None, finished_at)."""
    wait_until = min(started + limit, deadline)
    try:
        return future.result(timeout=max(0.0, wait_until - perf_counter()) if wait_until != inf else None)
    except FutureTimeout:
        future.cancel()
        return None, perf_counter()
    except CancelledError:
        return _CANCELLED, perf_counter()


def _run_attempts(run: _Run, rule: CompiledRule, stage: CompiledStage, deadline: float) -> bool:
    """Run ``rule`` to its final verdict from the calling thread: retries with backoff;
    a rule placed on the pool runs there, a rule placed inline with bounded calls runs
    here under its call deadline. Returns True when the stage deadline passed."""
    where = run.where[rule.index]
    first_start = -1.0
    attempt = 0
    while True:
        attempt += 1
        if where == POOL:
            future, ctx, submitted, began = _submit(run, rule, deadline)
            verdict, finished_at = _wait_for_pool_attempt(future, submitted, rule.timeout, deadline)
            started = began[0]
            if first_start < 0:
                first_start = started
            elapsed = finished_at - started
            if verdict is None:  # abandoned at its deadline
                if finished_at >= deadline:
                    run.record(rule, _stage_timeout_verdict(stage), finished_at - first_start, attempt)
                    return True
                verdict = _rule_timeout_verdict(finished_at - submitted, rule.timeout)
        else:
            ctx = run.fresh_context(rule.rule_id, snapshot=False)
            started = perf_counter()
            if first_start < 0:
                first_start = started
            try:
                if where == INLINE_BOUNDED:
                    with call_deadline(min(started + rule.timeout, deadline)):
                        verdict = rule.evaluate(run.view, ctx)
                else:
                    verdict = rule.evaluate(run.view, ctx)
            except Exception as error:  # noqa: BLE001
                verdict = _raised(error)
            finished_at = perf_counter()
            elapsed = finished_at - started
        verdict, writes, stage_timed_out = _settle_attempt(
            run, rule, verdict, ctx.writes, elapsed, stage, finished_at, deadline
        )
        if stage_timed_out:
            run.record(rule, verdict, finished_at - first_start, attempt)
            return True
        delay = _retry_delay(rule, verdict, attempt, deadline)
        if delay is None:
            if writes:
                _apply_writes(run, rule.rule_id, writes)
            run.record(rule, verdict, finished_at - first_start, attempt)
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
