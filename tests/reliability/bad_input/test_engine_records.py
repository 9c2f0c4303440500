"""Garbage records through the compiled example pipelines, and through every rule of
them unshielded (no rule protected by an earlier failure or a dependency).

Records start from the example applicants with fields replaced by values of every
wrong type: numbers past the edges (10**1000, NaN, Infinity, 1e308, -0.0), text in
every awkward form (RTL overrides, zero-width characters, emoji, control characters,
NUL, lone surrogates, 20,000 characters), lists and objects where text is expected,
and values nested up to 3,000 levels deep. Whatever the record:

- run() returns a result and never raises; every rule of the config has exactly one
  outcome, and the result is plain JSON (strict JSON whenever the record itself is);
- the caller's record is never changed;
- with services that do not fail, no rule ends in `error` or `timeout` for a record of
  valid Unicode text: a wrong value is judged (`fail`) or left alone (`skip`), never an
  internal error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import rules_engine
from rules_engine.rule import OUTCOMES
from tests.reliability.bad_input import nasty

EXAMPLES = Path(__file__).resolve().parents[3] / "rules_engine" / "examples"
CONFIGS = {
    name: json.loads((EXAMPLES / name).read_text())
    for name in ("customer_onboarding.json", "pipeline_config.json")
}
APPLICANTS = [case["record"] for case in json.loads((EXAMPLES / "applications.json").read_text())]
FIELDS = sorted(
    {key for record in APPLICANTS for key in record}
    | {
        "ssn",
        "annual_income",
        "monthly_income",
        "monthly_debt",
        "credit_score",
        "country",
        "customer_id",
        "first_name",
        "middle_name",
        "last_name",
        "area_code",
        "occupation",
        "employment_status",
    }
)
CONTEXT = {"now": "2024-06-01T12:00:00+00:00"}


def every_rule_unshielded() -> dict:
    """Every rule of both examples in one stage, without dependencies, fail_fast or
    conditions, so each rule sees the record whatever the others say; the
    preprocessing rules go last, so no rule gets a record they tidied first."""
    rules: dict[str, dict] = {}
    for name, config in CONFIGS.items():
        stages = sorted(config["stages"].items(), key=lambda item: item[0] == "preprocessing")
        for _, stage in stages:
            for rule_id, rule in stage["rules"].items():
                rules[f"{name.split('.')[0]}.{rule_id}"] = {
                    k: v
                    for k, v in rule.items()
                    if k not in ("dependencies", "cross_stage_dependencies", "when")
                }
    return {"stages": {"every_rule": {"fail_fast": False, "parallel_execution": False, "rules": rules}}}


@pytest.fixture(scope="module")
def pipelines():
    configs = {**CONFIGS, "every rule unshielded": every_rule_unshielded()}
    compiled = {name: (config, rules_engine.compile_pipeline(config)) for name, config in configs.items()}
    yield compiled
    for _, pipeline in compiled.values():
        pipeline.close()


def rule_ids(config: dict) -> list[str]:
    return sorted(rule_id for stage in config["stages"].values() for rule_id in stage["rules"])


def fingerprint(record) -> str | None:
    """A text that changes when the record changes (None: too deep to print)."""
    try:
        return json.dumps(record, default=repr, sort_keys=True)
    except (RecursionError, ValueError):
        return None


def depth(value) -> int:
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def plain_text(record) -> bool:
    """True when the record is valid Unicode text all through and nested at most 64
    levels deep: what every interface of the console lets in."""
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError, ValueError):
        return False
    return depth(record) <= 64


class Record(dict):
    """A record that prints short (hypothesis cannot print values nested thousands deep)."""

    def __repr__(self) -> str:
        text = fingerprint(self)
        return f"Record({text[:2000] if text else '<nested too deeply to print>'})"


hostile_records = st.one_of(
    st.builds(
        lambda base, changes: Record({**base, **changes}),
        st.sampled_from(APPLICANTS),
        st.dictionaries(st.sampled_from(FIELDS), nasty.garbage, min_size=1, max_size=4),
    ),
    st.builds(Record, st.dictionaries(st.sampled_from(FIELDS) | nasty.any_text, nasty.garbage, max_size=6)),
)


def check_result(config, pipeline, record, *, printable: bool) -> dict:
    result = pipeline.run(record, context=CONTEXT)
    out = result.to_dict()
    assert out["status"] in ("passed", "failed", "error")
    seen = sorted(rule["id"] for stage in out["stages"] for rule in stage["rules"])
    assert seen == rule_ids(config), "every rule has exactly one outcome"
    for stage in out["stages"]:
        for rule in stage["rules"]:
            assert rule["outcome"] in OUTCOMES and isinstance(rule["message"], str), rule
    if printable:
        json.loads(json.dumps(out, allow_nan=False))  # strict JSON: NaN and Infinity come out as text
    return out


@nasty.examples(120)
@given(record=hostile_records)
def test_run__hostile_record__every_rule_gives_an_outcome_and_none_is_an_internal_error(pipelines, record):
    # Given a record with fields of every wrong type, the example pipelines, and every
    # rule of them unshielded
    before = fingerprint(record)
    plain = plain_text(record)
    for name, (config, pipeline) in pipelines.items():
        # When it runs
        out = check_result(config, pipeline, record, printable=before is not None)
        # Then (checked above) a result with one outcome per rule;
        # and no rule broke on the values: errors are for failing services only
        if plain:
            broken = [
                (rule["id"], rule["message"])
                for stage in out["stages"]
                for rule in stage["rules"]
                if rule["outcome"] in ("error", "timeout")
            ]
            assert not broken, (name, broken)
    # and the caller's record is as it was
    assert fingerprint(record) == before


@pytest.mark.parametrize("field", ["name", "email", "phone", "date_of_birth", "annual_income", "state"])
@pytest.mark.parametrize(
    "value",
    [
        nasty.nested_list(5000, "x"),
        nasty.nested_dict(5000),
        nasty.HUGE_INT,
        float("nan"),
        float("-inf"),
        nasty.UNSTORABLE_TEXT["lone high surrogate"],
        nasty.AWKWARD_TEXT["long"] * 3,
        nasty.AWKWARD_TEXT["control"],
    ],
    ids=[
        "list 5000 deep",
        "object 5000 deep",
        "10**1000",
        "NaN",
        "-Infinity",
        "lone surrogate",
        "60,000 characters",
        "control characters",
    ],
)
def test_run__one_extreme_field__result_for_every_rule_and_no_exception(pipelines, field, value):
    # Given the first example applicant with one field at an extreme
    record = Record({**APPLICANTS[0], field: value})
    before = fingerprint(record)
    for config, pipeline in pipelines.values():
        # When it runs through every example pipeline and rule; Then each gives a result
        check_result(config, pipeline, record, printable=before is not None)
    assert fingerprint(record) == before
