"""The contract between the executor and every rule class.

A rule class declares the JSON Schema of its ``params`` and, when it calls outside
services, which of its params name a service (``service:Interface:name``) or which
interface it needs by default. The executor builds each rule once, at compile time,
and calls :meth:`Rule.evaluate` for every record.

``evaluate`` reads the record through ``data`` (a read-only view of the working copy),
writes through ``ctx.set`` (the executor applies the writes when the rule finishes, so
concurrent rules never write the same copy, and a retried or late attempt leaves no
trace), and returns a :class:`Verdict`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Reversible
from typing import Any, ClassVar, NamedTuple, cast

from rules_engine.services.registry import ServiceRef, parse_service_ref

PASS = "pass"  # noqa: S105 - an outcome name, not a password
FAIL = "fail"
SKIP = "skip"
ERROR = "error"
TIMEOUT = "timeout"
OUTCOMES = (PASS, FAIL, SKIP, ERROR, TIMEOUT)

_NO_DETAILS: Mapping[str, Any] = {}

# What a rule's evaluate may wait on besides its services (Rule.own_io).
#: nothing of its own
NO_IO = "none"
#: network look-ups of its own, made only in runs that allow them (run context ``allow_network``)
NETWORK_IO = "network"
#: something of its own that may block in any run
BLOCKING_IO = "blocking"


class Verdict(NamedTuple):
    """What a rule decided about one record."""

    outcome: str
    message: str
    details: Mapping[str, Any] = _NO_DETAILS


#: builds a Verdict without the generated ``__new__`` (a Python frame per verdict); the
#: helpers below are called by every rule on every record
_new_tuple = tuple.__new__


def passed(message: str, details: Mapping[str, Any] | None = None) -> Verdict:
    return _new_tuple(Verdict, (PASS, message, _NO_DETAILS if details is None else details))


def failed(message: str, details: Mapping[str, Any] | None = None) -> Verdict:
    return _new_tuple(Verdict, (FAIL, message, _NO_DETAILS if details is None else details))


def skipped(message: str, details: Mapping[str, Any] | None = None) -> Verdict:
    return _new_tuple(Verdict, (SKIP, message, _NO_DETAILS if details is None else details))


class RuleContext:
    """What a rule may see and do during one evaluation, besides reading the record.

    - ``rule_id``: the id of the rule being evaluated.
    - ``run_context``: the caller's context for this run (``now`` as an ISO timestamp,
      ``run_id``, ...); read-only.
    - ``results`` / ``outcome(rule_id)`` / ``details(rule_id)`` / ``find_detail(key)``:
      the verdicts of rules that already finished in this run (any stage), for rules
      that aggregate earlier results.
    - ``set(field, value)``: change a field of the record; recorded in ``changes``.
    """

    __slots__ = ("rule_id", "run_context", "results", "writes")

    def __init__(self, rule_id: str, run_context: Mapping[str, Any], results: Mapping[str, Verdict]):
        self.rule_id = rule_id
        self.run_context = run_context
        #: verdicts of the rules finished so far in this run, by rule id, in pipeline order
        #: (stage by stage, document order within a stage)
        self.results = results
        self.writes: dict[str, Any] = {}

    def set(self, field: str, value: Any) -> None:
        self.writes[field] = value

    def outcome(self, rule_id: str) -> str | None:
        verdict = self.results.get(rule_id)
        return verdict.outcome if verdict is not None else None

    def details(self, rule_id: str) -> Mapping[str, Any]:
        verdict = self.results.get(rule_id)
        return verdict.details if verdict is not None else _NO_DETAILS

    def find_detail(self, key: str, default: Any = None) -> Any:
        """The newest value of ``details[key]`` among the finished rules, or ``default``."""
        for verdict in newest_first(self.results):
            details = verdict.details
            if key in details:
                return details[key]
        return default


def newest_first(results: Mapping[str, Verdict]) -> Iterator[Verdict]:
    """The verdicts of ``results`` (``ctx.results``), the latest finished rule first:
    straight off the executor's view (or a dict), without copying it first."""
    values = results.values()
    try:
        return reversed(cast("Reversible[Verdict]", values))
    except TypeError:  # a mapping whose values cannot be walked backwards
        return iter(list(values)[::-1])


class Rule:
    """Base class of every rule.

    Subclasses set ``params_schema`` (a JSON Schema object for ``params``), write a
    docstring a business user can read (shown as help in the console), and implement
    :meth:`evaluate`.

    Services: ``service_params`` maps a param name to the service interface it refers
    to (the param's value is ``service:Interface:name``); ``default_services`` maps a
    slot name to an interface bound under the name ``default`` when the config names
    none. Either way the bound adapters arrive in ``self.services[slot]`` (for
    ``service_params`` the slot is the param name). Rules with services are
    ``blocking``. Where the executor runs a rule follows from its services (whether
    their calls wait on I/O and whether they can end a call at a deadline; see
    :mod:`rules_engine.services.interfaces`) and from :attr:`own_io`: a rule that waits
    on something that cannot be bounded runs where its timeout can abandon it.
    """

    params_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    service_params: ClassVar[dict[str, str]] = {}
    default_services: ClassVar[dict[str, str]] = {}
    #: reads the record only (False) or may call ``ctx.set`` (True)
    transforms: ClassVar[bool] = False

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        self.rule_id = rule_id
        self.params = dict(params)
        self.services = dict(services or {})

    @classmethod
    def service_refs(cls, params: Mapping[str, Any]) -> dict[str, ServiceRef]:
        """The services this rule needs for ``params`` (already valid against
        ``params_schema``), by slot. Override when a param names a service another way."""
        refs: dict[str, ServiceRef] = {}
        for param, interface in cls.service_params.items():
            ref = parse_service_ref(params.get(param))
            refs[param] = ref if ref is not None else ServiceRef(interface, "default")
        for slot, interface in cls.default_services.items():
            refs[slot] = ServiceRef(interface, "default")
        return refs

    @property
    def blocking(self) -> bool:
        return bool(self.services)

    @property
    def own_io(self) -> str:
        """What ``evaluate`` may wait on besides its services: :data:`NO_IO`,
        :data:`NETWORK_IO` (look-ups made only in runs that allow network look-ups) or
        :data:`BLOCKING_IO` (anything that may block in any run). By default a class
        that overrides ``blocking`` and says True blocks on its own in every run."""
        if type(self).blocking is not Rule.blocking and self.blocking:
            return BLOCKING_IO
        return NO_IO

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def describe(cls) -> str:
        """The docstring, as help text for people editing the rule's params."""
        return (cls.__doc__ or "").strip()
