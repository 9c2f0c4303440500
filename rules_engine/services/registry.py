"""Service references and the registry that binds them to adapters.

A config names an outside service as ``service:Interface:name`` (for example
``service:KYCService:jumio``). A :class:`ServiceRegistry` maps (interface, name) to an
adapter object; ``compile_pipeline`` resolves every reference once, so a reference
that nothing binds is a validation problem, never a failure at run time.

An interface may also have a *factory*: a callable ``factory(name) -> adapter`` used
for any name without an explicit binding (the simulated adapters work that way, so
any vendor name of a known interface runs out of the box).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

_REF = re.compile(r"^service:(?P<interface>[A-Za-z_][A-Za-z0-9_]*):(?P<name>[A-Za-z0-9_.\-]+)$")


class ServiceRef(NamedTuple):
    interface: str
    name: str

    def __str__(self) -> str:
        return f"service:{self.interface}:{self.name}"


def parse_service_ref(value: Any) -> ServiceRef | None:
    """The reference in ``value``, or None when it is not of the form service:Interface:name."""
    if not isinstance(value, str):
        return None
    match = _REF.match(value)
    return ServiceRef(match["interface"], match["name"]) if match else None


class UnboundService(LookupError):
    """No adapter is bound for a service reference."""


class ServiceRegistry:
    """Adapters by (interface, name); explicit bindings win over interface factories."""

    def __init__(self) -> None:
        self._bindings: dict[ServiceRef, Any] = {}
        self._factories: dict[str, Callable[[str], Any]] = {}

    def bind(self, interface: str, name: str, adapter: Any) -> ServiceRegistry:
        self._bindings[ServiceRef(interface, name)] = adapter
        return self

    def bind_factory(self, interface: str, factory: Callable[[str], Any]) -> ServiceRegistry:
        self._factories[interface] = factory
        return self

    def interfaces(self) -> set[str]:
        return {ref.interface for ref in self._bindings} | set(self._factories)

    def is_bound(self, ref: ServiceRef) -> bool:
        return ref in self._bindings or ref.interface in self._factories

    def resolve(self, ref: ServiceRef) -> Any:
        adapter = self._bindings.get(ref)
        if adapter is not None:
            return adapter
        factory = self._factories.get(ref.interface)
        if factory is None:
            raise UnboundService(f"no adapter is bound for {ref}")
        adapter = self._bindings[ref] = factory(ref.name)
        return adapter
