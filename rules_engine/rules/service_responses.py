"""Calling an outside service from a rule and checking what came back.

A service that fails raises (ServiceError and its kinds) and the executor reports the
rule as ``error``/``timeout``; an answer that breaks the interface's promise raises
:class:`ServiceResponseError` here, never a silent ``fail``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules_engine.services.interfaces import ServiceResponseError


def call_service(adapter: Any, operation: str, payload: Mapping[str, Any], label: str) -> Mapping[str, Any]:
    """``adapter.operation(payload)``, checked to be a JSON object."""
    result = getattr(adapter, operation)(dict(payload))
    if not isinstance(result, Mapping):
        raise ServiceResponseError(
            f"{label} answered {operation} with {type(result).__name__}, not an object"
        )
    return result


def require_bool(result: Mapping[str, Any], key: str, label: str) -> bool:
    value = result.get(key)
    if not isinstance(value, bool):
        raise ServiceResponseError(f"{label} answer lacks a true/false '{key}'")
    return value


def require_number(
    result: Mapping[str, Any],
    key: str,
    label: str,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    value = result.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ServiceResponseError(f"{label} answer lacks a numeric '{key}'")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ServiceResponseError(f"{label} answered '{key}' {value}, outside {minimum}..{maximum}")
    return value


def require_list(result: Mapping[str, Any], key: str, label: str) -> list[Mapping[str, Any]]:
    value = result.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise ServiceResponseError(f"{label} answer's '{key}' is not a list of objects")
    return value
