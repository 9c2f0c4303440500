"""Properties that must hold for any config and any record (hypothesis)."""

from __future__ import annotations

import copy
import graphlib
import json
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules_engine
from rules_engine.validation import _sort_key
from tests.rules_engine.testing_rules import rules_for_tests, services_for_tests

RULES = rules_for_tests()
SERVICES = services_for_tests()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
records = st.dictionaries(
    st.sampled_from(["name", "email", "phone", "x", "y", "nested"]) | st.text(max_size=5),
    json_values,
    max_size=6,
)


# ------------------------------------------------------------------ random DAGs


@st.composite
def dag_pipelines(draw):
    """A config of 1-3 stages whose rules depend on rules generated before them (a DAG),
    listed in a shuffled order; some rules fail, some are blocking."""
    stage_count = draw(st.integers(1, 3))
    rule_count = draw(st.integers(1, 12))
    stage_of = sorted(
        draw(st.lists(st.integers(0, stage_count - 1), min_size=rule_count, max_size=rule_count))
    )
    parallel = [draw(st.booleans()) for _ in range(stage_count)]
    rules = []
    for i in range(rule_count):
        earlier = list(range(i))
        deps = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) if earlier else []
        outcome = draw(st.sampled_from(["pass", "pass", "pass", "fail", "skip"]))
        blocking = draw(st.booleans())
        rules.append(
            {"id": f"r{i}", "stage": stage_of[i], "deps": deps, "outcome": outcome, "blocking": blocking}
        )
    order = draw(st.permutations(range(rule_count)))
    stages = {
        f"s{s}": {"parallel_execution": parallel[s], "max_parallel_rules": 3, "rules": {}}
        for s in range(stage_count)
    }
    for i in order:
        rule = rules[i]
        config = {
            "class": "OutcomeRule",
            "params": {"outcome": rule["outcome"], "blocking": rule["blocking"]},
        }
        same = [f"r{d}" for d in rule["deps"] if rules[d]["stage"] == rule["stage"]]
        cross = [f"r{d}" for d in rule["deps"] if rules[d]["stage"] != rule["stage"]]
        if same:
            config["dependencies"] = same
        if cross:
            config["cross_stage_dependencies"] = cross
        stages[f"s{rule['stage']}"]["rules"][rule["id"]] = config
    return {"stages": stages}, rules


@SETTINGS
@given(dag_pipelines())
def test_run__random_dag__rules_run_only_after_their_dependencies_passed(case):
    # Given a random DAG of rules
    config, rules = case
    with rules_engine.compile_pipeline(config, SERVICES, rules=RULES) as pipeline:
        # When a record runs, tracing the order rules start in
        trace: list[str] = []
        result = pipeline.run({}, context={"trace": trace})
    outcomes = {r.id: r.outcome for r in result.rules()}
    position = {rule_id: i for i, rule_id in enumerate(trace)}
    # Then each rule ran at most once, after all its dependencies, which all passed
    assert len(trace) == len(set(trace))
    for rule in rules:
        deps = [f"r{d}" for d in rule["deps"]]
        if rule["id"] in position:
            for dep in deps:
                assert dep in position and position[dep] < position[rule["id"]], (rule, trace)
                assert outcomes[dep] == "pass"
        # and a rule whose dependencies all passed did run (no fail_fast, no stop here)
        elif all(outcomes[dep] == "pass" for dep in deps):
            raise AssertionError(f"{rule['id']} did not run although its dependencies passed: {trace}")
        else:
            assert outcomes[rule["id"]] == "skip"


# ------------------------------------------------------------------ cycles


@st.composite
def random_graphs(draw):
    count = draw(st.integers(2, 8))
    ids = [f"r{i}" for i in range(count)]
    edges = {
        rule_id: draw(st.lists(st.sampled_from([o for o in ids if o != rule_id]), unique=True, max_size=3))
        for rule_id in ids
    }
    return edges


@SETTINGS
@given(random_graphs())
def test_validate__random_dependency_graph__reports_a_cycle_exactly_when_there_is_one(edges):
    # Given a stage whose rules depend on each other at random
    config = {
        "stages": {
            "s": {
                "rules": {
                    rule_id: {"class": "OutcomeRule", "dependencies": deps} for rule_id, deps in edges.items()
                }
            }
        }
    }
    # When it is validated
    problems = rules_engine.validate_config(config, rules=RULES, services=SERVICES)
    reported = [p for p in problems if "in a circle" in p.message]
    # Then a cycle is reported if and only if the graph has one, and nothing else is wrong
    try:
        graphlib.TopologicalSorter(edges).prepare()
        has_cycle = False
    except graphlib.CycleError:
        has_cycle = True
    assert bool(reported) == has_cycle
    assert len(reported) == len(problems)
    for problem in reported:
        cycle = problem.message.rsplit(": ", 1)[1].rstrip(".").split(" -> ")
        assert cycle[0] == cycle[-1]
        for a, b in pairwise(cycle):
            assert b in edges[a]


# ------------------------------------------------------------------ records

PIPELINE = rules_engine.compile_pipeline(
    {
        "stages": {
            "pre": {
                "rules": {
                    "upper": {"class": "SetFieldRule", "params": {"field": "name", "upper": True}},
                    "nest": {
                        "class": "SetFieldRule",
                        "params": {"field": "nested", "value": {"a": [1, 2.5, None]}},
                    },
                }
            },
            "dq": {
                "parallel_execution": True,
                "rules": {
                    "email": {"class": "CheckFieldRule", "params": {"field": "email"}},
                    "peek": {"class": "PeekResultsRule", "params": {"blocking": True}},
                    "when": {"class": "OutcomeRule", "when": "has(record.x) && record.x == 1"},
                },
            },
        }
    },
    SERVICES,
    rules=RULES,
)


@SETTINGS
@given(records)
def test_run__any_record__is_never_mutated_and_gives_plain_json(record):
    # Given any JSON-like record (NaN and infinities included)
    snapshot = copy.deepcopy(record)
    # When it runs through a pipeline that transforms fields
    result = PIPELINE.run(record)
    # Then the input is untouched and the result is strict JSON
    assert json.dumps(record, sort_keys=True, default=repr) == json.dumps(
        snapshot, sort_keys=True, default=repr
    )
    out = result.to_dict()
    text = json.dumps(out, allow_nan=False)
    assert json.loads(text)["status"] in ("passed", "failed", "error")


# ------------------------------------------------------------------ junk configs

KEYS = [
    "class",
    "params",
    "dependencies",
    "cross_stage_dependencies",
    "severity",
    "timeout_seconds",
    "retry",
    "when",
    "enabled",
    "rules",
    "fail_fast",
    "parallel_execution",
    "max_parallel_rules",
    "stages",
    "execution_settings",
    "dependancies",
    "version",
]
junk_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 3),
        st.floats(allow_nan=True),
        st.sampled_from(
            [
                "",
                "CheckFieldRule",
                "OutcomeRule",
                "r1",
                "r2",
                "s1",
                "error",
                "warning",
                "record.x == 1",
                "((",
                "service:EchoService:x",
            ]
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(KEYS) | st.sampled_from(["r1", "r2", "s1", "a/b~"]), inner, max_size=4
        ),
    ),
    max_leaves=20,
)
junk_configs = st.one_of(
    junk_values,
    st.fixed_dictionaries(
        {
            "stages": st.dictionaries(
                st.sampled_from(["s1", "s2"]),
                st.fixed_dictionaries(
                    {
                        "rules": st.dictionaries(
                            st.sampled_from(["r1", "r2", "r3"]),
                            st.dictionaries(st.sampled_from(KEYS), junk_values, max_size=4),
                            max_size=3,
                        )
                    },
                    optional={"when": junk_values, "fail_fast": junk_values},
                ),
                max_size=2,
            )
        },
        optional={"execution_settings": junk_values},
    ),
)


@SETTINGS
@given(junk_configs)
def test_compile__junk_config__raises_only_config_error_with_pointer_paths(config):
    # Given any junk document
    # When it is validated and compiled
    problems = rules_engine.validate_config(config, rules=RULES, services=SERVICES)
    try:
        pipeline = rules_engine.compile_pipeline(config, SERVICES, rules=RULES)
    except rules_engine.ConfigError as error:
        problems = error.problems
        # Then only ConfigError, with problems whose paths are JSON pointers and messages sentences
        assert problems
        for problem in problems:
            assert isinstance(problem.path, str) and (problem.path == "" or problem.path.startswith("/"))
            assert isinstance(problem.message, str) and problem.message
        if problems == rules_engine.validate_config(config, rules=RULES, services=SERVICES):
            assert problems == sorted(problems, key=_sort_key)
        return
    # or it is valid: validation found nothing, and running a record works
    assert problems == []
    with pipeline:
        json.dumps(pipeline.run({"x": 1}, context={"attempts": {}}).to_dict(), allow_nan=False)


# ------------------------------------------------------------------ decisions


@st.composite
def decision_pipelines(draw):
    """A random DAG of rules in 1-3 stages, each rule passing, failing (error or warning
    severity), skipping itself, skipped by a false `when`, or sending its result to
    review (a fail under on_fail: review, a flagged pass under on_flag: review, at either
    severity); some rules disabled, always
    together with every rule that depends on them (as validation requires)."""
    stage_count = draw(st.integers(1, 3))
    rule_count = draw(st.integers(1, 10))
    stage_of = sorted(
        draw(st.lists(st.integers(0, stage_count - 1), min_size=rule_count, max_size=rule_count))
    )
    rules = []
    for i in range(rule_count):
        deps = draw(st.lists(st.sampled_from(range(i)), unique=True, max_size=3)) if i else []
        rules.append(
            {
                "id": f"r{i}",
                "stage": stage_of[i],
                "deps": deps,
                "behaviour": draw(
                    st.sampled_from(["pass", "pass", "pass", "fail", "warn", "skip", "when", "refer", "flag"])
                ),
                "warning": draw(st.booleans()),
                "blocking": draw(st.booleans()),
                "disabled": draw(st.booleans()) and draw(st.booleans()),
            }
        )
    for rule in rules:  # a rule depending on a disabled one is disabled too
        if any(rules[d]["disabled"] for d in rule["deps"]):
            rule["disabled"] = True
    stages = {
        f"s{s}": {"parallel_execution": draw(st.booleans()), "max_parallel_rules": 2, "rules": {}}
        for s in range(stage_count)
    }
    for i in draw(st.permutations(range(rule_count))):
        rule = rules[i]
        outcome = {"fail": "fail", "warn": "fail", "skip": "skip", "refer": "fail"}.get(
            rule["behaviour"], "pass"
        )
        config = {"class": "OutcomeRule", "params": {"outcome": outcome, "blocking": rule["blocking"]}}
        if rule["behaviour"] == "warn":
            config["severity"] = "warning"
        if rule["behaviour"] == "refer":
            config["on_fail"] = "review"
        if rule["behaviour"] == "flag":
            config["on_flag"] = "review"
            config["params"]["details"] = {"manual_review": True}
        if rule["behaviour"] in ("refer", "flag") and rule["warning"]:
            config["severity"] = "warning"
        if rule["behaviour"] == "when":
            config["when"] = "1 == 2"
        if rule["disabled"]:
            config["enabled"] = False
        same = [f"r{d}" for d in rule["deps"] if rules[d]["stage"] == rule["stage"]]
        cross = [f"r{d}" for d in rule["deps"] if rules[d]["stage"] != rule["stage"]]
        if same:
            config["dependencies"] = same
        if cross:
            config["cross_stage_dependencies"] = cross
        stages[f"s{rule['stage']}"]["rules"][rule["id"]] = config
    return {"stages": stages}, rules


def expected_status(rules: list[dict]) -> tuple[str, set[str], set[str]]:
    """The status the documented semantics give, worked out rule by rule in index order
    (every dependency has a lower index), the rules left open (checks not run) and the
    rules that sent their result to review. A result sent to review satisfies the rules
    depending on it."""
    kind: dict[int, str] = {}
    for i, rule in enumerate(rules):
        dep_kinds = [kind[d] for d in rule["deps"]]
        if rule["disabled"]:
            kind[i] = "disabled"
        elif any(k not in ("pass", "conditional", "referred") for k in dep_kinds):
            kind[i] = "open"
        elif "conditional" in dep_kinds:
            kind[i] = "conditional"
        else:
            kind[i] = {
                "pass": "pass",
                "fail": "failed",
                "warn": "warned",
                "skip": "open",
                "when": "conditional",
                "refer": "referred",
                "flag": "referred",
            }[rule["behaviour"]]
    open_rules = {rules[i]["id"] for i, k in kind.items() if k == "open"}
    referred = {rules[i]["id"] for i, k in kind.items() if k == "referred"}
    if "failed" in kind.values():
        return "failed", open_rules, referred
    if open_rules:
        return "undecided", open_rules, referred
    return ("review" if referred else "passed"), open_rules, referred


@SETTINGS
@given(decision_pipelines())
def test_run__random_decisions__passed_only_when_every_enabled_rule_passed_warned_or_was_conditional(case):
    # Given a random DAG of passing, failing, warning, self-skipping and conditional rules,
    # sequential or parallel, some disabled with their dependents
    config, rules = case
    assert rules_engine.validate_config(config, rules=RULES, services=SERVICES) == []
    # When a record runs
    with rules_engine.compile_pipeline(config, SERVICES, rules=RULES) as pipeline:
        result = pipeline.run({})
    # Then the status is what the semantics say, and an undecided run names exactly
    # the rules whose checks did not run, in its undecided list and its reasons; a run
    # in review names exactly the rules that sent it there
    status, open_rules, referred = expected_status(rules)
    assert result.status == status, (status, result.to_dict())
    decision = result.decision()
    assert decision["status"] == status
    if status == "undecided":
        assert {entry["rule"] for entry in result.undecided()} == open_rules
        assert {reason["rule"] for reason in decision["reasons"]} == open_rules
    if status == "review":
        assert set(decision["review"]["rules"]) == referred
        assert {reason["rule"] for reason in decision["reasons"]} == referred
