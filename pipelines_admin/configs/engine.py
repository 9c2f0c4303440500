"""The one place where Django code talks to rules_engine: validating documents,
building an environment's service registry from its bindings, compiling pipelines."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import rules_engine
from pipelines_admin.core.canonical import content_hash
from pipelines_admin.core.errors import InvalidInput
from rules_engine import (
    InputError,
    RuleType,
    ServiceRef,
    config_hash,
    default_rule_registry,
    json_pointer,
    load_config,
    longest_call_seconds,
    pipeline_schema,
    registry_from_spec,
    rule_catalogue,
)
from rules_engine import spec_problems as services_spec_problems


def config_dependents(document: dict, rule_ids) -> list:
    """The enabled rules of `document` that depend on any of `rule_ids`, directly or
    through other rules (rules_engine.RuleRef: stage, rule), in document order."""
    return rules_engine.enabled_dependents(document, rule_ids)


def config_stage_rule_ids(document: dict, stage: str) -> list[str]:
    return rules_engine.stage_rule_ids(document, stage)


def rule_classes() -> dict[str, Any]:
    """Rule class name -> class (each with its params_schema and describe())."""
    return default_rule_registry()


def rule_types() -> dict[str, RuleType]:
    """Rule class name -> what a config author is told about it: category, title,
    summary, description and params schema (rules_engine.RuleType)."""
    return rule_catalogue()


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
        raise InvalidInput(
            f"{path}: a pipeline file ends in .yaml, .yml or .json.",
            {"problems": [{"path": "", "message": "a pipeline file ends in .yaml, .yml or .json"}]},
        )
    try:
        return load_config(path)
    except InputError as exc:
        raise InvalidInput(str(exc), {"problems": [{"path": "", "message": str(exc)}]}) from None


def _binding_entry(b) -> dict[str, Any]:
    if b.kind == "http":
        spec = {"type": "http", "url": b.url, "timeout_seconds": b.timeout_seconds, "retries": b.retries}
        if b.secret_env:
            spec["secret_env"] = b.secret_env
        return spec
    return {"type": "simulated", "latency_ms": b.latency_ms, "failure_rate": b.failure_rate}


def binding_spec(environment, bindings: Iterable | None = None) -> dict:
    """The engine's services spec for an environment: every binding of it (or, to try a
    change before it is stored, `bindings` instead), and simulated adapters (zero
    latency) for any reference nothing binds."""
    if bindings is None:
        bindings = environment.service_bindings.all() if environment is not None else []
    entries = {f"{b.interface}:{b.name}": _binding_entry(b) for b in bindings}
    return {"defaults": {"type": "simulated"}, "bindings": entries}


def binding_problems(binding) -> list[str]:
    """What the engine finds wrong with one binding (an unknown interface, a URL or a
    secret name it refuses...), as "message" lines; [] when it can use it."""
    spec = {
        "defaults": {"type": "simulated"},
        "bindings": {f"{binding.interface}:{binding.name}": _binding_entry(binding)},
    }
    return [problem.split(": ", 1)[-1] for problem in services_spec_problems(spec)]


def service_registry(environment=None, bindings: Iterable | None = None):
    return registry_from_spec(binding_spec(environment, bindings))


@dataclass(frozen=True)
class ServiceUse:
    """One rule of a document calling one service, with the time it allows the call."""

    stage: str
    rule: str
    slot: str
    ref: ServiceRef
    enabled: bool  # the rule and its stage are on
    time_limit: float  # seconds: the rule's (or the default) time limit, within its stage's
    limit_source: str  # what sets that limit, in words
    path: str  # JSON pointer of the param naming the service, else of the rule

    @property
    def reference(self) -> str:
        return str(self.ref)


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def document_service_uses(document: Any) -> list[ServiceUse]:
    """Every service each rule of a (valid) document calls, found the way validation
    finds them: the rule class's `service_refs(params)`. Rules whose class or params
    cannot be read are left out (validation reports them)."""
    if not isinstance(document, dict) or not isinstance(document.get("stages"), dict):
        return []
    classes = rule_classes()
    settings = document.get("execution_settings")
    if not isinstance(settings, dict):
        settings = {}
    default_limit = _seconds(settings.get("default_timeout"))
    uses = []
    for stage_name, stage in document["stages"].items():
        if not isinstance(stage, dict) or not isinstance(stage.get("rules"), dict):
            continue
        stage_limit = _seconds(stage.get("timeout_seconds"))
        for rule_id, rule in stage["rules"].items():
            rule_class = classes.get(rule.get("class", "")) if isinstance(rule, dict) else None
            params = rule.get("params", {}) if isinstance(rule, dict) else None
            if rule_class is None or not isinstance(params, dict):
                continue
            try:
                refs = rule_class.service_refs(params)
            except Exception:  # noqa: BLE001, S112 - validation reports a rule whose services cannot be worked out
                continue
            own = _seconds(rule.get("timeout_seconds"))
            limit, source = math.inf, "no time limit"
            for value, where in (
                (own, "the rule's time limit"),
                (None if own is not None else default_limit, "the default rule time limit"),
                (stage_limit, f"stage {stage_name}'s time limit"),
            ):
                if value is not None and value < limit:
                    limit, source = value, where
            enabled = bool(rule.get("enabled", True)) and bool(stage.get("enabled", True))
            for slot, ref in refs.items():
                parts = ("stages", stage_name, "rules", rule_id) + (
                    ("params", slot) if slot in params else ()
                )
                uses.append(
                    ServiceUse(stage_name, rule_id, slot, ref, enabled, limit, source, json_pointer(parts))
                )
    return uses


def _binding_time_problems(document: Any, bindings: Iterable) -> list[dict]:
    """An HTTP binding must give up before the rules calling it do: a rule that reaches
    its time limit first abandons the call, which keeps a worker busy until the
    endpoint answers or the binding's timeout passes, and reports `timeout` instead of
    the vendor's error. Enabled rules only (turning one on validates it again)."""
    http = {(b.interface, b.name): b for b in bindings if b.kind == "http"}
    if not http:
        return []
    problems = []
    for use in document_service_uses(document):
        binding = http.get((use.ref.interface, use.ref.name))
        if binding is None or not use.enabled:
            continue
        longest = http_longest_call(binding)
        if longest < use.time_limit:
            continue
        retries = (
            f" with its {binding.retries} retr{'y' if binding.retries == 1 else 'ies'}"
            if binding.retries
            else ""
        )
        fix = (
            f"Give the binding a shorter timeout or fewer retries, so that a call ends in under "
            f"{use.time_limit:g} s"
            if binding.retries
            else f"Give the binding a timeout under {use.time_limit:g} s"
        )
        problems.append(
            {
                "path": use.path,
                "message": (
                    f"{use.reference} is bound to an HTTP endpoint that may take {longest:g} s{retries}, but rule "
                    f"'{use.rule}' gives up after {use.time_limit:g} s ({use.limit_source}): the call would be abandoned "
                    f"before the endpoint's own timeout. {fix}, or the rule more time."
                ),
            }
        )
    return problems


def http_longest_call(binding) -> float:
    """How long a call through an HTTP binding may take: every attempt timing out, and
    the waits between them (the engine's HTTP adapter's own figure)."""
    return longest_call_seconds(binding.timeout_seconds, binding.retries)


def document_problems(
    document: Any, environment=None, bindings: Iterable | None = None, pipeline=None
) -> list[dict]:
    """Every problem of a pipeline document, each {"path", "message"}; [] when valid.
    With an environment, checked against its service bindings (or `bindings`, a change
    to them not stored yet). With a pipeline, its own PII fields are what no customer
    message may quote (besides the document's own); otherwise the standard set."""
    if bindings is None:
        bindings = list(environment.service_bindings.all()) if environment is not None else []
    else:
        bindings = list(bindings)
    problems = rules_engine.validate_config(
        document,
        services=service_registry(environment, bindings),
        pii_fields=pipeline.masked_fields if pipeline is not None else None,
    )
    found = [{"path": p.path, "message": p.message} for p in problems]
    if not found and environment is not None:
        found = _binding_time_problems(document, bindings)
    return found


_COMPILED_LIMIT = 16
_compiled: OrderedDict[tuple[str, str], Any] = OrderedDict()
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
