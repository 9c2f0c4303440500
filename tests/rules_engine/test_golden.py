"""Golden cases: every tests/rules_engine/golden/**/*.json file is one test.

A case is either a run::

    {"description": "...",
     "config": {...} | "config_file": "path relative to the case file",
     "merge_patch_file": "path of an RFC 7396 merge patch over config_file" (optional),
     "rules": "testing" (the engine's test rules) | absent (the rule library),
     "services": {registry spec for rules_engine.services.registry_from_spec} (optional),
     "input": {...}, "context": {...} (optional), "stages": [...] (optional),
     "expected": {...}}

where ``expected`` is matched as a recursive subset of ``result.to_dict()`` (objects:
every expected key present and matching; lists: same length, element by element;
the string ``"<any>"`` matches anything), or an invalid config::

    {"description": "...", "config": {...},
     "expected_problems": [{"path": "/stages/...", "message_contains": "..."}]}

where the problems (from ``validate_config``, or from ``compile_pipeline`` when
validation finds none) must be exactly as many as listed and match in order (sorted
by path). A run's context gets ``now`` = 2024-01-15T12:00:00+00:00 unless it gives one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import json_merge_patch
import pytest

import rules_engine
from tests.rules_engine.testing_rules import rules_for_tests, services_for_tests

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.rglob("*.json"))
FIXED_NOW = "2024-01-15T12:00:00+00:00"
ANY = "<any>"


def library_missing_reason() -> str | None:
    """Why the rule library cannot be used yet, or None when it can."""
    try:
        from rules_engine.rules import default_rule_registry  # noqa: F401
        from rules_engine.services import default_registry  # noqa: F401
    except ImportError as error:
        return f"the rule library or its services are not there yet ({error})"
    return None


def assert_subset(expected: Any, actual: Any, where: str = "$") -> None:
    """``expected`` matches ``actual`` as described in the module docstring."""
    if expected == ANY:
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: missing key {key!r} (has {sorted(actual)})"
            assert_subset(value, actual[key], f"{where}.{key}")
        return
    if isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        assert len(expected) == len(actual), (
            f"{where}: expected {len(expected)} items, got {len(actual)}: {json.dumps(actual)[:800]}"
        )
        for i, (exp, act) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(exp, act, f"{where}[{i}]")
        return
    assert type(expected) is type(actual) or (
        isinstance(expected, (int, float))
        and isinstance(actual, (int, float))
        and not isinstance(actual, bool)
    ), f"{where}: expected {expected!r}, got {actual!r}"
    assert expected == actual, f"{where}: expected {expected!r}, got {actual!r}"


def _case_config(case: dict, path: Path) -> Any:
    if "config_file" in case:
        config = rules_engine.load_config(path.parent / case["config_file"])
        if "merge_patch_file" in case:  # an RFC 7396 merge patch over it, as environments apply
            config = json_merge_patch.merge(
                config, rules_engine.load_config(path.parent / case["merge_patch_file"])
            )
        return config
    return case["config"]


def _registries(case: dict):
    """(rules, services) for the case: the test rules, or the library (None, None =
    the defaults); a ``services`` spec goes through registry_from_spec."""
    testing = case.get("rules") == "testing"
    if not testing:
        reason = library_missing_reason()
        if reason:
            pytest.skip(reason)
    rules = rules_for_tests() if testing else None
    services = services_for_tests() if testing else None
    if "services" in case:
        from rules_engine.services import registry_from_spec

        services = registry_from_spec(case["services"])
    return rules, services


def _problems(config: Any, rules, services) -> list:
    problems = rules_engine.validate_config(config, rules=rules, services=services)
    if problems:
        return problems
    try:
        rules_engine.compile_pipeline(config, services, rules=rules).close()
    except rules_engine.ConfigError as error:
        return error.problems
    return []


@pytest.mark.parametrize("path", CASES, ids=lambda p: str(p.relative_to(GOLDEN)))
def test_golden__case__matches_expected(path: Path) -> None:
    # Given a golden case
    case = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(case.get("description"), str) and case["description"], "every case needs a description"
    config = _case_config(case, path)
    rules, services = _registries(case)

    if "expected_problems" in case:
        # When its config is validated
        problems = _problems(config, rules, services)
        # Then exactly the expected problems are reported, in path order
        shown = "\n".join(str(p) for p in problems)
        assert len(problems) == len(case["expected_problems"]), f"got {len(problems)} problems:\n{shown}"
        for problem, expected in zip(problems, case["expected_problems"], strict=True):
            assert problem.path == expected["path"], (
                f"expected a problem at {expected['path']}, got:\n{shown}"
            )
            assert expected.get("message_contains", "") in problem.message, (
                f"{problem.path}: {problem.message!r} does not contain {expected['message_contains']!r}"
            )
        return

    # When its input is run
    context = dict(case.get("context") or {})
    context.setdefault("now", FIXED_NOW)
    with rules_engine.compile_pipeline(config, services, rules=rules) as pipeline:
        result = pipeline.run(case["input"], stages=case.get("stages"), context=context).to_dict()
    # Then the result holds what the case expects (and is plain JSON)
    json.dumps(result, allow_nan=False)
    assert_subset(case["expected"], result)


def test_golden__cases__exist() -> None:
    # Given the golden folder / Then it holds execution and invalid-config cases
    # Given the golden folder
    # When its files are listed
    # Then it holds execution and invalid-config cases
    names = {p.parent.name for p in CASES}
    assert {"execution", "invalid"} <= names
