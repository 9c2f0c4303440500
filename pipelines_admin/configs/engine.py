"""The one place where Django code talks to rules_engine: validating documents,
building an environment's service registry from its bindings, compiling pipelines."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import rules_engine
from rules_engine.compiler import config_hash
from rules_engine.loading import InputError, load_config
from rules_engine.rules import default_rule_registry
from rules_engine.schema import pipeline_schema
from rules_engine.services import registry_from_spec
from rules_engine.validation import MAX_DEPTH as DOCUMENT_MAX_DEPTH  # noqa: F401 - limits the editor applies too
from rules_engine.validation import MAX_VALUES as DOCUMENT_MAX_VALUES  # noqa: F401

from pipelines_admin.core.canonical import content_hash
from pipelines_admin.core.errors import InvalidInput


def config_dependents(document: dict, rule_ids) -> list:
    """The enabled rules of `document` that depend on any of `rule_ids`, directly or
    through other rules (rules_engine.RuleRef: stage, rule), in document order."""
    return rules_engine.enabled_dependents(document, rule_ids)


def config_stage_rule_ids(document: dict, stage: str) -> list[str]:
    return rules_engine.stage_rule_ids(document, stage)


def rule_classes() -> dict[str, type]:
    """Rule class name -> class (each with its params_schema and describe())."""
    return default_rule_registry()


def document_schema() -> dict:
    """The JSON Schema of a pipeline document."""
    return pipeline_schema()


def document_hash(document: dict) -> str:
    """The hash of a pipeline document as the engine reports it (`config_hash`): key
    order counts, since stages run in document order."""
    return config_hash(document)


DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json")


def document_load(path) -> Any:
    """The document in a .yaml, .yml or .json file, read by the engine's loader (a key
    given twice in one object is refused). Not validated: see document_problems.
    InvalidInput, its one problem at path "", when the file cannot be read as that."""
    if not str(path).lower().endswith(DOCUMENT_SUFFIXES):
        raise InvalidInput(f"{path}: a pipeline file ends in .yaml, .yml or .json.",
                           {"problems": [{"path": "", "message": "a pipeline file ends in .yaml, .yml or .json"}]})
    try:
        return load_config(path)
    except InputError as exc:
        raise InvalidInput(str(exc), {"problems": [{"path": "", "message": str(exc)}]}) from None


def binding_spec(environment) -> dict:
    """The engine's services spec for an environment: every binding of it, and
    simulated adapters (zero latency) for any reference nothing binds."""
    bindings: dict[str, dict[str, Any]] = {}
    for b in environment.service_bindings.all() if environment is not None else []:
        if b.kind == "http":
            spec = {"type": "http", "url": b.url, "timeout_seconds": b.timeout_seconds}
            if b.secret_env:
                spec["secret_env"] = b.secret_env
        else:
            spec = {"type": "simulated", "latency_ms": b.latency_ms, "failure_rate": b.failure_rate}
        bindings[f"{b.interface}:{b.name}"] = spec
    return {"defaults": {"type": "simulated"}, "bindings": bindings}


def service_registry(environment=None):
    return registry_from_spec(binding_spec(environment))


def document_problems(document: Any, environment=None) -> list[dict]:
    """Every problem of a pipeline document, each {"path", "message"}; [] when valid."""
    problems = rules_engine.validate_config(document, services=service_registry(environment))
    return [{"path": p.path, "message": p.message} for p in problems]


_COMPILED_LIMIT = 16
_compiled: "OrderedDict[tuple[str, str], Any]" = OrderedDict()
_compiled_lock = threading.Lock()


def compiled_pipeline(document: dict, environment):
    """The compiled engine pipeline for a document in an environment, compiled once per
    process for each (document, service bindings) pair and reused for every run."""
    spec = binding_spec(environment)
    key = (document_hash(document), content_hash(spec))
    with _compiled_lock:
        pipeline = _compiled.get(key)
        if pipeline is not None:
            _compiled.move_to_end(key)
            return pipeline
    pipeline = rules_engine.compile_pipeline(document, services=registry_from_spec(spec))
    with _compiled_lock:
        _compiled[key] = pipeline
        while len(_compiled) > _COMPILED_LIMIT:
            _, evicted = _compiled.popitem(last=False)
            evicted.close()
    return pipeline
