"""compile_pipeline: what is done once, and the Pipeline object."""

from __future__ import annotations

import copy
import hashlib
import json
import math

import pytest

import rules_engine
from rules_engine.compiler import DEFAULT_RETRY, config_hash
from rules_engine.rule import Rule, passed
from tests.rules_engine.testing_rules import rules_for_tests, services_for_tests


class CountingRule(Rule):
    """Counts how often it is built."""

    built = 0
    params_schema = {"type": "object"}

    def __init__(self, rule_id, params, services=None):
        super().__init__(rule_id, params, services)
        type(self).built += 1

    def evaluate(self, data, ctx):
        return passed("ok")


def test_config_hash__is_sha256_of_compact_json_in_document_order():
    # Given a config with non-ASCII keys, hashed
    config = {"stages": {"b": {"rules": {}}, "a": {"rules": {"é": {"class": "X"}}}}}
    # Then the hash is sha256 of its compact UTF-8 JSON, keys in the document's order
    compact = json.dumps(config, separators=(",", ":"), ensure_ascii=False)
    assert config_hash(config) == "sha256:" + hashlib.sha256(compact.encode()).hexdigest()
    # and the same stages in another order (which run in another order) hash differently
    assert config_hash(
        {"stages": {"a": {"rules": {"é": {"class": "X"}}}, "b": {"rules": {}}}}
    ) != config_hash(config)
    assert config_hash(json.loads(json.dumps(config))) == config_hash(config)


def test_compile__rules__are_built_once_not_per_record():
    # Given three rules of a class that counts its instances
    CountingRule.built = 0
    config = {
        "stages": {
            "s": {"rules": {f"r{i}": {"class": "CountingRule"} for i in range(3)}},
            "t": {"rules": {"x": {"class": "CountingRule"}}},
        }
    }
    pipeline = rules_engine.compile_pipeline(
        config, services_for_tests(), rules={"CountingRule": CountingRule}
    )
    # When many records run
    for _ in range(10):
        pipeline.run({})
    # Then each rule was built exactly once
    assert CountingRule.built == 4


def test_compile__config__is_copied_so_later_edits_do_not_leak_in():
    # Given a compiled config that the caller edits afterwards
    # When it is compiled (and run)
    # Then the pipeline keeps running and hashing what was compiled
    config = {"stages": {"s": {"rules": {"a": {"class": "OutcomeRule", "params": {"outcome": "pass"}}}}}}
    pipeline = rules_engine.compile_pipeline(config, services_for_tests(), rules=rules_for_tests())
    original_hash = pipeline.config_hash
    config["stages"]["s"]["rules"]["a"]["params"]["outcome"] = "fail"
    assert pipeline.run({}).status == "passed"
    assert pipeline.config_hash == original_hash == config_hash(pipeline.config)


def test_compile__settings__resolve_defaults():
    # Given execution settings and a stage without its own values
    config = {
        "stages": {
            "plain": {"rules": {"a": {"class": "OutcomeRule"}}},
            "par": {
                "parallel_execution": True,
                "timeout_seconds": 5,
                "max_parallel_rules": 2,
                "rules": {"b": {"class": "OutcomeRule", "timeout_seconds": 1, "retry": {"max_attempts": 4}}},
            },
        },
        "execution_settings": {"default_timeout": 9, "retry_failed_rules": True, "max_parallel_rules": 7},
    }
    pipeline = rules_engine.compile_pipeline(config, services_for_tests(), rules=rules_for_tests())
    plain, par = pipeline.stages
    a, b = pipeline.rules
    # Then rules and stages carry the resolved values
    assert (plain.timeout, plain.max_parallel, plain.parallel) == (math.inf, 7, False)
    assert (par.timeout, par.max_parallel, par.parallel) == (5.0, 2, True)
    assert a.timeout == 9.0 and a.retry == DEFAULT_RETRY
    assert b.timeout == 1.0 and b.retry.max_attempts == 4 and b.retry.retry_on == DEFAULT_RETRY.retry_on
    assert pipeline.stop_on_stage_failure is False
    assert pipeline.pool_size >= 2


def test_compile__plan__follows_dependencies_then_document_order():
    # Given rules listed before the rules they depend on
    # When it is compiled (and run)
    # Then the stage plan runs dependencies first, results keep document order
    config = {
        "stages": {
            "s": {
                "rules": {
                    "c": {"class": "OutcomeRule", "dependencies": ["b"]},
                    "b": {"class": "OutcomeRule"},
                    "a": {"class": "OutcomeRule", "cross_stage_dependencies": ["c"]},
                }
            }
        }
    }
    pipeline = rules_engine.compile_pipeline(config, services_for_tests(), rules=rules_for_tests())
    assert [entry[1] for entry in pipeline.stages[0].plan] == ["b", "c", "a"]
    assert pipeline.rule_ids == ("c", "b", "a")


def test_compile__services__bound_into_the_rule():
    # Given a rule naming service:EchoService:loud
    # When it is compiled (and run)
    # Then the adapter is bound into the rule at compile time, which makes it blocking
    config = {
        "stages": {
            "s": {
                "rules": {"e": {"class": "ServiceEchoRule", "params": {"echo": "service:EchoService:loud"}}}
            }
        }
    }
    pipeline = rules_engine.compile_pipeline(config, services_for_tests(), rules=rules_for_tests())
    rule = pipeline.rules[0]
    assert rule.blocking and rule.rule.services["echo"]({}) == "ECHO"
    assert pipeline.run({}).rule("e").details == {"reply": "ECHO"}


def test_compile__invalid_config__raises_config_error_and_never_half_builds():
    # Given two rules whose classes raise when built
    # When it is compiled (and run)
    # Then compile_pipeline raises ConfigError naming both
    with pytest.raises(rules_engine.ConfigError) as caught:
        rules_engine.compile_pipeline(
            {
                "stages": {
                    "s": {"rules": {"a": {"class": "BrokenSetupRule"}, "b": {"class": "BrokenSetupRule"}}}
                }
            },
            services_for_tests(),
            rules=rules_for_tests(),
        )
    assert [p.path for p in caught.value.problems] == ["/stages/s/rules/a", "/stages/s/rules/b"]


def test_compile__config_not_copied_by_reference_into_params():
    # Given a rule whose params hold a list, compiled and run
    # When it is compiled (and run)
    # Then the caller's config is unchanged
    config = {
        "stages": {"s": {"rules": {"a": {"class": "SetFieldRule", "params": {"field": "x", "value": [1]}}}}}
    }
    snapshot = copy.deepcopy(config)
    pipeline = rules_engine.compile_pipeline(config, services_for_tests(), rules=rules_for_tests())
    pipeline.run({})
    assert config == snapshot


def test_pipeline__public_api__names():
    # Given the package and an empty-stage pipeline
    # When it is compiled (and run)
    # Then __all__ keeps the documented names and the pipeline describes itself
    assert set(rules_engine.__all__) == {
        "validate_config",
        "compile_pipeline",
        "Pipeline",
        "RunResult",
        "Problem",
        "ConfigError",
        "config_hash",
        "OUTCOMES",
        "RunResultDict",
        "StageResultDict",
        "RuleResultDict",
        "pipeline_schema",
        "MAX_DEPTH",
        "MAX_VALUES",
        "plain_data_problems",
        "load_config",
        "parse_config_text",
        "InputError",
        "json_pointer",
        "escape_token",
        "unescape_token",
        "default_rule_registry",
        "rule_catalogue",
        "rule_type",
        "RuleType",
        "CATEGORIES",
        "RuleRef",
        "enabled_dependents",
        "stage_rule_ids",
        "same_stage_dependencies",
        "registry_from_spec",
        "spec_problems",
        "ServiceRef",
        "INTERFACES",
        "longest_call_seconds",
        "mask_record",
        "mask_value",
        "DEFAULT_PII_FIELDS",
    }
    with rules_engine.compile_pipeline(
        {"stages": {"s": {"rules": {}}}}, services_for_tests(), rules=rules_for_tests()
    ) as pipeline:
        assert repr(pipeline).startswith("<Pipeline 1 stages, 0 rules, sha256:")
        assert pipeline.stage_names == ("s",)
        assert pipeline.run({}).to_dict()["stages"][0]["rules"] == []
