"""A stage with ``parallel_execution``: every rule whose dependencies are met at once."""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from math import inf
from time import perf_counter
from typing import TYPE_CHECKING, Any

from rules_engine.executor.attempts import _gate, _retry_delay, _run_attempts, _settle_attempt, _submit
from rules_engine.executor.placement import POOL
from rules_engine.executor.sequential import _SETTLED
from rules_engine.executor.state import _Run
from rules_engine.executor.verdicts import (
    _CANCELLED,
    _READY,
    _WAIT,
    _apply_writes,
    _dependency_blocker,
    _dependency_skip,
    _raised,
    _rule_timeout_verdict,
    _stage_status,
    _stage_timed_out_skip,
    _stage_timeout_verdict,
    _stopped_skip,
)
from rules_engine.result import StageResult
from rules_engine.rule import PASS, SKIP, RuleContext, Verdict

if TYPE_CHECKING:  # pragma: no cover
    from rules_engine.compiler import CompiledRule, CompiledStage, PlanEntry


class _InFlight:
    """A rule's attempt running on the pool."""

    __slots__ = ("entry", "rule", "future", "ctx", "started", "began", "deadline", "attempt", "earlier_start")

    def __init__(
        self,
        entry: PlanEntry,
        future: Future[tuple[Any, float]],
        ctx: RuleContext,
        started: float,
        began: list[float],
        attempt: int,
        earlier_start: float | None,
        stage_deadline: float,
    ):
        self.entry = entry
        self.rule = entry[-1]
        self.future = future
        self.ctx = ctx
        #: when it was handed to the pool (its time limit counts from here)
        self.started = started
        #: [when it started on its pool thread] (until then, when it was handed over)
        self.began = began
        self.deadline = min(started + self.rule.timeout, stage_deadline)
        self.attempt = attempt
        #: when the rule's first attempt started, for a retry
        self.earlier_start = earlier_start

    @property
    def first_start(self) -> float:
        """When the rule's first attempt started on its thread: where its duration begins."""
        return self.began[0] if self.earlier_start is None else self.earlier_start


class _Retry:
    """A pool rule's failed attempt, waiting out its backoff (holding no pool slot)."""

    __slots__ = ("due", "entry", "attempt", "first_start", "last_verdict")

    def __init__(self, due: float, entry: PlanEntry, attempt: int, first_start: float, last_verdict: Verdict):
        self.due = due
        self.entry = entry
        #: the number of the attempt to make
        self.attempt = attempt
        self.first_start = first_start
        self.last_verdict = last_verdict


class _ParallelStage:
    """A stage with ``parallel_execution``: every rule whose dependencies are met runs
    at once, the ones placed on the pool there (at most ``max_parallel_rules`` in
    flight), the others inline in this thread. With ``fail_fast``, the first failure
    stops new starts (retries included); what is in flight finishes or times out; the
    rest is skipped. When the stage deadline passes, what is in flight is ``timeout``."""

    __slots__ = (
        "run_state",
        "stage",
        "plan",
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
        #: the stage's rules in dependency order, as this run places them
        self.plan = stage.plan_network if run.network else stage.plan
        #: plan entries whose dependencies are unresolved or that wait for pool room, in plan order
        self.waiting: list[PlanEntry] = []
        self.in_flight: dict[Future[tuple[Any, float]], _InFlight] = {}
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
        # First pass, in dependency order: rules not placed on the pool run right here, so
        # a stage without pool rules costs what a sequential one does. The inline lane is
        # written out here as in the sequential loop: a function shared by both costs about
        # a third more per rule (bench/engine.py, shared benchmark at 100 rules per stage).
        clock = perf_counter
        verdict_type = Verdict
        passed = PASS
        skip = SKIP
        settled = _SETTLED
        for entry in self.plan:
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
                        continue
                    if blocker != _READY:  # not a dependency whose result went to review
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
                    type(verdict) is verdict_type
                    and verdict[0] in settled
                    and elapsed <= limit
                    and now <= deadline
                ):
                    # what run.record and after_final do for a settled verdict, written out
                    if writes:
                        _apply_writes(run, rule_id, writes)
                    verdicts[index] = verdict
                    durations[index] = elapsed
                    outcome = verdict[0]
                    if outcome == skip:  # the rule skipped itself: its check did not happen
                        run.open_skips += 1
                        continue
                    if outcome not in rule.fails_on:  # passed, warning, or routed to review
                        continue
                    run.any_failed = True
                    if self.failed_rule is None:
                        self.failed_rule = rule_id
                    if not self.stage.fail_fast or self.stop_message is not None:
                        continue
                    self.stop_message = _stopped_skip(rule_id)
                else:
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
                for later in self.plan[rule.plan_position + 1 :]:
                    run.skip(later[-1], self.stop_message)
                break
        if waiting or self.in_flight or self.retries:
            self.event_loop()
        return _stage_status(run, self.stage, self.failed_rule, self.timed_out, perf_counter() - self.started)

    # -- bookkeeping

    def after_final(self, rule: CompiledRule, stage_timed_out: bool) -> None:
        """A rule has its final verdict: note failures, fail_fast, stage timeout."""
        verdict: Verdict = self.run_state.verdicts[rule.index]  # type: ignore[assignment]
        if verdict[0] in rule.fails_on:
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

    def start(self, entry: PlanEntry) -> None:
        """Start a rule whose dependencies passed: a rule placed on the pool goes there
        when there is room, else it waits; any other rule runs here and now."""
        rule = entry[-1]
        run = self.run_state
        pooled = run.where[rule.index] == POOL
        if pooled and not self.has_room():
            self.waiting.append(entry)
            self.waiting.sort(key=lambda e: e[-1].plan_position)
        elif not _gate(run, rule):
            return
        elif pooled:
            self.submit(entry, 1, None)
        else:
            self.after_final(rule, _run_attempts(run, rule, self.stage, self.deadline))

    def submit(self, entry: PlanEntry, attempt: int, first_start: float | None) -> None:
        future, ctx, started, began = _submit(self.run_state, entry[-1], self.deadline)
        self.in_flight[future] = _InFlight(
            entry, future, ctx, started, began, attempt, first_start, self.deadline
        )

    def start_ready(self) -> None:
        """Start due retries while there is pool room, then every waiting rule whose
        dependencies are resolved."""
        run = self.run_state
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
            elif run.where[rule.index] == POOL and not self.has_room():
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
            elapsed = finished_at - flight.began[0]
            writes: dict[str, Any]
            if verdict is None or finished_at > flight.deadline:
                if finished_at >= self.deadline:
                    verdict, writes, stage_timed_out = _stage_timeout_verdict(self.stage), {}, True
                else:
                    verdict, writes, stage_timed_out = (
                        _rule_timeout_verdict(finished_at - flight.started, rule.timeout),
                        {},
                        False,
                    )
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
            run.record(rule, verdict, finished_at - flight.first_start, flight.attempt)
            self.after_final(rule, stage_timed_out)
        if self.stop_message is not None and self.retries:
            self.drop_retries()
