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
"""

from __future__ import annotations

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
