"""Turning a validated config into a :class:`Pipeline`, once.

Everything that does not depend on the record happens here: validation, building each
rule object once, binding its services, resolving dependencies to list indexes,
ordering each stage's rules, compiling ``when`` conditions, working out timeouts and
retry policies. The result is a flat plan per stage that the executor walks for every
record (see :mod:`rules_engine.executor`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, NamedTuple

from rules_engine.conditions import Condition
from rules_engine.decision import DecisionText, decision_text
from rules_engine.dependency_graph import topological_order
from rules_engine.executor.placement import INLINE, POOL, placement
from rules_engine.rule import ERROR, FAIL, TIMEOUT, Rule, RuleContext, Verdict
from rules_engine.validation import (
    ConfigError,
    Problem,
    default_rules,
    default_services,
    pointer,
    same_stage_dependencies,
    validate_config,
)

if TYPE_CHECKING:  # pragma: no cover
    from rules_engine.result import RunResult

#: rules running at once in a parallel stage when neither the stage nor
#: ``execution_settings`` says
DEFAULT_MAX_PARALLEL_RULES = 4


class RetryPolicy(NamedTuple):
    """When and how often a rule is tried again."""

    max_attempts: int
    backoff_seconds: float
    backoff_multiplier: float
    retry_on: frozenset[str]

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after attempt number ``attempt`` (1-based) before the next."""
        return self.backoff_seconds * self.backoff_multiplier ** (attempt - 1)


#: what ``execution_settings.retry_failed_rules: true`` means for rules without ``retry``
DEFAULT_RETRY = RetryPolicy(
    max_attempts=3, backoff_seconds=0.1, backoff_multiplier=2.0, retry_on=frozenset({ERROR, TIMEOUT})
)


def retry_policy(spec: Mapping[str, Any]) -> RetryPolicy:
    """A rule's ``retry`` settings, with the defaults of :data:`DEFAULT_RETRY`."""
    return RetryPolicy(
        max_attempts=int(spec.get("max_attempts", DEFAULT_RETRY.max_attempts)),
        backoff_seconds=float(spec.get("backoff_seconds", DEFAULT_RETRY.backoff_seconds)),
        backoff_multiplier=float(spec.get("backoff_multiplier", DEFAULT_RETRY.backoff_multiplier)),
        retry_on=frozenset(spec.get("retry_on", DEFAULT_RETRY.retry_on)),
    )


#: What the executor's loop unpacks for a rule (see :meth:`CompiledRule.plan_entry`).
PlanEntry = tuple[
    int,
    str,
    Callable[[Mapping[str, Any], RuleContext], Verdict],
    int,
    tuple[int, ...],
    float,
    bool,
    "CompiledRule",
]


class CompiledRule:
    """One rule of the pipeline, ready to run."""

    __slots__ = (
        "index",
        "rule_id",
        "stage_name",
        "stage_index",
        "rule",
        "evaluate",
        "deps",
        "severity",
        "counts",
        "fails_on",
        "review_on",
        "review_flag",
        "text",
        "timeout",
        "retry",
        "when",
        "enabled",
        "blocking",
        "where",
        "where_network",
        "plan_position",
    )

    def __init__(
        self,
        *,
        index: int,
        rule_id: str,
        stage_name: str,
        stage_index: int,
        rule: Rule,
        deps: tuple[int, ...],
        severity: str,
        timeout: float,
        retry: RetryPolicy | None,
        when: Condition | None,
        enabled: bool,
        blocking: bool,
        on_fail: str = "fail",
        on_error: str = "error",
        on_flag: str = "pass",
        text: DecisionText | None = None,
    ):
        self.index = index
        self.rule_id = rule_id
        self.stage_name = stage_name
        self.stage_index = stage_index
        self.rule = rule
        self.evaluate = rule.evaluate
        #: indexes of every rule this one needs to have passed (own stage and earlier ones)
        self.deps = deps
        self.severity = severity
        #: whether a fail/error/timeout of this rule fails its stage (unless routed to review)
        self.counts = severity == "error"
        #: the outcomes routed to a person (on_fail / on_error: review), whatever the severity
        self.review_on = frozenset(
            ({FAIL} if on_fail == "review" else set()) | ({ERROR, TIMEOUT} if on_error == "review" else set())
        )
        #: the outcomes that fail its stage, and with it the run (fail: failed; error or
        #: timeout: error): an error-severity rule's, less those routed to review
        self.fails_on = frozenset({FAIL, ERROR, TIMEOUT}) - self.review_on if self.counts else frozenset()
        #: a pass the rule flagged for manual review (details.manual_review) goes to a person
        self.review_flag = on_flag == "review"
        #: its reason code, customer message, next step and approvals (rules_engine.decision)
        self.text = text if text is not None else DecisionText(rule_id, None, None, 1)
        #: seconds one attempt may take (math.inf: no limit of its own)
        self.timeout = timeout
        self.retry = retry
        self.when = when
        self.enabled = enabled
        #: the rule may wait on I/O (services, or its own): a late result is "abandoned"
        self.blocking = blocking
        #: where it runs (rules_engine.executor.placement), in runs without network
        #: look-ups and in runs that allow them; set by the builder once the stage is known
        self.where = POOL if blocking else INLINE
        self.where_network = self.where
        #: its place in its stage's execution order (set by CompiledStage)
        self.plan_position = -1

    def simple(self, network: bool) -> bool:
        """Nothing to do but call evaluate inline: the executor's fast path."""
        where = self.where_network if network else self.where
        return self.enabled and self.when is None and self.retry is None and where == INLINE

    def plan_entry(self, network: bool = False) -> PlanEntry:
        """What the executor's loop unpacks for this rule in runs without network
        look-ups (or with them): (index, rule id, evaluate, the only dependency or -1,
        the dependencies when there are several, timeout, simple, the CompiledRule
        itself, always last)."""
        only_dep = self.deps[0] if len(self.deps) == 1 else -1
        several = self.deps if len(self.deps) > 1 else ()
        return (
            self.index,
            self.rule_id,
            self.evaluate,
            only_dep,
            several,
            self.timeout,
            self.simple(network),
            self,
        )

    def __repr__(self) -> str:
        return f"<CompiledRule {self.stage_name}/{self.rule_id}>"


class CompiledStage:
    """One stage: its settings and its rules in execution order."""

    __slots__ = (
        "index",
        "name",
        "enabled",
        "when",
        "fail_fast",
        "parallel",
        "timeout",
        "max_parallel",
        "first",
        "end",
        "plan",
        "plan_network",
    )

    def __init__(
        self,
        *,
        index: int,
        name: str,
        enabled: bool,
        when: Condition | None,
        fail_fast: bool,
        parallel: bool,
        timeout: float,
        max_parallel: int,
        first: int,
        end: int,
        rules_in_order: list[CompiledRule],
    ):
        self.index = index
        self.name = name
        self.enabled = enabled
        self.when = when
        self.fail_fast = fail_fast
        self.parallel = parallel
        #: seconds the whole stage may take (math.inf: no limit)
        self.timeout = timeout
        self.max_parallel = max_parallel
        #: its rules are pipeline.rules[first:end], in document order
        self.first = first
        self.end = end
        #: its rules in dependency order, as executor loop entries: for runs without
        #: network look-ups, and for runs that allow them (the same tuple when no rule
        #: of the stage runs elsewhere then)
        for position, rule in enumerate(rules_in_order):
            rule.plan_position = position
        self.plan = tuple(rule.plan_entry(False) for rule in rules_in_order)
        network_plan = tuple(rule.plan_entry(True) for rule in rules_in_order)
        self.plan_network = self.plan if network_plan == self.plan else network_plan

    def __repr__(self) -> str:
        return f"<CompiledStage {self.name}>"


def config_hash(config: Any) -> str:
    """ "sha256:" + the hex digest of the config's compact UTF-8 JSON, keys in the
    document's own order: order is meaning here (stages run in document order, rules
    in dependency order then document order), so a reordered config is another config."""
    canonical = json.dumps(config, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Monitoring(NamedTuple):
    """``execution_settings.performance_monitoring``: rules slower than
    ``slow_rule_ms`` are flagged in results (None: no flag); with ``alert_on_timeout``
    every timeout is an alert in the result. Off (both unset) without the setting, or
    with ``enabled: false``."""

    slow_rule_ms: float | None
    alert_on_timeout: bool


NO_MONITORING = Monitoring(None, False)


def monitoring(settings: Mapping[str, Any]) -> Monitoring:
    spec = settings.get("performance_monitoring")
    if not isinstance(spec, Mapping) or spec.get("enabled", True) is False:
        return NO_MONITORING
    threshold = spec.get("slow_rule_threshold_ms")
    return Monitoring(
        float(threshold) if threshold is not None else None, bool(spec.get("alert_on_timeout", False))
    )


class Pipeline:
    """A compiled pipeline: run it on as many records as you like, from any thread.

    Rules that wait on I/O that can overlap with other rules, or that only abandoning
    can bound, run on a thread pool that lives as long as the pipeline (created on
    first need; see :mod:`rules_engine.executor.placement`). :meth:`close` (or
    leaving a ``with`` block) shuts it down once the runs in progress have finished; a
    closed pipeline runs nothing more.
    """

    def __init__(
        self,
        *,
        config: dict[str, Any],
        stages: list[CompiledStage],
        rules: list[CompiledRule],
        stop_on_stage_failure: bool,
        pool_size: int,
        monitoring: Monitoring = NO_MONITORING,
    ):
        self.config = config
        self.config_hash = config_hash(config)
        #: the config's own label, shown in every result: its "name" and "version", when given
        self.label = {key: config[key] for key in ("name", "version") if isinstance(config.get(key), str)}
        self.monitoring = monitoring
        self.stages = tuple(stages)
        #: every rule, stage by stage in document order; a rule's ``index`` is its place here
        self.rules = tuple(rules)
        self.rule_index = {rule.rule_id: rule.index for rule in rules}
        self.rule_ids = tuple(rule.rule_id for rule in rules)
        self.stage_index = {stage.name: stage.index for stage in stages}
        self.warning_rules = tuple(rule.index for rule in rules if not rule.counts)
        #: the rules that may route a result to review (rules_engine.decision)
        self.review_rules = tuple(rule.index for rule in rules if rule.review_on or rule.review_flag)
        self.stop_on_stage_failure = stop_on_stage_failure
        self.pool_size = pool_size
        #: where each rule runs (by index) in runs without network look-ups, and with them
        self.placements = tuple(rule.where for rule in rules)
        self.placements_network = tuple(rule.where_network for rule in rules)
        #: whether allowing network look-ups moves a rule (else runs need not ask)
        self.network_moves_rules = self.placements != self.placements_network
        self._uses_pool = POOL in self.placements or POOL in self.placements_network
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._active_runs = 0
        self._closed = False
        # bound here, not imported on every run: the executor imports this module's names
        from rules_engine.executor import run_pipeline

        self._run_pipeline = run_pipeline

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages)

    def pool(self) -> ThreadPoolExecutor:
        """The pipeline's thread pool for blocking rules, created on first use."""
        pool = self._pool
        if pool is None:
            with self._pool_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=self.pool_size, thread_name_prefix="rules-engine"
                    )
                pool = self._pool
        return pool

    def run(
        self,
        record: Mapping[str, Any],
        stages: Iterable[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Run ``record`` through the pipeline (``stages``: only these, by name) and
        return a RunResult. ``record`` is never changed; nothing carries over to the
        next run."""
        run_pipeline = self._run_pipeline
        if self._closed:
            raise RuntimeError("this pipeline has been closed")
        if not self._uses_pool:
            return run_pipeline(self, record, stages, context)
        with self._pool_lock:
            if self._closed:
                raise RuntimeError("this pipeline has been closed")
            self._active_runs += 1
        try:
            return run_pipeline(self, record, stages, context)
        finally:
            with self._pool_lock:
                self._active_runs -= 1
                pool = self._take_pool_if_done()
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    def _take_pool_if_done(self) -> ThreadPoolExecutor | None:
        """The pool, detached, when the pipeline is closed and no run uses it (lock held)."""
        if not self._closed or self._active_runs:
            return None
        pool, self._pool = self._pool, None
        return pool

    def close(self) -> None:
        """No more runs; the thread pool shuts down when the runs in progress end
        (rules still running then are abandoned, not awaited)."""
        with self._pool_lock:
            self._closed = True
            pool = self._take_pool_if_done()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Pipeline {len(self.stages)} stages, {len(self.rules)} rules, {self.config_hash[:19]}>"


def compile_pipeline(
    config: Any, services: Any = None, *, rules: Mapping[str, type[Rule]] | None = None
) -> Pipeline:
    """Validate ``config`` and build its :class:`Pipeline`; raises ConfigError listing
    every problem. ``services``: a ServiceRegistry (default: the simulated adapters);
    ``rules``: rule classes by name (default: the built-in library)."""
    if rules is None:
        rules = default_rules()
    if services is None:
        services = default_services()
    problems = validate_config(config, rules=rules, services=services)
    if problems:
        raise ConfigError(problems)
    config = copy.deepcopy(config)
    return _PipelineBuilder(config, rules, services).build()


class _PipelineBuilder:
    def __init__(self, config: dict[str, Any], rule_classes: Mapping[str, type[Rule]], services: Any):
        self.config = config
        self.rule_classes = rule_classes
        self.services = services
        self.settings = config.get("execution_settings", {})
        default_timeout = self.settings.get("default_timeout")
        self.default_timeout = float(default_timeout) if default_timeout is not None else math.inf
        self.default_retry = DEFAULT_RETRY if self.settings.get("retry_failed_rules") else None
        self.default_max_parallel = int(self.settings.get("max_parallel_rules", DEFAULT_MAX_PARALLEL_RULES))
        self.problems: list[Problem] = []

    def build(self) -> Pipeline:
        stage_configs = self.config["stages"]
        index_of: dict[str, int] = {}
        for stage in stage_configs.values():
            for rule_id in stage["rules"]:
                index_of[rule_id] = len(index_of)
        compiled_rules: list[CompiledRule] = []
        stages: list[CompiledStage] = []
        pool_size = 1
        for stage_position, (stage_name, stage) in enumerate(stage_configs.items()):
            first = len(compiled_rules)
            own = stage["rules"]
            for rule_id, rule_config in own.items():
                compiled = self.compile_rule(rule_id, rule_config, stage_name, stage_position, index_of)
                if compiled is not None:
                    compiled_rules.append(compiled)
            if self.problems:
                continue
            stage_rules = compiled_rules[first:]
            order = topological_order(
                list(own), {r: same_stage_dependencies(rc, own) for r, rc in own.items()}
            )
            by_id = {rule.rule_id: rule for rule in stage_rules}
            max_parallel = int(stage.get("max_parallel_rules", self.default_max_parallel))
            parallel = bool(stage.get("parallel_execution", False))
            for rule in stage_rules:
                rule.where = placement(rule.rule, parallel=parallel, max_parallel=max_parallel, network=False)
                rule.where_network = placement(
                    rule.rule, parallel=parallel, max_parallel=max_parallel, network=True
                )
            timeout = stage.get("timeout_seconds")
            stages.append(
                CompiledStage(
                    index=stage_position,
                    name=stage_name,
                    enabled=bool(stage.get("enabled", True)),
                    when=Condition(stage["when"]) if "when" in stage else None,
                    fail_fast=bool(stage.get("fail_fast", False)),
                    parallel=parallel,
                    timeout=float(timeout) if timeout is not None else math.inf,
                    max_parallel=max_parallel,
                    first=first,
                    end=len(compiled_rules),
                    rules_in_order=[by_id[r] for r in order],
                )
            )
            pool_size = max(pool_size, max_parallel if parallel else 1)
        if self.problems:
            raise ConfigError(self.problems)
        # headroom for calls abandoned at their timeout, which keep a worker until they return
        return Pipeline(
            config=self.config,
            stages=stages,
            rules=compiled_rules,
            stop_on_stage_failure=bool(self.settings.get("stop_on_stage_failure", False)),
            monitoring=monitoring(self.settings),
            pool_size=2 * pool_size + 4,
        )

    def compile_rule(
        self,
        rule_id: str,
        rule_config: dict[str, Any],
        stage_name: str,
        stage_position: int,
        index_of: dict[str, int],
    ) -> CompiledRule | None:
        rule_class = self.rule_classes[rule_config["class"]]
        params = rule_config.get("params", {})
        path = ["stages", stage_name, "rules", rule_id]
        try:
            bound = {
                slot: self.services.resolve(ref) for slot, ref in rule_class.service_refs(params).items()
            }
            rule = rule_class(rule_id, copy.deepcopy(params), bound)
            blocking = bool(rule.blocking)
        except Exception as error:  # noqa: BLE001 - a rule that cannot be built is a config problem
            self.problems.append(
                Problem(pointer(path), f"The rule could not be set up: {type(error).__name__}: {error}")
            )
            return None
        deps = tuple(
            index_of[d]
            for d in (*rule_config.get("cross_stage_dependencies", ()), *rule_config.get("dependencies", ()))
        )
        timeout = rule_config.get("timeout_seconds")
        retry = rule_config.get("retry")
        return CompiledRule(
            index=index_of[rule_id],
            rule_id=rule_id,
            stage_name=stage_name,
            stage_index=stage_position,
            rule=rule,
            deps=tuple(dict.fromkeys(deps)),
            severity=rule_config.get("severity", "error"),
            timeout=float(timeout) if timeout is not None else self.default_timeout,
            retry=retry_policy(retry) if retry is not None else self.default_retry,
            when=Condition(rule_config["when"]) if "when" in rule_config else None,
            enabled=bool(rule_config.get("enabled", True)),
            blocking=blocking,
            on_fail=rule_config.get("on_fail", "fail"),
            on_error=rule_config.get("on_error", "error"),
            on_flag=rule_config.get("on_flag", "pass"),
            text=decision_text(rule_id, rule_config, self.config["stages"][stage_name]),
        )
