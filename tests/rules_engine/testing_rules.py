"""Rule classes for testing the engine itself (sleeping, raising, flaky, writing...).

Golden files select them with ``"rules": "testing"``; tests pass
``rules=rules_for_tests()``. None of them calls a real service: a rule is
``blocking`` (runs on the pool, where its timeout can abandon it) when its params say
``"blocking": true``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from rules_engine.rule import ERROR, FAIL, OUTCOMES, PASS, Rule, RuleContext, Verdict, failed, passed

_OUTCOME = {"type": "string", "enum": list(OUTCOMES)}


class _TestRule(Rule):
    @property
    def blocking(self) -> bool:
        return bool(self.params.get("blocking", False)) or bool(self.services)


class CheckFieldRule(_TestRule):
    """Passes when ``field`` has a value (and equals ``equals`` when given)."""

    params_schema = {
        "type": "object",
        "properties": {"field": {"type": "string"}, "equals": {}, "blocking": {"type": "boolean"}},
        "required": ["field"],
        "additionalProperties": False,
    }

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        field = self.params["field"]
        value = data.get(field)
        if value is None or value == "":
            return failed(f"{field} is missing.", {"field": field})
        if "equals" in self.params and value != self.params["equals"]:
            return failed(f"{field} is {value!r}, not {self.params['equals']!r}.", {"field": field})
        return passed(f"{field} is present.")


class OutcomeRule(_TestRule):
    """Returns the configured outcome (default pass), after sleeping ``sleep`` seconds;
    appends its id to ``context.trace`` (a list) when the run context has one."""

    params_schema = {
        "type": "object",
        "properties": {
            "outcome": _OUTCOME,
            "sleep": {"type": "number", "minimum": 0},
            "message": {"type": "string"},
            "blocking": {"type": "boolean"},
            "details": {"type": "object"},
        },
        "additionalProperties": False,
    }

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        trace = ctx.run_context.get("trace")
        if isinstance(trace, list):
            trace.append(self.rule_id)
        if self.params.get("sleep"):
            time.sleep(self.params["sleep"])
        outcome = self.params.get("outcome", PASS)
        return Verdict(
            outcome, self.params.get("message", f"{self.rule_id}: {outcome}"), self.params.get("details", {})
        )


class RaiseRule(_TestRule):
    """Raises ``exception`` (ValueError by default) with ``message``."""

    params_schema = {
        "type": "object",
        "properties": {
            "message": {"type": "string"},
            "exception": {"enum": ["ValueError", "KeyError", "RuntimeError"]},
            "blocking": {"type": "boolean"},
        },
        "additionalProperties": False,
    }

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        kind = {"ValueError": ValueError, "KeyError": KeyError, "RuntimeError": RuntimeError}[
            self.params.get("exception", "ValueError")
        ]
        raise kind(self.params.get("message", "boom"))


class FlakyRule(_TestRule):
    """Fails its first ``failures`` attempts in a run, then passes. A failing attempt
    gives ``failure`` ("error", "fail", "raise", or "sleep" to overrun a timeout) and
    sets ``field`` to ``"attempt N"`` (so a test can see that its writes were dropped).
    Attempts are counted in ``context.attempts`` (an object the run context must hold)."""

    params_schema = {
        "type": "object",
        "properties": {
            "failures": {"type": "integer", "minimum": 0},
            "failure": {"enum": ["error", "fail", "raise", "sleep"]},
            "sleep": {"type": "number", "minimum": 0},
            "field": {"type": "string"},
            "blocking": {"type": "boolean"},
        },
        "required": ["failures"],
        "additionalProperties": False,
    }
    transforms = True

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        counts = ctx.run_context["attempts"]
        attempt = counts[self.rule_id] = counts.get(self.rule_id, 0) + 1
        field = self.params.get("field")
        if field:
            ctx.set(field, f"attempt {attempt}")
        if attempt > self.params["failures"]:
            return passed(f"passed on attempt {attempt}")
        failure = self.params.get("failure", "error")
        if failure == "raise":
            raise RuntimeError(f"attempt {attempt} broke")
        if failure == "sleep":
            time.sleep(self.params.get("sleep", 0.3))
            return passed(f"passed late on attempt {attempt}")
        return Verdict(ERROR if failure == "error" else FAIL, f"attempt {attempt} gave {failure}")


class SetFieldRule(_TestRule):
    """Sets ``field`` to ``value`` (or, with ``upper``, to the field's text upper-cased)
    and returns ``outcome``; with ``raise_after`` it raises after setting."""

    params_schema = {
        "type": "object",
        "properties": {
            "field": {"type": "string"},
            "value": {},
            "upper": {"type": "boolean"},
            "outcome": _OUTCOME,
            "raise_after": {"type": "boolean"},
            "sleep": {"type": "number", "minimum": 0},
            "blocking": {"type": "boolean"},
        },
        "required": ["field"],
        "additionalProperties": False,
    }
    transforms = True

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        field = self.params["field"]
        if self.params.get("upper"):
            ctx.set(field, str(data.get(field, "")).upper())
        else:
            ctx.set(field, self.params.get("value"))
        if self.params.get("sleep"):
            time.sleep(self.params["sleep"])
        if self.params.get("raise_after"):
            raise ValueError("changed my mind")
        outcome = self.params.get("outcome", PASS)
        return Verdict(outcome, f"{field} set", {})


class PeekResultsRule(_TestRule):
    """Passes, reporting the outcomes of the rules finished before it (``ctx.results``)."""

    params_schema = {
        "type": "object",
        "properties": {"blocking": {"type": "boolean"}},
        "additionalProperties": False,
    }

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        return passed(
            "peeked",
            {
                "seen": {rule_id: verdict.outcome for rule_id, verdict in ctx.results.items()},
                "now": ctx.run_context.get("now"),
            },
        )


class BadReturnRule(_TestRule):
    """Returns something that is not a verdict."""

    params_schema = {
        "type": "object",
        "properties": {"blocking": {"type": "boolean"}},
        "additionalProperties": False,
    }

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Any:
        return {"ok": True}


class ServiceEchoRule(Rule):
    """Calls its ``echo`` service (``service:EchoService:<name>``) and passes with the reply."""

    params_schema = {
        "type": "object",
        "properties": {"echo": {"type": "string"}},
        "additionalProperties": False,
    }
    service_params = {"echo": "EchoService"}

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        return passed("echoed", {"reply": self.services["echo"](dict(data))})


class BrokenSetupRule(Rule):
    """Raises when built (a rule the compiler cannot set up)."""

    params_schema = {"type": "object"}

    def __init__(self, rule_id, params, services=None):
        raise ValueError("cannot build")


class BarrierRule(_TestRule):
    """Passes once ``parties`` rules of its ``group`` wait together (a thread barrier),
    raises when they do not within ``wait`` seconds: shows, without timing, whether rules
    run at the same time. Blocking (it runs on the pool)."""

    params_schema = {
        "type": "object",
        "properties": {
            "group": {"type": "string"},
            "parties": {"type": "integer", "minimum": 1},
            "wait": {"type": "number", "minimum": 0},
        },
        "required": ["group", "parties"],
        "additionalProperties": False,
    }
    _barriers: dict = {}
    _lock = threading.Lock()

    @property
    def blocking(self) -> bool:
        return True

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        with self._lock:
            barrier = self._barriers.setdefault(
                self.params["group"], threading.Barrier(self.params["parties"])
            )
        barrier.wait(timeout=self.params.get("wait", 1.0))
        return passed("met the others")


def rules_for_tests() -> dict[str, type[Rule]]:
    return {
        cls.__name__: cls
        for cls in (
            CheckFieldRule,
            OutcomeRule,
            RaiseRule,
            FlakyRule,
            SetFieldRule,
            PeekResultsRule,
            BadReturnRule,
            ServiceEchoRule,
            BrokenSetupRule,
            BarrierRule,
        )
    }


def services_for_tests():
    """Only an ``EchoService`` named ``default`` and ``loud``."""
    from rules_engine.services.registry import ServiceRegistry

    registry = ServiceRegistry()
    registry.bind("EchoService", "default", lambda record: "echo")
    registry.bind("EchoService", "loud", lambda record: "ECHO")
    return registry
