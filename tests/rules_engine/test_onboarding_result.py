"""The onboarding seed's full result JSON, for applicants that take different paths,
against a stored expectation: every key (in the documented order) and value. What the
executor may vary is left out: durations (set to 0), and the order in which rules of a
parallel stage made their changes (compared in a fixed order).

After a deliberate change to the result's shape or wording, rewrite the expectation
with ``python -m tests.rules_engine.test_onboarding_result`` and review its diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import rules_engine

EXAMPLES = Path(rules_engine.__file__).parent / "examples"
EXPECTED = Path(__file__).parent / "expected" / "onboarding_results.json"
CONTEXT = {"now": "2024-01-15T12:00:00+00:00", "run_id": "expected-1"}
GOOD = {
    "name": "Ann Marie Smith",
    "email": " Ann.Smith@Example.com ",
    "phone": "(212) 555-0100",
    "address": "1 main street",
    "city": "new york",
    "state": "NY",
    "zip_code": "10001",
    "date_of_birth": "1990-04-01",
    "ssn": "123-45-6789",
    "annual_income": 90000,
    "credit_score": 720,
    "country": "US",
}
APPLICANTS = {
    "good": GOOD,
    "bad_email": {**GOOD, "email": "ann.smith@@example"},
    "bad_phone": {**GOOD, "phone": "555-01"},
    "missing_email_and_phone": {k: v for k, v in GOOD.items() if k not in ("email", "phone")},
    "state_zip_mismatch": {**GOOD, "zip_code": "94105"},
    "minor": {**GOOD, "date_of_birth": "2010-06-01"},
    "low_credit": {**GOOD, "credit_score": 580},
    "high_debt": {**GOOD, "monthly_debt": 4000, "monthly_mortgage": 1500},
    "sanctions_hit": {**GOOD, "name": "Viktor Kestrel"},
    "sanctions_near_hit": {**GOOD, "name": "Viktor Kastner"},
    "pep_hit": {**GOOD, "name": "Halvard Østerlund"},
    "pep_associate": {**GOOD, "name": "Ingrid Osterlund"},
    "state_not_served": {
        **GOOD,
        "state": "WA",
        "city": "Seattle",
        "zip_code": "98101",
        "phone": "(206) 555-0100",
    },
    "never_issued_ssn": {**GOOD, "ssn": "666-12-3456"},
    "nested_and_odd_values": {**GOOD, "tags": ["vip", {"since": 2019, "score": 1.5}], "ratio": float("inf")},
}


def _without_durations(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (0 if k == "duration_ms" else _without_durations(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_durations(v) for v in value]
    return value


def _in_fixed_order(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(changes, key=lambda change: json.dumps(change, sort_keys=True))


def _key_orders(result: dict[str, Any]) -> list[list[str]]:
    """The keys, in order, of the result, of each stage and of each rule."""
    orders = [list(result)]
    for stage in result["stages"]:
        orders.append(list(stage))
        orders += [list(rule) for rule in stage["rules"]]
    return orders


def onboarding_results() -> dict[str, Any]:
    config = rules_engine.load_config(EXAMPLES / "customer_onboarding.json")
    with rules_engine.compile_pipeline(config) as pipeline:
        return {
            name: _without_durations(pipeline.run(record, context=CONTEXT).to_dict())
            for name, record in APPLICANTS.items()
        }


def test_onboarding_seed__applicants_on_every_path__result_json_as_stored():
    # Given the onboarding seed and applicants that pass, fail, go to review or stay undecided
    # When each is run and its result turned into JSON
    results = json.loads(json.dumps(onboarding_results(), allow_nan=False))
    # Then every key and value is the stored one
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert sorted(results) == sorted(expected)
    for name in expected:
        assert _key_orders(results[name]) == _key_orders(expected[name]), name
        for result in (results[name], expected[name]):
            result["changes"] = _in_fixed_order(result["changes"])
        assert results[name] == expected[name], name


if __name__ == "__main__":
    EXPECTED.write_text(
        json.dumps(onboarding_results(), indent=1, ensure_ascii=False, allow_nan=False) + "\n",
        encoding="utf-8",
    )
