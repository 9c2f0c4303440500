"""rules_engine: a staged business-rule engine driven by configuration.

    import rules_engine
    problems = rules_engine.validate_config(config)          # [Problem(path, message)]
    pipeline = rules_engine.compile_pipeline(config)         # raises ConfigError(problems)
    result = pipeline.run(record, stages=None, context=None) # never changes `record`
    result.to_dict()                                         # JSON-serialisable
    rules_engine.enabled_dependents(config, ["kyc"])         # what turning "kyc" off leaves unable to run

``result.status`` is ``passed`` only when every enabled rule passed, failed at warning
severity, or was skipped by a ``when``; a check that did not run for any other reason
makes it ``undecided`` (see :mod:`rules_engine.result`).

Plain data in and out; the rule classes (``rules=``) and the service adapters
(``services=``) are passed in explicitly, defaulting to the built-in library and its
simulated adapters. This package never imports Django.

``__all__`` is the whole of what other code may use (the console imports nothing else):
``rule_catalogue()`` says what each rule type is (class, category, params schema,
description); ``RunResultDict`` is the shape ``to_dict()`` returns; ``parse_config_text``
and ``load_config`` read YAML or JSON strictly; ``json_pointer`` writes the paths
problems carry; the services, masking and dependency helpers are those the engine
itself uses.
"""

from rules_engine.catalogue import RuleType, rule_catalogue, rule_type
from rules_engine.compiler import Pipeline, compile_pipeline, config_hash
from rules_engine.dependents import RuleRef, enabled_dependents, stage_rule_ids
from rules_engine.loading import InputError, load_config, parse_config_text
from rules_engine.masking import DEFAULT_PII_FIELDS, mask_record, mask_value
from rules_engine.pointers import escape_token, json_pointer, unescape_token
from rules_engine.result import RunResult
from rules_engine.rule import OUTCOMES
from rules_engine.rules import CATEGORIES, default_rule_registry
from rules_engine.schema import pipeline_schema
from rules_engine.services import INTERFACES, ServiceRef, registry_from_spec, spec_problems
from rules_engine.services.http import longest_call_seconds
from rules_engine.types import RuleResultDict, RunResultDict, StageResultDict
from rules_engine.validation import (
    MAX_DEPTH,
    MAX_VALUES,
    ConfigError,
    Problem,
    plain_data_problems,
    same_stage_dependencies,
    validate_config,
)

__all__ = [
    # validating, compiling, running
    "validate_config",
    "compile_pipeline",
    "Pipeline",
    "RunResult",
    "Problem",
    "ConfigError",
    "config_hash",
    "OUTCOMES",
    # the shapes of results as plain data
    "RunResultDict",
    "StageResultDict",
    "RuleResultDict",
    # the document: schema, limits, reading, pointers
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
    # rules: the catalogue and dependencies
    "default_rule_registry",
    "rule_catalogue",
    "rule_type",
    "RuleType",
    "CATEGORIES",
    "RuleRef",
    "enabled_dependents",
    "stage_rule_ids",
    "same_stage_dependencies",
    # services
    "registry_from_spec",
    "spec_problems",
    "ServiceRef",
    "INTERFACES",
    "longest_call_seconds",
    # masking personal data
    "mask_record",
    "mask_value",
    "DEFAULT_PII_FIELDS",
]
