"""Config validation: the API, the messages, and what golden files do not cover."""

from __future__ import annotations

import json

import pytest

import rules_engine
from rules_engine.rule import Rule
from rules_engine.schema import pipeline_schema
from rules_engine.services.registry import ServiceRegistry
from rules_engine.validation import Problem, pointer, validate_config
from tests.rules_engine.testing_rules import rules_for_tests, services_for_tests


def problems_of(config, rules=None, services=None):
    return validate_config(
        config, rules=rules or rules_for_tests(), services=services or services_for_tests()
    )


def test_problem__to_dict_and_str__are_plain():
    # Given a Problem
    # When it is validated (or formatted)
    # Then it turns into a dict and a 'path: message' line, and cannot be changed
    problem = Problem("/stages/a", "Stage 'a' is missing the required setting 'rules'.")
    assert problem.to_dict() == {
        "path": "/stages/a",
        "message": "Stage 'a' is missing the required setting 'rules'.",
    }
    assert str(problem) == "/stages/a: Stage 'a' is missing the required setting 'rules'."
    assert str(Problem("", "bad")) == "(config): bad"
    with pytest.raises(AttributeError):
        problem.path = "/x"  # frozen


def test_config_error__carries_every_problem():
    # Given a config with two problems
    config = {
        "stages": {"s": {"rules": {"a": {"class": "Nope"}, "b": {"class": "OutcomeRule", "severity": "x"}}}}
    }
    # When it is compiled
    with pytest.raises(rules_engine.ConfigError) as caught:
        rules_engine.compile_pipeline(config, services_for_tests(), rules=rules_for_tests())
    # Then the error lists both, in its message too
    assert [p.path for p in caught.value.problems] == [
        "/stages/s/rules/a/class",
        "/stages/s/rules/b/severity",
    ]
    assert "2 problems" in str(caught.value) and "/stages/s/rules/a/class" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_pointer__escapes_tilde_and_slash():
    # Given path parts holding / and ~
    # When it is validated (or formatted)
    # Then the pointer escapes them as ~1 and ~0 (RFC 6901)
    assert pointer(["stages", "a/b", "rules", "x~y", 0]) == "/stages/a~1b/rules/x~0y/0"
    assert pointer([]) == ""


def test_validate__problems__are_sorted_by_path_with_numeric_indexes():
    # Given problems at dependencies/2 and dependencies/10
    deps = [f"missing_{i}" for i in range(11)]
    config = {"stages": {"s": {"rules": {"a": {"class": "OutcomeRule", "dependencies": deps}}}}}
    # When validated
    paths = [p.path for p in problems_of(config)]
    # Then index 2 comes before index 10
    assert paths == [f"/stages/s/rules/a/dependencies/{i}" for i in range(11)]


def test_validate__valid_config__has_no_problems():
    # Given a config using every documented setting
    # When it is validated (or formatted)
    # Then validation finds nothing
    config = {
        "version": "1",
        "stages": {
            "s": {
                "enabled": True,
                "fail_fast": False,
                "parallel_execution": True,
                "timeout_seconds": 5,
                "max_parallel_rules": 2,
                "when": "has(record.x)",
                "description": "d",
                "rules": {
                    "a": {
                        "class": "OutcomeRule",
                        "params": {},
                        "severity": "warning",
                        "timeout_seconds": 1,
                        "retry": {
                            "max_attempts": 2,
                            "backoff_seconds": 0,
                            "backoff_multiplier": 1,
                            "retry_on": ["fail"],
                        },
                        "when": "true",
                        "enabled": False,
                        "description": "x",
                    }
                },
            }
        },
        "execution_settings": {
            "stop_on_stage_failure": True,
            "enable_audit_logging": True,
            "max_parallel_rules": 3,
            "default_timeout": 10,
            "retry_failed_rules": True,
            "performance_monitoring": {
                "enabled": True,
                "slow_rule_threshold_ms": 5,
                "alert_on_timeout": False,
            },
        },
        "pii_fields": ["ssn"],
    }
    assert problems_of(config) == []


def test_validate__messages__never_show_jsonschema_dumps():
    # Given a config broken in many structural ways
    config = {
        "stages": {
            "s": {
                "rules": {
                    "a": {
                        "class": ["x"],
                        "params": "p",
                        "dependencies": "a",
                        "retry": {"retry_on": []},
                        "when": "",
                    }
                }
            },
            "t": [],
            "u": {"rules": {}, "timeout_seconds": "1"},
        },
        "execution_settings": {"performance_monitoring": {"enabled": "yes", "other": 1}},
    }
    problems = problems_of(config)
    # Then every message is a sentence without Python reprs of the schema
    assert len(problems) >= 8
    for problem in problems:
        assert problem.message[0].isupper() or problem.message[0] == "'", problem
        assert problem.message.endswith(".") or problem.message.endswith("?"), problem
        for fragment in ("is not of type", "is not valid under", "Failed validating", "{'type'", "schema"):
            assert fragment not in problem.message, problem


def test_validate__params_any_of__explains_the_alternatives():
    # Given a rule class whose param may be text or a whole number
    class Flexible(Rule):
        params_schema = {
            "type": "object",
            "properties": {
                "limit": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "mode": {"oneOf": [{"const": "a"}, {"const": "b"}]},
            },
        }

    # When it gets a list and an unknown mode
    problems = validate_config(
        {"stages": {"s": {"rules": {"r": {"class": "Flexible", "params": {"limit": [1], "mode": "c"}}}}}},
        rules={"Flexible": Flexible},
        services=ServiceRegistry(),
    )
    # Then the messages say what is allowed
    assert [str(p) for p in problems] == [
        "/stages/s/rules/r/params/limit: 'limit' must be text or a whole number, but it is a list.",
        '/stages/s/rules/r/params/mode: \'mode\' must be "a"; it is "c".',
    ]


def test_validate__broken_params_schema__is_reported_as_a_library_bug():
    # Given a rule class whose params schema is not a valid schema
    # When it is validated (or formatted)
    # Then one problem says so, blaming the library, not the config
    class Broken(Rule):
        params_schema = {"type": "object", "properties": {"x": {"type": "nonsense"}}}

    problems = validate_config(
        {"stages": {"s": {"rules": {"r": {"class": "Broken"}}}}},
        rules={"Broken": Broken},
        services=ServiceRegistry(),
    )
    assert len(problems) == 1 and "broken params schema" in problems[0].message


def test_validate__service_refs_raising__is_a_problem_not_a_crash():
    # Given a rule class whose service_refs raises
    # When it is validated (or formatted)
    # Then validation reports it as a problem at the params
    class Odd(Rule):
        @classmethod
        def service_refs(cls, params):
            raise RuntimeError("confused")

    problems = validate_config(
        {"stages": {"s": {"rules": {"r": {"class": "Odd"}}}}}, rules={"Odd": Odd}, services=ServiceRegistry()
    )
    assert [str(p) for p in problems] == [
        "/stages/s/rules/r/params: The services of this rule could not be worked out from its params "
        "(RuntimeError: confused)."
    ]


def test_validate__default_service_slot__is_reported_at_the_rule():
    # Given a rule needing a default service nothing binds
    class NeedsAudit(Rule):
        default_services = {"audit": "AuditService"}

    problems = validate_config(
        {"stages": {"s": {"rules": {"r": {"class": "NeedsAudit"}}}}},
        rules={"NeedsAudit": NeedsAudit},
        services=ServiceRegistry(),
    )
    # Then the problem points at the rule, naming the reference
    assert [p.path for p in problems] == ["/stages/s/rules/r"]
    assert "'service:AuditService:default'" in problems[0].message


def test_validate__service_bound_by_factory__is_fine():
    # Given a registry with a factory for the interface
    # When it is validated (or formatted)
    # Then any name of that interface is bound
    class Uses(Rule):
        service_params = {"svc": "KYCService"}

    registry = ServiceRegistry().bind_factory("KYCService", lambda name: object())
    config = {
        "stages": {"s": {"rules": {"r": {"class": "Uses", "params": {"svc": "service:KYCService:any"}}}}}
    }
    assert validate_config(config, rules={"Uses": Uses}, services=registry) == []


def test_validate__never_mutates_the_config():
    # Given a config with a cycle
    # When it is validated (or formatted)
    # Then validating it leaves the document unchanged
    config = {
        "stages": {
            "s": {
                "rules": {
                    "a": {"class": "OutcomeRule", "dependencies": ["b"]},
                    "b": {"class": "OutcomeRule", "dependencies": ["a"]},
                }
            }
        }
    }
    before = json.dumps(config, sort_keys=True)
    problems_of(config)
    assert json.dumps(config, sort_keys=True) == before


def test_schema__ships_as_package_data_and_is_valid_draft_2020_12():
    # Given the schema read through importlib.resources
    # When it is validated (or formatted)
    # Then it is a valid draft 2020-12 schema, and each caller gets a fresh copy
    from jsonschema import Draft202012Validator

    schema = pipeline_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # a fresh copy each time: callers cannot damage the shared one
    schema["properties"].clear()
    assert pipeline_schema()["properties"]


def test_validate_config__superscript_digit_keys__problems_sorted_without_crashing():
    # Given keys that are digits to str.isdigit() but not to int() ("³", "¹")
    from rules_engine import validate_config

    problems = validate_config({"stages": {"³": {"rules": {"¹": {"class": "Nope"}}}}, "¹": 1})
    # Then validation reports problems, each with a path, instead of raising
    assert problems and all(p.path.startswith("/") for p in problems)


@pytest.mark.parametrize(
    ("schema", "value", "message"),
    [
        ({"const": "v1"}, "v2", '\'limit\' must be "v1"; it is "v2".'),
        ({"multipleOf": 5}, 7, "'limit' must be a multiple of 5; it is 7."),
        ({"exclusiveMaximum": 3}, 3, "'limit' must be less than 3; it is 3."),
        ({"maxLength": 2}, "abc", "'limit' must be at most 2 characters long."),
        ({"minItems": 3}, [1], "'limit' must list at least 3 items."),
        ({"maxItems": 1}, [1, 2], "'limit' must list at most 1 items; it lists 2."),
        ({"maxProperties": 1}, {"a": 1, "b": 2}, "'limit' must have at most 1 entries."),
        ({"minProperties": 2}, {"a": 1}, "'limit' must have at least 2 entries."),
        (
            {"dependentRequired": {"a": ["b"]}},
            {"a": 1},
            "'limit': when 'a' is given, 'b' must be given too.",
        ),
        (
            {"oneOf": [{"type": "number"}, {"type": "integer"}]},
            1,
            "'limit' matches more than one of the allowed forms; it must match exactly one.",
        ),
        (
            {"anyOf": [{"type": "string"}, {"type": ["integer", "string"]}]},
            1.5,
            "'limit' must be text or a whole number, but it is a number.",
        ),
        ({"not": {"type": "string"}}, "s", "'limit' has a value that is not allowed here: \"s\"."),
        (
            {"contains": {"type": "string"}},
            [1, 2],
            "'limit' does not contain any entry of the expected kind.",
        ),
        ({"properties": {"x": False}}, {"x": 1}, "'limit' is not allowed here."),
        (
            {"minContains": 2, "contains": {"type": "string"}},
            ["a"],
            "'limit' is not valid here (it breaks the 'minContains' check).",
        ),
    ],
)
def test_schema_problems__each_keyword__has_its_sentence(schema, value, message):
    # Given a value that breaks one JSON Schema keyword, in a place the pipeline schema
    # and the built-in rule classes do not use it (the goldens cover the ones they use)
    from jsonschema import Draft202012Validator

    from rules_engine.validation import schema_problems

    # When its problems are described
    problems = schema_problems(value, Draft202012Validator(schema), ["settings", "limit"])
    # Then the keyword's own sentence says what is wrong
    assert [p.message for p in problems] == [message]
