"""Mutated and garbage configs through validate_config and compile_pipeline, with the
real rule library and the simulated services.

Starting from the two example configs (both valid), each example applies one to three
mutations: a value of the wrong type anywhere, a required key removed, an unknown rule
class, a dependency cycle, a dangling dependency, an unknown key (RTL, zero-width,
emoji or lone-surrogate text included), a number past the edges (10**1000, NaN,
Infinity) or a value nested thousands of levels deep. Whatever comes out:

- validate_config returns problems and never raises; compile_pipeline raises
  ConfigError with exactly those problems, or compiles when there are none;
- every problem has a JSON pointer whose parent exists in the document, and a message,
  both printable as UTF-8 (they end up in API responses and pages);
- a mutation that makes the config invalid is reported at (or under) where it was made;
- a config that still compiles runs records to a strict-JSON result.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import rules_engine
from rules_engine.rules import default_rule_registry
from rules_engine.schema import pipeline_schema
from rules_engine.validation import _sort_key, pointer
from tests.reliability.bad_input import nasty

EXAMPLES = Path(__file__).resolve().parents[3] / "rules_engine" / "examples"
SEEDS = {
    name: json.loads((EXAMPLES / name).read_text())
    for name in ("customer_onboarding.json", "pipeline_config.json")
}
RULE_CLASSES = default_rule_registry()
SCHEMA = pipeline_schema()
ALLOWED_KEYS = {
    "config": set(SCHEMA["properties"]),
    "stage": set(SCHEMA["$defs"]["stage"]["properties"]),
    "rule": set(SCHEMA["$defs"]["rule"]["properties"]),
}
SETTINGS = nasty.examples(200)
RECORD = {
    "name": "Maria Garcia",
    "email": "maria.garcia@example.com",
    "phone": "(212) 555-0147",
    "date_of_birth": "1990-04-12",
    "state": "NY",
    "zip_code": "10118",
}


# ------------------------------------------------------------------ helpers


def all_paths(value):
    """The path of every value inside ``value`` (not the root itself), in document order."""
    found, stack = [], [((), value)]
    while stack:
        prefix, item = stack.pop()
        children = (
            item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        )
        for key, child in reversed(list(children)):
            stack.append((prefix + (key,), child))
        if prefix:
            found.append(prefix)
    return found


def get(document, path):
    for part in path:
        document = document[part]
    return document


def resolve(document, json_pointer: str):
    """The value a JSON pointer names (KeyError/IndexError/ValueError when it names none)."""
    node = document
    if json_pointer == "":
        return node
    for raw in json_pointer[1:].split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(key)]
        elif isinstance(node, dict):
            node = node[key]
        else:
            raise KeyError(json_pointer)
    return node


def not_plain_json(value, depth=0) -> bool:
    """True when ``value`` holds what JSON cannot carry safely: non-finite numbers,
    integers past 64 bits, text that is not valid Unicode or holds NUL, or nesting past
    64 levels."""
    stack = [(value, depth)]
    while stack:
        item, level = stack.pop()
        if level > 64:
            return True
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str) or not_plain_json(key):
                    return True
                stack.append((child, level + 1))
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
        elif isinstance(item, str):
            if "\x00" in item:
                return True
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, float) and not math.isfinite(item):
            return True
        elif isinstance(item, int) and not isinstance(item, bool) and not -(2**63) <= item < 2**63:
            return True
    return False


def rule_paths(config):
    return [("stages", s, "rules", r) for s, stage in config["stages"].items() for r in stage["rules"]]


# ---------------------------------------------------------------- mutations
# Each takes (draw, config), changes config in place and returns the pointer under
# which a problem must be reported, or None when the change may happen to be valid.
# A config that is not plain JSON data (nested too deeply, NaN, 10**1000, lone
# surrogates) is reported for that alone: only those problems are expected then.


def wrong_type(draw, config):
    path = draw(st.sampled_from(all_paths(config)))
    value = draw(nasty.garbage)
    get(config, path[:-1])[path[-1]] = value
    return pointer(path) if not_plain_json(value) else None


def remove_required(draw, config):
    stage = draw(st.sampled_from(sorted(config["stages"])))
    choices = [("stages",), ("stages", stage, "rules")]
    choices += [path + ("class",) for path in rule_paths(config)]
    path = draw(st.sampled_from(choices))
    get(config, path[:-1]).pop(path[-1], None)
    return pointer(path)


def unknown_class(draw, config):
    path = draw(st.sampled_from(rule_paths(config)))
    name = draw(nasty.any_text.filter(lambda text: text not in RULE_CLASSES))
    get(config, path)["class"] = name
    return pointer(path + ("class",))


def dependency_cycle(draw, config):
    stages = [s for s, stage in config["stages"].items() if len(stage["rules"]) >= 2]
    stage = draw(st.sampled_from(stages))
    first, second = draw(st.permutations(list(config["stages"][stage]["rules"])))[:2]
    rules = config["stages"][stage]["rules"]
    rules[first]["dependencies"] = [second]
    rules[second]["dependencies"] = [first]
    rules[first].pop("cross_stage_dependencies", None)
    rules[second].pop("cross_stage_dependencies", None)
    return pointer(("stages", stage, "rules"))


def dangling_dependency(draw, config):
    path = draw(st.sampled_from(rule_paths(config)))
    rule = get(config, path)
    every_id = {r for s in config["stages"].values() for r in s["rules"]}
    missing = draw(nasty.any_text.filter(lambda text: text and text not in every_id))
    rule["dependencies"] = list(rule.get("dependencies") or []) + [missing]
    return pointer(path + ("dependencies", len(rule["dependencies"]) - 1))


def unknown_key(draw, config):
    stage = draw(st.sampled_from(sorted(config["stages"])))
    kind, path = draw(
        st.sampled_from(
            [("config", ()), ("stage", ("stages", stage))] + [("rule", p) for p in rule_paths(config)]
        )
    )
    key = draw(nasty.any_text.filter(lambda text: text not in ALLOWED_KEYS[kind]))
    get(config, path)[key] = draw(nasty.scalars)
    return pointer(path + (key,))


def number_past_the_edge(draw, config):
    stage = draw(st.sampled_from(sorted(config["stages"])))
    rule = draw(st.sampled_from(list(config["stages"][stage]["rules"])))
    path = draw(
        st.sampled_from(
            [
                ("stages", stage, "timeout_seconds"),
                ("stages", stage, "max_parallel_rules"),
                ("stages", stage, "rules", rule, "timeout_seconds"),
                ("stages", stage, "rules", rule, "retry", "max_attempts"),
                ("stages", stage, "rules", rule, "retry", "backoff_seconds"),
            ]
        )
    )
    # every one of these is out of range for each of those settings (backoff_seconds may be 0)
    value = draw(st.sampled_from([nasty.HUGE_INT, -nasty.HUGE_INT, 2**64, math.inf, -math.inf, math.nan, -1]))
    holder = get(config, path[:-2]) if path[-2] == "retry" else get(config, path[:-1])
    if path[-2] == "retry":
        holder = holder.setdefault("retry", {})
    holder[path[-1]] = value
    return pointer(path)


def deeply_nested(draw, config):
    path = draw(st.sampled_from(all_paths(config)))
    get(config, path[:-1])[path[-1]] = draw(nasty.deep_values)
    return pointer(path)


MUTATIONS = [
    wrong_type,
    remove_required,
    unknown_class,
    dependency_cycle,
    dangling_dependency,
    unknown_key,
    number_past_the_edge,
    deeply_nested,
]


class Mutated:
    """A mutated config and where its problems must show; printed short (hypothesis
    cannot pretty-print a value nested thousands of levels deep)."""

    def __init__(self, config, expected):
        self.config, self.expected = config, expected

    def __repr__(self) -> str:
        try:
            text = json.dumps(self.config, default=repr)[:3000]
        except (RecursionError, ValueError):
            text = "<nested too deeply to print>"
        return f"Mutated(expected={self.expected!r}, config={text})"


@st.composite
def mutated_configs(draw):
    name = draw(st.sampled_from(sorted(SEEDS)))
    config = copy.deepcopy(SEEDS[name])
    expected = []
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3)):
        if (
            not isinstance(config.get("stages"), dict)
            or not config["stages"]
            or not all(
                isinstance(s, dict)
                and isinstance(s.get("rules"), dict)
                and s["rules"]
                and all(isinstance(r, dict) for r in s["rules"].values())
                for s in config["stages"].values()
            )
        ):
            break  # an earlier mutation broke the structure the next one needs
        where = mutation(draw, config)
        if where is not None:
            expected.append((mutation.__name__, where, _at(config, _parent(where)), _at(config, where)))
    # a later mutation may have replaced what an earlier one made: expect only what is still there
    expected = [
        (name, where)
        for name, where, parent, value in expected
        if _at(config, _parent(where)) is parent and _at(config, where) is value
    ]
    if not_plain_json(config):  # only what makes it so is reported, wherever it is
        expected = [
            (name, where)
            for name, where in expected
            if not_plain_json(_at(config, where)) or not_plain_json(where.rsplit("/", 1)[-1])
        ]
    return Mutated(config, expected)


_GONE = object()


def _parent(where: str) -> str:
    return where.rsplit("/", 1)[0]


def _at(config, where):
    try:
        return resolve(config, where)
    except (KeyError, IndexError, ValueError, TypeError):
        return _GONE


# ------------------------------------------------------------------ checks


def check_problems(config, problems):
    assert isinstance(problems, list)
    assert problems == sorted(problems, key=_sort_key), "problems come sorted by path"
    assert len(problems) == len(set(problems)), "each problem once"
    for problem in problems:
        assert isinstance(problem, rules_engine.Problem)
        assert problem.path == "" or problem.path.startswith("/"), problem
        assert isinstance(problem.message, str) and problem.message.strip(), problem
        # shown in pages and API responses: both must be valid UTF-8 text
        problem.path.encode("utf-8")
        problem.message.encode("utf-8")
        parent = problem.path.rsplit("/", 1)[0] if problem.path else ""
        try:
            resolve(config, parent)
        except (KeyError, IndexError, ValueError, TypeError):
            pytest.fail(f"the problem's path does not point into the document: {problem}")


def related(problem_path: str, where: str) -> bool:
    """A problem at the mutation, under it, or on the object holding it."""
    where = where.encode("utf-8", "backslashreplace").decode("utf-8")  # as problems print lone surrogates
    return (
        problem_path == where or problem_path.startswith(where + "/") or where.startswith(problem_path + "/")
    )


@SETTINGS
@given(mutated_configs())
def test_validate_and_compile__mutated_example_config__problems_with_paths_or_a_working_pipeline(case):
    # Given an example config after one to three hostile mutations
    config, expected = case.config, case.expected
    # When it is validated
    problems = rules_engine.validate_config(config)
    # Then the answer is a list of problems, each pointing into the document
    check_problems(config, problems)
    for mutation, where in expected:
        assert any(related(p.path, where) for p in problems), (mutation, where, [str(p) for p in problems])
    assert rules_engine.validate_config(config) == problems, "validation is repeatable"
    # and compiling raises ConfigError with the same problems, or gives a pipeline that runs
    try:
        pipeline = rules_engine.compile_pipeline(config)
    except rules_engine.ConfigError as error:
        assert problems and error.problems == problems
        str(error).encode("utf-8")
        return
    assert problems == []
    with pipeline:
        for record in (RECORD, {}, {"name": nasty.EMOJI, "email": nasty.AWKWARD_TEXT["rtl override"]}):
            result = pipeline.run(record, context={"now": "2024-06-01T12:00:00+00:00"}).to_dict()
            assert json.loads(json.dumps(result, allow_nan=False))["status"] in ("passed", "failed", "error")


@pytest.mark.parametrize(
    "value,where",
    [
        (nasty.nested_list(5000), "/stages/preprocessing/rules/trim_whitespace/params/fields"),
        (nasty.nested_dict(5000), "/stages/preprocessing/description"),
        (nasty.HUGE_INT, "/stages/preprocessing/timeout_seconds"),
        (math.nan, "/stages/preprocessing/timeout_seconds"),
        (math.inf, "/stages/preprocessing/max_parallel_rules"),
        ({"\ud800": 1}, "/stages/preprocessing/rules/trim_whitespace/params"),
        ("\udfff", "/stages/preprocessing/rules/trim_whitespace/class"),
        ({1: "not a text key"}, "/stages/preprocessing/rules/trim_whitespace/params"),
        ({"when": "record" + ".a" * 20_000}, "/stages/preprocessing/rules/trim_whitespace"),
        ({"when": "1 + " * 20_000 + "1 == 2"}, "/stages/preprocessing/rules/trim_whitespace"),
    ],
)
def test_validate__value_no_json_tool_survives__one_problem_there_and_no_crash(value, where):
    # Given the onboarding example with one value that breaks naive JSON handling
    # (deep nesting, a 1001-digit integer, NaN, Infinity, lone surrogates, a non-text
    # key, a `when` condition long enough to overflow the CEL parser's stack)
    config = copy.deepcopy(SEEDS["customer_onboarding.json"])
    parts = [p for p in where.split("/") if p]
    holder = get(config, parts[:-1])
    if isinstance(value, dict) and set(value) == {"when"}:
        get(config, parts)["when"] = value["when"]
        where += "/when"
    else:
        holder[parts[-1]] = value
    # When it is validated and compiled
    problems = rules_engine.validate_config(config)
    # Then a problem points at it, and compiling refuses with the same problems
    check_problems(config, problems)
    assert any(related(p.path, where) for p in problems), [str(p) for p in problems]
    with pytest.raises(rules_engine.ConfigError) as refused:
        rules_engine.compile_pipeline(config)
    assert refused.value.problems == problems
