"""The service interfaces rules call, and the errors adapters raise.

Every operation takes one JSON-like ``payload`` dict and returns a JSON-like dict, so
the simulated adapters and the generic HTTP JSON adapter are interchangeable. The
payload's ``applicant`` holds only the record fields the calling rule needs.

============================  =====================  =======================================
interface                     operation              response keys (besides "simulated")
============================  =====================  =======================================
KYCService                    verify_identity        verified, verification_id, confidence,
                                                     reasons, document_type
SanctionsService              screen                 matches [{entry_id, name, matched_name,
                                                     list, program, status, score}],
                                                     lists_checked
PEPService                    screen                 matches [{entry_id, name, matched_name,
                                                     position, country, category,
                                                     relationship, score}]
RiskEngine                    assess                 risk_score (0..1), risk_level, factors
CreditBureau                  credit_report          file_found, score, model, bureau
IncomeService                 verify_income          verified, monthly_income, method, reason
DebtService                   monthly_debt           monthly_debt, breakdown
AddressService                normalize_address      standardized, address, city, state,
                                                     zip_code, notes
AuditService                  record                 audit_id, stored_at
NotificationService           send                   message_id, status
============================  =====================  =======================================

A rule raises (it never returns ``fail``) when its service fails, so the executor
reports ``error`` or ``timeout`` and may retry.

What an adapter tells the executor (read once, when a pipeline is compiled):

- ``waits_on_io``: whether a call may wait on I/O (the network, a simulated delay). A
  rule whose services do not wait runs in the calling thread. An adapter without the
  attribute is taken to wait.
- ``bounds_calls``: whether the adapter ends a call itself when the time the executor
  gives it runs out (:func:`call_deadline`), raising :class:`ServiceTimeout`. Such a
  call may run in the calling thread of a sequential stage; a call that waits and
  cannot be bounded runs on the pipeline's pool, where its timeout can abandon it. An
  adapter without the attribute is taken not to bound its calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from time import perf_counter
from typing import Any

INTERFACES: dict[str, tuple[str, ...]] = {
    "KYCService": ("verify_identity",),
    "SanctionsService": ("screen",),
    "PEPService": ("screen",),
    "RiskEngine": ("assess",),
    "CreditBureau": ("credit_report",),
    "IncomeService": ("verify_income",),
    "DebtService": ("monthly_debt",),
    "AddressService": ("normalize_address",),
    "AuditService": ("record",),
    "NotificationService": ("send",),
}


class ServiceError(Exception):
    """An outside service could not give an answer."""


class ServiceUnavailable(ServiceError):
    """The service is down, unreachable, or refused the call."""


class ServiceTimeout(ServiceError):
    """The service did not answer within its timeout."""


class ServiceHTTPError(ServiceUnavailable):
    """The service answered with a non-2xx HTTP status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class ServiceResponseError(ServiceError):
    """The service answered, but not with the JSON object the interface promises."""


class ServiceConfigurationError(ServiceError):
    """The adapter is not usable as configured (for example a missing secret variable)."""


_CALL_DEADLINE: ContextVar[float | None] = ContextVar("rules_engine_call_deadline", default=None)


@contextmanager
def call_deadline(deadline: float) -> Iterator[None]:
    """Service calls made in this block (in this thread) must end by ``deadline`` (a
    :func:`time.perf_counter` reading): the executor sets it to the nearer of the rule's
    and the stage's deadlines."""
    token = _CALL_DEADLINE.set(deadline)
    try:
        yield
    finally:
        _CALL_DEADLINE.reset(token)


def call_time_left() -> float | None:
    """Seconds left before the deadline of :func:`call_deadline` (0 or less: it has
    passed), or None when no deadline is set."""
    deadline = _CALL_DEADLINE.get()
    return None if deadline is None else deadline - perf_counter()


def waits_on_io(adapter: Any) -> bool:
    """Whether a call to ``adapter`` may wait on I/O (True unless it says otherwise)."""
    return bool(getattr(adapter, "waits_on_io", True))


def bounds_calls(adapter: Any) -> bool:
    """Whether ``adapter`` ends its calls at the :func:`call_deadline` (False unless it says so)."""
    return bool(getattr(adapter, "bounds_calls", False))
