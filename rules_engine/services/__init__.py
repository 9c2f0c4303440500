"""Outside services rules call (KYC, sanctions, PEP, AML, credit, income, debt, address,
audit, notification), and how configs reach them.

- :func:`default_registry`: every interface, under any name, bound to a zero-latency,
  deterministic SIMULATED adapter (``rules_engine.services.simulated``).
- :func:`registry_from_spec`: a registry described by a services file (JSON/YAML)::

      {"defaults": {"type": "simulated", "latency_ms": 0, "failure_rate": 0.0, "seed": 0},
       "bindings": {
         "KYCService:jumio": {"type": "http", "url": "http://127.0.0.1:9000/kyc",
                              "timeout_seconds": 5, "secret_env": "JUMIO_API_KEY"},
         "SanctionsService:worldcheck": {"type": "simulated", "latency_ms": 50}}}

  ``defaults`` applies to every reference without an explicit binding (``"type":
  "none"`` leaves those unbound, so validation reports them); a simulated binding
  inherits the defaults' latency, failure rate and seed unless it sets its own.
  Secrets are named by environment variable, never written in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from rules_engine.services.http import HttpServiceAdapter
from rules_engine.services.interfaces import (
    INTERFACES,
    ServiceConfigurationError,
    ServiceError,
    ServiceHTTPError,
    ServiceResponseError,
    ServiceTimeout,
    ServiceUnavailable,
)
from rules_engine.services.registry import ServiceRef, ServiceRegistry, UnboundService, parse_service_ref
from rules_engine.services.simulated import SimulatedService, simulated_adapter, simulated_registry

__all__ = [
    "default_registry",
    "registry_from_spec",
    "registry_from_file",
    "simulated_registry",
    "SERVICES_SPEC_SCHEMA",
    "ServiceRegistry",
    "ServiceRef",
    "parse_service_ref",
    "UnboundService",
    "HttpServiceAdapter",
    "INTERFACES",
    "ServiceError",
    "ServiceUnavailable",
    "ServiceTimeout",
    "ServiceHTTPError",
    "ServiceResponseError",
    "ServiceConfigurationError",
]


def default_registry() -> ServiceRegistry:
    """Every known interface, under any name, as a zero-latency simulated adapter."""
    return simulated_registry()


_SIMULATED_OPTIONS = {
    "latency_ms": {
        "type": "number",
        "minimum": 0,
        "maximum": 600000,
        "description": "Delay added to every call, in milliseconds.",
    },
    "failure_rate": {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "description": "Share of calls that fail with ServiceUnavailable (0 to 1).",
    },
    "seed": {"type": "integer", "description": "Seed that decides which calls fail."},
}

_BINDING_KEY = r"^(service:)?[A-Za-z_][A-Za-z0-9_]*:[A-Za-z0-9_.\-]+$"

SERVICES_SPEC_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Service bindings",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "defaults": {
            "type": "object",
            "additionalProperties": False,
            "description": "How references without an explicit binding are served.",
            "properties": {
                "type": {
                    "enum": ["simulated", "none"],
                    "description": "simulated: a simulated adapter; none: left unbound.",
                },
                **_SIMULATED_OPTIONS,
            },
        },
        "bindings": {
            "type": "object",
            "description": "Explicit bindings, keyed Interface:name (e.g. KYCService:jumio).",
            "propertyNames": {"pattern": _BINDING_KEY},
            "additionalProperties": {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"enum": ["simulated", "http"]}},
                "allOf": [
                    {
                        "if": {"properties": {"type": {"const": "simulated"}}},
                        "then": {
                            "additionalProperties": False,
                            "properties": {"type": {"const": "simulated"}, **_SIMULATED_OPTIONS},
                        },
                    },
                    {
                        "if": {"properties": {"type": {"const": "http"}}},
                        "then": {
                            "additionalProperties": False,
                            "required": ["url"],
                            "properties": {
                                "type": {"const": "http"},
                                "url": {
                                    "type": "string",
                                    "pattern": r"^https?://\S+$",
                                    "description": "Endpoint; the operation name is appended.",
                                },
                                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
                                "secret_env": {
                                    "type": "string",
                                    "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
                                    "description": "Environment variable holding the API key.",
                                },
                                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                                "append_operation": {"type": "boolean"},
                                "retries": {
                                    "type": "integer",
                                    "minimum": 0,
                                    "maximum": 5,
                                    "description": "Times a call that failed transiently (no answer, "
                                    "no connection, 429, 5xx) is sent again.",
                                },
                                "retry_backoff_seconds": {"type": "number", "minimum": 0, "maximum": 10},
                            },
                        },
                    },
                ],
            },
        },
    },
}
_SPEC_VALIDATOR = Draft202012Validator(SERVICES_SPEC_SCHEMA)


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in path)


def spec_problems(spec: Any) -> list[str]:
    """Every problem of a services spec, as "/json/pointer: message" lines."""
    problems = [
        f"{_pointer(error.absolute_path)}: {error.message}"
        for error in sorted(_SPEC_VALIDATOR.iter_errors(spec), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if isinstance(spec, Mapping) and isinstance(spec.get("bindings"), Mapping):
        for key in spec["bindings"]:
            interface = str(key).removeprefix("service:").split(":", 1)[0]
            if interface not in INTERFACES:
                problems.append(
                    f"{_pointer(['bindings', key])}: unknown interface {interface!r}; "
                    f"known: {', '.join(sorted(INTERFACES))}"
                )
    return problems


def registry_from_spec(spec: Mapping[str, Any]) -> ServiceRegistry:
    """The registry a services spec describes; ValueError listing every problem when malformed."""
    problems = spec_problems(spec)
    if problems:
        raise ValueError("invalid services spec:\n" + "\n".join(f"  {p}" for p in problems))
    defaults = dict(spec.get("defaults") or {})
    default_type = defaults.pop("type", "simulated")
    registry = simulated_registry(**defaults) if default_type == "simulated" else ServiceRegistry()
    for key, binding in (spec.get("bindings") or {}).items():
        interface, name = key.removeprefix("service:").split(":", 1)
        options = {k: v for k, v in binding.items() if k != "type"}
        adapter: SimulatedService | HttpServiceAdapter
        if binding["type"] == "simulated":
            adapter = simulated_adapter(interface, name, **{**defaults, **options})
        else:
            adapter = HttpServiceAdapter(interface, name, options.pop("url"), **options)
        registry.bind(interface, name, adapter)
    return registry


def registry_from_file(path: str | Path) -> ServiceRegistry:
    """:func:`registry_from_spec` for a JSON or YAML (.yaml/.yml) file; ValueError when unreadable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"cannot read services file {path}: {error.strerror or error}") from None
    parse: Callable[[str], Any]
    parse_errors: tuple[type[Exception], ...]
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        parse, parse_errors = yaml.safe_load, (yaml.YAMLError, ValueError, RecursionError)
    else:
        import json

        parse, parse_errors = json.loads, (ValueError, RecursionError)
    try:
        spec = parse(text)
    except parse_errors as error:  # ValueError: also a YAML date that is no date
        raise ValueError(
            f"services file {path} is not valid {path.suffix.lstrip('.').upper() or 'JSON'}: {error}"
        ) from None
    return registry_from_spec(spec)
