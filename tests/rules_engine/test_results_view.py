"""``ctx.results``: the verdicts finished so far, walked straight off the executor's list."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from rules_engine.executor.state import ResultsView
from rules_engine.rule import RuleContext, Verdict, failed, newest_first, passed

IDS = ("a", "b", "c", "d")
INDEX = {rule_id: i for i, rule_id in enumerate(IDS)}


def view_with(verdicts: list[Verdict | None]) -> ResultsView:
    return ResultsView(verdicts, IDS, INDEX)


def test_results_view__some_rules_unfinished__lists_the_finished_ones_in_pipeline_order():
    # Given a and c finished, b and d not yet
    a, c = passed("ok"), failed("no", {"x": 1})
    view = view_with([a, None, c, None])
    # When it is walked every way a rule may walk it
    # Then only the finished rules appear, in pipeline order, and backwards newest first
    assert list(view) == list(view.keys()) == ["a", "c"]
    assert list(view.values()) == [a, c]
    assert list(view.items()) == [("a", a), ("c", c)]
    assert list(reversed(view.values())) == [c, a]
    assert list(reversed(view.items())) == [("c", c), ("a", a)]
    assert len(view) == len(view.items()) == len(view.values()) == 2
    assert ("c", c) in view.items() and a in view.values() and "b" not in view.keys()
    assert dict(view) == {"a": a, "c": c}


def test_results_view__walked__never_looks_an_id_up(monkeypatch):
    # Given a view whose lookup by id must not be used to walk it
    view = view_with([passed("ok"), passed("ok", {"k": 1}), None, failed("no")])

    def no_lookup(self, rule_id):
        raise AssertionError(f"looked up {rule_id}")

    monkeypatch.setattr(ResultsView, "__getitem__", no_lookup)
    # When it is walked by ids, values and items
    # Then each comes off the verdict list as it stands
    assert [rule_id for rule_id, _ in view.items()] == ["a", "b", "d"]
    assert [v.outcome for v in view.values()] == ["pass", "pass", "fail"]
    assert RuleContext("e", {}, view).find_detail("k") == 1


@pytest.mark.parametrize("kind", ["view", "dict", "plain mapping"])
def test_newest_first__any_results_mapping__latest_rule_first(kind):
    # Given the same finished results as the executor's view, a dict, and a mapping
    # whose values cannot be walked backwards
    a, c = passed("ok"), failed("no")
    if kind == "view":
        results = view_with([a, None, c, None])
    elif kind == "dict":
        results = {"a": a, "c": c}
    else:
        results = PlainMapping({"a": a, "c": c})
    # When they are read newest first
    # Then the latest finished rule comes first
    assert list(newest_first(results)) == [c, a]


class PlainMapping(Mapping[str, Verdict]):
    """A read-only mapping with nothing but the Mapping basics (its values do not go backwards)."""

    def __init__(self, items: dict[str, Verdict]):
        self._items = items

    def __getitem__(self, rule_id: str) -> Verdict:
        return self._items[rule_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
