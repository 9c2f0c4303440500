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
"""

from rules_engine.compiler import Pipeline, compile_pipeline
from rules_engine.dependents import RuleRef, enabled_dependents, stage_rule_ids
from rules_engine.loading import load_config
from rules_engine.result import RunResult
from rules_engine.validation import ConfigError, Problem, validate_config

__all__ = [
    "validate_config",
    "compile_pipeline",
    "Pipeline",
    "RunResult",
    "Problem",
    "ConfigError",
    "load_config",
    "RuleRef",
    "enabled_dependents",
    "stage_rule_ids",
]
