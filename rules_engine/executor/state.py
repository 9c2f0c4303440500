"""Per-run state: the working copy of the record, the verdicts so far, the skip kinds."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from datetime import UTC, datetime
from itertools import compress
from operator import itemgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from rules_engine.rule import FAIL, SKIP, RuleContext, Verdict
from rules_engine.rules.record_values import network_allowed

if TYPE_CHECKING:  # pragma: no cover
    from rules_engine.compiler import CompiledRule, Pipeline


_NO_DETAILS: Mapping[str, Any] = MappingProxyType({})
_ATOMIC = (str, int, float, bool, type(None))
_ATOMIC_TYPES = frozenset(_ATOMIC)

# Why a rule was skipped (see _Run.skip).
OPEN = 0
CONDITIONAL = 1
DISABLED = 2


class ResultsView(Mapping[str, Verdict]):
    """``ctx.results``: the verdicts of the rules finished so far, by rule id, in
    pipeline order. A live view for inline rules; a snapshot for pool rules.

    Rules that aggregate earlier results walk it on every record, so iterating it
    (ids, ``values()``, ``items()``) runs at C level over the verdict list, never
    looking each id up again."""

    __slots__ = ("_verdicts", "_ids", "_index")

    def __init__(self, verdicts: list[Verdict | None], ids: tuple[str, ...], index: Mapping[str, int]):
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
        return isinstance(rule_id, str) and self.get(rule_id) is not None

    # A verdict is a non-empty tuple, so a finished rule's entry is true and an
    # unfinished one (None) false: compress and filter pick the finished ones.

    def __iter__(self) -> Iterator[str]:
        return compress(self._ids, self._verdicts)

    def __len__(self) -> int:
        verdicts = self._verdicts
        return len(verdicts) - verdicts.count(None)

    def keys(self) -> KeysView[str]:
        return KeysView(self)

    def values(self) -> ValuesView[Verdict]:
        return _ResultValues(self)

    def items(self) -> ItemsView[str, Verdict]:
        return _ResultItems(self)


class _ResultValues(ValuesView[Verdict]):
    __slots__ = ()
    _mapping: ResultsView

    def __iter__(self) -> Iterator[Verdict]:
        return filter(None, self._mapping._verdicts)

    def __reversed__(self) -> Iterator[Verdict]:
        return filter(None, reversed(self._mapping._verdicts))


class _ResultItems(ItemsView[str, Verdict]):
    __slots__ = ()
    _mapping: ResultsView

    def __iter__(self) -> Iterator[tuple[str, Verdict]]:
        view = self._mapping
        verdicts = view._verdicts
        pairs = cast("zip[tuple[str, Verdict]]", zip(view._ids, verdicts, strict=True))
        return compress(pairs, verdicts)

    def __reversed__(self) -> Iterator[tuple[str, Verdict]]:
        view = self._mapping
        return filter(itemgetter(1), zip(reversed(view._ids), reversed(view._verdicts), strict=True))


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
        "network",
        "where",
    )

    def __init__(self, pipeline: Pipeline, record: Mapping[str, Any], context: Mapping[str, Any] | None):
        self.pipeline = pipeline
        self.data = _working_copy(record)
        self.view = MappingProxyType(self.data)
        # "now" first, then the caller's context (which may give "now" itself)
        if context:
            now = context["now"] if "now" in context else datetime.now(UTC).isoformat()
            run_context = {"now": now}
            run_context.update(context)
        else:
            run_context = {"now": datetime.now(UTC).isoformat()}
        self.context = run_context
        self.context_view = MappingProxyType(run_context)
        count = len(pipeline.rules)
        self.verdicts: list[Verdict | None] = [None] * count
        self.durations = [0.0] * count
        # 1 unless the rule was retried or never ran (0)
        self.attempts = [1] * count
        self.changes: list[tuple[str, Any, Any, str]] = []
        self.notes: list[dict[str, Any]] = []
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
        #: whether this run allows network look-ups, as far as it moves a rule
        self.network = pipeline.network_moves_rules and network_allowed(run_context)
        #: where each rule runs in this run (rules_engine.executor.placement), by index
        self.where = pipeline.placements_network if self.network else pipeline.placements

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
        elif outcome in rule.fails_on:  # error severity, not routed to review
            if outcome == FAIL:
                self.any_failed = True
            else:
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


def _working_copy(record: Mapping[str, Any]) -> dict[str, Any]:
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


def _copy_shell(value: Any, stack: list[tuple[Any, Any]]) -> Any:
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
