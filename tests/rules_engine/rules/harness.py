"""Evaluate one rule directly, the way the executor does, without the executor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules_engine.rule import RuleContext, Verdict
from rules_engine.services import default_registry

NOW = "2026-01-15T12:00:00+00:00"


def build(cls: type, params: Mapping[str, Any], services: Any = None):
    """``cls("r", params, services)`` with its services resolved from ``services``
    (a ServiceRegistry; default: the simulated adapters)."""
    registry = services if services is not None else default_registry()
    bound = {slot: registry.resolve(ref) for slot, ref in cls.service_refs(params).items()}
    return cls("r", params, bound)


def evaluate(
    cls: type,
    params: Mapping[str, Any],
    data: Mapping[str, Any],
    *,
    context: Mapping[str, Any] | None = None,
    results: Mapping[str, Verdict] | None = None,
    services: Any = None,
) -> tuple[Verdict, dict[str, Any]]:
    """The verdict and the writes (``ctx.set``) of one evaluation."""
    rule = build(cls, params, services)
    ctx = RuleContext("r", {"now": NOW} if context is None else context, dict(results or {}))
    verdict = rule.evaluate(data, ctx)
    return verdict, ctx.writes
