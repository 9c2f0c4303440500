"""Checking a pipeline config, reporting every problem at once.

First the document must be plain JSON data (:func:`plain_data_problems`: at most
MAX_VALUES values, not nested past MAX_DEPTH, no NaN or infinite numbers, no integers
past 64 bits, no lone surrogates or NUL characters); when it is not, that is all that
is reported. Then three passes, each on whatever the previous one left usable:

1. the document against the JSON Schema shipped in ``rules_engine/schema``;
2. each rule's ``params`` against its rule class's ``params_schema``;
3. meaning: unknown classes, unknown / misplaced / cyclic dependencies, rule ids used
   twice, services nothing binds, ``when`` conditions that are not valid CEL, and
   enabled rules that depend on a disabled rule or on a rule of a disabled stage
   (such a rule could never run, so no application could pass: disable it too, or
   enable what it needs).

Unknown keys are errors at every level the schema describes (a misspelt
``dependancies`` must not be silently ignored); ``params`` belong to the rule class's
schema. Rule ids are unique across the pipeline, since cross-stage dependencies name
them. A ``cross_stage_dependencies`` entry naming a rule of the *same* stage is
accepted as a same-stage dependency: both seed configs do that, and they must
validate as written.

Each :class:`Problem` has a JSON pointer (``/stages/compliance/rules/pep_screening/class``)
and a plain sentence for the people who edit pipelines. Problems come back sorted by
path. :func:`validate_config` never raises for a bad config; ``compile_pipeline``
raises :class:`ConfigError` carrying the same list.
"""

from rules_engine.pointers import json_pointer as pointer
from rules_engine.validation.checks import (
    default_rules,
    default_services,
    same_stage_dependencies,
    validate_config,
)
from rules_engine.validation.messages import ConfigError, Problem, schema_problems
from rules_engine.validation.messages import _sort_key as _sort_key  # the order problems are listed in
from rules_engine.validation.plain_data import MAX_DEPTH, MAX_INTEGER, MAX_VALUES, plain_data_problems

__all__ = [
    "MAX_DEPTH",
    "MAX_INTEGER",
    "MAX_VALUES",
    "ConfigError",
    "Problem",
    "default_rules",
    "default_services",
    "plain_data_problems",
    "pointer",
    "same_stage_dependencies",
    "schema_problems",
    "validate_config",
]
