"""What a test case expects, and how a result is judged against it.

An expectation is JSON:

    {"status": "passed",                                    # required: the overall status
     "rules": [{"stage": "compliance", "rule": "pep_screening", "outcome": "pass"}],
     "fields": [{"field": "customer_id", "equals": "CUST-1"}]}  # paths into result["data"]

`rules` and `fields` are optional. A field path is dotted (`address.zip`); `exists`
instead of `equals` checks only that the field is present (true) or absent (false).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

STATUSES = ("passed", "failed", "review", "undecided", "error")
OUTCOMES = ("pass", "fail", "skip", "error", "timeout")

EXPECTATION_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["status"],
    "additionalProperties": False,
    "properties": {
        "status": {"enum": list(STATUSES)},
        "rules": {
            "type": "array",
            "maxItems": 500,
            "items": {
                "type": "object",
                "required": ["stage", "rule", "outcome"],
                "additionalProperties": False,
                "properties": {
                    "stage": {"type": "string", "minLength": 1, "maxLength": 100},
                    "rule": {"type": "string", "minLength": 1, "maxLength": 100},
                    "outcome": {"enum": list(OUTCOMES)},
                },
            },
        },
        "fields": {
            "type": "array",
            "maxItems": 200,
            "items": {
                "type": "object",
                "required": ["field"],
                "additionalProperties": False,
                "minProperties": 2,
                "maxProperties": 2,
                "properties": {
                    "field": {"type": "string", "minLength": 1, "maxLength": 200},
                    "equals": {},
                    "exists": {"type": "boolean"},
                },
            },
        },
    },
}
_validator = jsonschema.Draft202012Validator(EXPECTATION_SCHEMA)


def expectation_problems(expected: Any, document: dict | None = None) -> list[dict]:
    """Every problem of an expectation, each {"path", "message"}; with the pipeline's
    document, rules it does not have are problems too."""
    problems = [
        {"path": "/" + "/".join(str(p) for p in error.absolute_path), "message": error.message}
        for error in sorted(_validator.iter_errors(expected), key=lambda e: list(e.absolute_path))
    ]
    if problems or document is None:
        return problems
    stages = document.get("stages", {})
    for index, item in enumerate(expected.get("rules", [])):
        stage = stages.get(item["stage"])
        if stage is None:
            problems.append(
                {"path": f"/rules/{index}/stage", "message": f"the pipeline has no stage {item['stage']!r}"}
            )
        elif item["rule"] not in stage.get("rules", {}):
            problems.append(
                {
                    "path": f"/rules/{index}/rule",
                    "message": f"stage {item['stage']!r} has no rule {item['rule']!r}",
                }
            )
    return problems


_MISSING = object()


def field_value(data: Any, path: str) -> Any:
    """The value at a dotted path of the result's data, or _MISSING."""
    node = data
    for key in path.split("."):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return _MISSING
    return node


def rule_outcomes(result: dict | None) -> dict[tuple[str, str], dict]:
    """(stage, rule id) -> the rule's entry in an engine result."""
    return {
        (stage["name"], rule["id"]): rule
        for stage in (result or {}).get("stages", [])
        for rule in stage.get("rules", [])
    }


def judge(expected: dict, status: str, result: dict | None, *, shown: dict | None = None) -> list[dict]:
    """Each expectation the outcome does not meet: {"what", "expected", "actual", "message"}.
    An empty list means the test case passed. Rule messages are quoted from `shown` (the
    result with PII masked) when given."""
    failures = []
    shown_rules = rule_outcomes(shown) if shown is not None else None
    if status != expected["status"]:
        failures.append(
            {
                "what": "status",
                "expected": expected["status"],
                "actual": status,
                "message": f"the application {status}, expected {expected['status']}",
            }
        )
    rules = rule_outcomes(result)
    for item in expected.get("rules", []):
        entry = rules.get((item["stage"], item["rule"]))
        actual = entry["outcome"] if entry else None
        if actual != item["outcome"]:
            what = f"{item['stage']}/{item['rule']}"
            quoted = (
                shown_rules.get((item["stage"], item["rule"]), {}) if shown_rules is not None else entry
            ) or {}
            said = f"{actual}: {quoted.get('message', '')}" if entry else "the rule did not run"
            failures.append(
                {
                    "what": what,
                    "expected": item["outcome"],
                    "actual": actual,
                    "message": f"rule {what} expected {item['outcome']}, got {said}",
                }
            )
    data = (result or {}).get("data", {})
    for item in expected.get("fields", []):
        actual = field_value(data, item["field"])
        if "exists" in item:
            present = actual is not _MISSING
            if present != item["exists"]:
                failures.append(
                    {
                        "what": f"field {item['field']}",
                        "expected": "present" if item["exists"] else "absent",
                        "actual": "present" if present else "absent",
                        "message": f"field {item['field']} is {'present' if present else 'absent'}",
                    }
                )
        elif actual is _MISSING or actual != item["equals"]:
            failures.append(
                {
                    "what": f"field {item['field']}",
                    "expected": item["equals"],
                    "actual": None if actual is _MISSING else actual,
                    "message": f"field {item['field']} is "
                    f"{'absent' if actual is _MISSING else _as_json(actual)}",
                }
            )
    return failures


def _as_json(value: Any) -> str:
    """A value as JSON text (true, null, "text"), as the console shows record data."""
    return json.dumps(value, ensure_ascii=False, default=str)


def expectation_from_result(status: str, result: dict | None, *, rules: bool = False) -> dict:
    """The expectation a run's outcome meets: its status, and with `rules` every rule's outcome."""
    expected: dict[str, Any] = {"status": status if status in STATUSES else "error"}
    if rules:
        expected["rules"] = [
            {"stage": stage, "rule": rule, "outcome": entry["outcome"]}
            for (stage, rule), entry in rule_outcomes(result).items()
        ]
    return expected
