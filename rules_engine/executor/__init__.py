"""Running one record through a compiled pipeline: stages, rules, timeouts, retries.

Where things happen:

- :func:`run_pipeline` (here): stages in document order; stage ``enabled`` / ``when`` /
  selection; ``stop_on_stage_failure``; the overall status, and which results go to
  review (:func:`_routed_to_review`).
- :mod:`.sequential`: a stage's rules one after another in dependency order,
  ``fail_fast``, and the fast path for rules that only compute.
- :mod:`.parallel`: ``parallel_execution``: every rule whose dependencies are
  met runs at once, up to ``max_parallel_rules``; rules placed on the pool run there.
- :mod:`.placement`: where each rule runs (the calling thread, the calling thread
  under a call deadline, or the pipeline's pool), decided when the pipeline is compiled.
- :mod:`.attempts`: one rule with its retries, backoff
  and the **rule timeout**: a pool rule's call is abandoned at its deadline
  (:func:`_wait_for_pool_attempt`, and the parallel stage's event loop); a rule run
  inline under a call deadline has its service calls ended there
  (:func:`rules_engine.services.interfaces.call_deadline`); an inline rule that overran
  its limit has its verdict and writes thrown away (:func:`_settle_attempt`).
- The **stage timeout** bounds everything a stage does: see ``deadline`` in the stage
  runners and :func:`.verdicts._stage_timeout_verdict`.
- :func:`.verdicts._apply_writes`: a rule's ``ctx.set`` calls reach the working copy here, in the
  coordinating thread, and each change is recorded.

Every piece of per-run state lives in a :class:`.state._Run`; nothing survives a run.

Rules run inline in the calling thread, even in a parallel stage, unless they have a
reason to leave it (:mod:`.placement`): handing a rule to a thread costs more than
most rules. Rules that only compute, rules whose services answer at once (simulated
services without latency) and rules whose network look-ups are off for the run stay
here; their timeouts are enforced after the fact: the rule is measured and, if it
overran, its result and writes are discarded. A rule that waits on a service that ends
its own calls (the HTTP adapter, a simulated service with latency) runs here too in a
sequential stage, under a call deadline: the nearer of its own and the stage's. A rule
goes to the pool when its I/O can overlap with the other ready rules of a parallel
stage, or when nothing but abandoning the call can bound it (a service that cannot
end its calls, a rule that blocks on its own); its timeout abandons it there. A rule's
``duration`` is measured in the thread that runs it.

Decisions worth knowing:

- A rule runs only if every dependency (same stage or earlier) passed; otherwise it is
  ``skip`` with a message naming the dependency and its outcome. That holds for
  warning-severity dependencies too: a warning does not fail the stage, but what
  depends on the rule still did not get what it needed.
- Every skip is one of three kinds (:meth:`.state._Run.skip`): *conditional* (a `when` of the
  rule or its stage was false, or every dependency that did not pass was itself
  skipped that way: the author made the branch conditional), *disabled* (the rule or
  its stage is switched off), or *open*: a check that did not run for any other
  reason (a dependency failed, errored or was skipped openly, the rule skipped itself,
  a `when` could not be evaluated, the stage was not selected, stopped or timed out).
  One open skip of an enabled rule makes a run that neither failed nor errored
  ``undecided``, never ``passed``. In a parallel stage a rule whose only problem so
  far is a conditional dependency waits for its other dependencies before it is
  skipped, so the kind does not depend on timing.
- A result routed to review (``on_fail`` / ``on_error`` / ``on_flag: review``) keeps its
  outcome but fails nothing: its stage does not fail, ``fail_fast`` does not stop, and
  the rules depending on it run as if it had passed, so every check still happens for
  the person who decides. A stage timeout is never routed: the run is ``error``.
- A ``when`` that cannot be evaluated skips its stage or rule, with the reason, and is
  listed in the run's ``warnings``.
- Writes are applied for pass, fail and skip; an error or timeout attempt, or one that
  is retried, leaves no trace.
- Retries of pool rules in a parallel stage wait their backoff without holding a pool
  slot; inline rules wait in the coordinating thread. A retry whose backoff would pass the stage
  deadline is not made: the last attempt's verdict stands.
- A stage whose deadline passes is ``failed`` (reason "timed out after N s") whatever
  the severity of the rule that was running, and the run is at least ``error``: some
  of its checks never happened.
- Rules of a stage that does not run (not selected, disabled, ``when`` false, stopped)
  are ``skip``, so rules of later stages depending on them are skipped as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from time import perf_counter
from typing import TYPE_CHECKING, Any, cast

from rules_engine.executor.parallel import _ParallelStage
from rules_engine.executor.sequential import _run_sequential_stage
from rules_engine.executor.state import _NO_DETAILS, CONDITIONAL, DISABLED, OPEN, ResultsView, _Run
from rules_engine.executor.verdicts import _condition_blocks
from rules_engine.result import (
    ERRORED,
    FAILED,
    NOT_RUN,
    PASSED,
    REVIEW,
    SKIPPED,
    UNDECIDED,
    RunResult,
    StageResult,
)
from rules_engine.rule import PASS, SKIP, Verdict

if TYPE_CHECKING:  # pragma: no cover
    from rules_engine.compiler import CompiledStage, Pipeline

__all__ = ["CONDITIONAL", "DISABLED", "OPEN", "ResultsView", "run_pipeline"]


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
    routed = _routed_to_review(pipeline, run.verdicts) if pipeline.review_rules else ()
    partial = selected is not None and any(
        stage.enabled and stage.index not in selected for stage in pipeline.stages
    )
    if run.any_failed:
        status = FAILED
    elif run.any_errored:
        status = ERRORED
    elif run.open_skips or partial:
        # a run of chosen stages is never an approval, even when the stages left out
        # had no enabled rule to leave open
        status = UNDECIDED
    elif routed:
        status = REVIEW
    else:
        status = PASSED
    return RunResult(
        pipeline=pipeline,
        status=status,
        stages=stage_results,
        verdicts=cast("list[Verdict]", run.verdicts),  # every rule has one by now
        durations=run.durations,
        attempts=run.attempts,
        data=run.data,
        changes=run.changes,
        notes=run.notes,
        context=run.context,
        duration=perf_counter() - started,
        conditional=run.conditional,
        partial=partial,
        routed=routed,
    )


def _routed_to_review(pipeline: Pipeline, verdicts: list[Verdict | None]) -> tuple[int, ...]:
    """The rules whose result goes to a person: a fail under ``on_fail: review``, an
    error or timeout under ``on_error: review``, a pass the rule flagged for manual
    review (``details.manual_review``) under ``on_flag: review``."""
    found = []
    rules = pipeline.rules
    for index in pipeline.review_rules:
        rule = rules[index]
        verdict = verdicts[index]
        if verdict is None or not rule.enabled:
            continue
        outcome, _message, details = verdict
        if outcome in rule.review_on or (
            rule.review_flag
            and outcome == PASS
            and isinstance(details, Mapping)
            and details.get("manual_review") is True
        ):
            found.append(index)
    return tuple(found)


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
