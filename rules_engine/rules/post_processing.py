"""Post-processing rules: what happens once an application has been judged.

A customer id, an audit record, a composite risk score, and the notification to the
applicant. The risk score reads the details earlier rules left (see the docstrings of
:mod:`.compliance` and :mod:`.business`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

from rules_engine.masking import DEFAULT_PII_FIELDS, mask_record, mask_value, masked_fields
from rules_engine.rule import ERROR, FAIL, SKIP, TIMEOUT, Rule, RuleContext, Verdict, passed, skipped
from rules_engine.rules import params as p
from rules_engine.rules.record_values import is_missing, latest_details, run_now
from rules_engine.rules.service_responses import call_service
from rules_engine.services.interfaces import ServiceResponseError

__all__ = [
    "CustomerIDGenerationRule",
    "AuditTrailRule",
    "RiskScoreAggregationRule",
    "NotificationRule",
    "RISK_FACTORS",
    "RULE_CLASSES",
]


# ---------------------------------------------------------------- customer id


class CustomerIDGenerationRule(Rule):
    """Customer id: gives the applicant a customer id built from ``id_format``, where
    ``{timestamp}`` is the run's time in UTC (YYYYMMDDhhmmss) and ``{hash}`` the first
    12 hexadecimal digits of a SHA-256 fingerprint of the ``hash_fields`` (so the same
    applicant details always give the same hash), e.g. CUST-20260115120000-3F9A0C12D4E7.

    - Changes: ``customer_id`` (or the configured id field).
    - Passes: an id was generated, or the record already had one (kept as it is).
    - Skips: none of the hash fields has a value, so no stable id can be made.
    """

    transforms = True
    params_schema = p.rule_schema(
        "Customer id",
        "Generate the applicant's customer id.",
        {
            "id_format": p.prop(
                "string",
                "Id format",
                "The id's shape; {timestamp} and {hash} are replaced, other text is kept.",
                pattern=r"^(?:[^{}]|\{timestamp\}|\{hash\})+$",
                default="CUST-{timestamp}-{hash}",
            ),
            "hash_fields": p.field_list(
                "Fingerprint fields",
                "The fields whose values make the {hash} part.",
                default=["email", "phone", "ssn"],
            ),
            "id_field": p.field_name(
                "Id field", "The record field the id is written to.", default="customer_id"
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.id_format = self.params.get("id_format", "CUST-{timestamp}-{hash}")
        self.hash_fields = tuple(self.params.get("hash_fields", ["email", "phone", "ssn"]))
        self.id_field = self.params.get("id_field", "customer_id")

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        existing = data.get(self.id_field)
        if not is_missing(existing):
            return passed(f"{self.id_field} already set; kept", {"customer_id": existing, "generated": False})
        present = [field for field in self.hash_fields if not is_missing(data.get(field))]
        if not present:
            return skipped(
                f"none of {', '.join(self.hash_fields)} has a value; no stable id can be made",
                {"generated": False},
            )
        values = [data.get(field) for field in self.hash_fields]
        values = [v.strip() if isinstance(v, str) else v for v in values]
        fingerprint = json.dumps(
            values, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":")
        )
        digest = hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:12].upper()
        stamp = run_now(ctx.run_context).astimezone(UTC).strftime("%Y%m%d%H%M%S")
        customer_id = self.id_format.replace("{timestamp}", stamp).replace("{hash}", digest)
        ctx.set(self.id_field, customer_id)
        return passed(
            f"generated {self.id_field} {customer_id}",
            {"customer_id": customer_id, "generated": True, "hash_fields_used": present},
        )


# ---------------------------------------------------------------- audit

_RUN_KEYS = ("run_id", "now", "pipeline", "environment", "config_version", "source")


class AuditTrailRule(Rule):
    """Audit trail: writes an audit record of this application to the audit service:
    the record, every rule's outcome so far, and the retention period.

    Personal data is masked unless ``include_pii`` is on: SSN, date of birth, phone,
    email, name parts, address and document numbers are replaced by asterisks (last
    four digits of SSN and phone, first letter of names, email domain kept), and the
    rules' messages, which may quote personal data, are left out.

    - Passes: the audit service stored the record; the details carry its reference
      (``audit_id``) and which fields were masked.
    - Fails: never; it judges nothing about the applicant.
    - Errors: the audit service failed or timed out (the run may retry).
    """

    service_params = {"audit_service": "AuditService"}
    params_schema = p.rule_schema(
        "Audit trail",
        "Write an audit record of the application.",
        {
            "audit_service": p.service_ref(
                "AuditService", "Audit service", "Where audit records are stored."
            ),
            "include_pii": p.prop(
                "boolean",
                "Include personal data",
                "Store personal data in clear text. Off by default: it is masked.",
                default=False,
            ),
            "retention_days": p.prop(
                "integer",
                "Retention (days)",
                "How long the audit record must be kept (2555 days is 7 years).",
                minimum=1,
                maximum=36500,
                default=2555,
            ),
            "pii_fields": p.prop(
                "array",
                "Personal data fields",
                "The fields masked when personal data is not included.",
                items={"type": "string", "minLength": 1},
                uniqueItems=True,
                default=sorted(DEFAULT_PII_FIELDS),
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.include_pii = bool(self.params.get("include_pii", False))
        self.retention_days = int(self.params.get("retention_days", 2555))
        fields = self.params.get("pii_fields")
        self.pii_fields = frozenset(f.lower() for f in fields) if fields is not None else DEFAULT_PII_FIELDS

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        if self.include_pii:
            record, masked = dict(data), []
            results = [
                {"rule": rule_id, "outcome": v.outcome, "message": v.message}
                for rule_id, v in ctx.results.items()
            ]
        else:
            record, masked = mask_record(data, self.pii_fields), masked_fields(data, self.pii_fields)
            results = [{"rule": rule_id, "outcome": v.outcome} for rule_id, v in ctx.results.items()]
        run = {key: ctx.run_context[key] for key in _RUN_KEYS if ctx.run_context and key in ctx.run_context}
        result = call_service(
            self.services["audit_service"],
            "record",
            {
                "rule_id": ctx.rule_id,
                "run": run,
                "record": record,
                "results": results,
                "retention_days": self.retention_days,
                "pii_included": self.include_pii,
            },
            "the audit service",
        )
        audit_id = result.get("audit_id")
        if not isinstance(audit_id, str) or not audit_id:
            raise ServiceResponseError("the audit service answer lacks an 'audit_id'")
        details = {
            "audit_id": audit_id,
            "pii_included": self.include_pii,
            "masked_fields": masked,
            "retention_days": self.retention_days,
            "rules_recorded": len(results),
        }
        how = (
            "personal data included"
            if self.include_pii
            else (f"masked: {', '.join(masked)}" if masked else "no personal data present")
        )
        return passed(f"audit record {audit_id} written ({how})", details)


# ---------------------------------------------------------------- risk score


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0)


#: factor -> (the detail key an earlier rule emits, how its value becomes a 0..1 risk)
RISK_FACTORS: dict[str, tuple[str, Callable[[float], float], str]] = {
    "credit_score": (
        "credit_score",
        lambda score: _clamp((850 - score) / 550),
        "credit score from the credit score rule; 850 is no risk, 300 full risk",
    ),
    "aml_risk": ("aml_risk_score", _clamp, "AML risk score (0..1) from the AML risk assessment"),
    "geographic_risk": (
        "geographic_risk",
        _clamp,
        "geographic risk (0..1) from the geographic eligibility rule",
    ),
    "identity_confidence": (
        "identity_confidence",
        lambda confidence: _clamp(1 - confidence),
        "identity confidence (0..1) from the KYC rule; full confidence is no risk",
    ),
}
_DEFAULT_WEIGHTS = {"credit_score": 0.4, "aml_risk": 0.3, "geographic_risk": 0.2, "identity_confidence": 0.1}
_BANDS = ((0.3, "low"), (0.7, "medium"))


class RiskScoreAggregationRule(Rule):
    """Risk score: combines the risk signals of earlier rules into one score from 0
    (no risk) to 1 (highest), a weighted average, and a band: low (below 0.3),
    medium (below 0.7) or high.

    Factors and where they come from:

    - ``credit_score``: the credit score rule's score; 850 counts as no risk, 300 as full risk.
    - ``aml_risk``: the AML risk assessment's score.
    - ``geographic_risk``: the geographic eligibility rule's risk.
    - ``identity_confidence``: the KYC rule's confidence; full confidence is no risk.

    A factor whose rule did not run is named in the details, and its weight is shared
    among the others.

    - Changes: ``risk_score`` and ``risk_band``.
    - Passes: a score was computed.
    - Skips: no factor was available.
    """

    transforms = True
    params_schema = p.rule_schema(
        "Risk score",
        "Combine earlier rules' risk signals into one score and band.",
        {
            "scoring_model": p.prop(
                "string",
                "Scoring model",
                "composite_v2: weighted average of the available factors, weights of missing "
                "factors shared among the others.",
                enum=["composite_v2"],
                default="composite_v2",
            ),
            "weight_factors": p.prop(
                "object",
                "Weights",
                "How much each factor counts (relative weights, 0 to 1).",
                properties={
                    name: p.prop(
                        "number",
                        name.replace("_", " ").capitalize(),
                        f"Weight of the {text}.",
                        minimum=0,
                        maximum=1,
                    )
                    for name, (_, _, text) in RISK_FACTORS.items()
                },
                additionalProperties=False,
                minProperties=1,
                default=_DEFAULT_WEIGHTS,
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.model = self.params.get("scoring_model", "composite_v2")
        self.weights = dict(self.params.get("weight_factors", _DEFAULT_WEIGHTS))

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        found: dict[str, tuple[float, float]] = {}
        missing: list[str] = []
        signals = latest_details(ctx.results, (RISK_FACTORS[name][0] for name in self.weights))
        for name in self.weights:
            key, to_risk, _ = RISK_FACTORS[name]
            value = signals.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                missing.append(name)
                continue
            found[name] = (value, to_risk(float(value)))
        total = sum(self.weights[name] for name in found)
        if not found or total <= 0:
            return skipped(
                f"no risk factor available ({', '.join(missing)} missing); risk score not computed",
                {"missing_factors": missing},
            )
        score = round(sum(risk * self.weights[name] for name, (_, risk) in found.items()) / total, 4)
        band = next((label for limit, label in _BANDS if score < limit), "high")
        ctx.set("risk_score", score)
        ctx.set("risk_band", band)
        factors = {
            name: {"value": value, "risk": round(risk, 4), "weight": round(self.weights[name] / total, 4)}
            for name, (value, risk) in found.items()
        }
        message = f"risk score {score:.2f} ({band}) from {', '.join(found)}"
        if missing:
            message += f"; missing {', '.join(missing)} (weight shared among the others)"
        return passed(
            message,
            {
                "risk_score": score,
                "risk_band": band,
                "scoring_model": self.model,
                "factors": factors,
                "missing_factors": missing,
            },
        )


# ---------------------------------------------------------------- notification

_TEMPLATE_KEYS = ("success", "failure", "manual_review")


class NotificationRule(Rule):
    """Notification: tells the applicant the outcome, through the notification
    service, choosing one of three templates from the results of the rules that
    finished before it:

    - failure: a rule failed, errored or timed out;
    - manual_review: no failure, but a compliance rule asked for manual review (a near
      sanctions match, a medium AML score, nothing to screen), or a rule listed in
      ``review_rules`` failed or was skipped (list warning-level rules there);
    - success: otherwise.

    Rules in the same stage running in parallel may not have finished yet: add them
    as dependencies to take them into account.

    - Passes: the notification was sent; the message names the template.
    - Skips: the record has no address to send to (email, or phone for SMS).
    - Errors: the notification service failed or timed out.
    """

    service_params = {"notification_service": "NotificationService"}
    params_schema = p.rule_schema(
        "Notification",
        "Notify the applicant with the template matching the outcome.",
        {
            "notification_service": p.service_ref(
                "NotificationService", "Notification service", "The service that sends messages."
            ),
            "templates": p.prop(
                "object",
                "Templates",
                "The template sent for each outcome.",
                properties={
                    key: p.prop(
                        "string",
                        key.replace("_", " ").capitalize(),
                        f"Template name sent on {key.replace('_', ' ')}.",
                        minLength=1,
                    )
                    for key in _TEMPLATE_KEYS
                },
                required=list(_TEMPLATE_KEYS),
                additionalProperties=False,
            ),
            "channel": p.prop(
                "string", "Channel", "How to send the notification.", enum=["email", "sms"], default="email"
            ),
            "recipient_field": p.field_name(
                "Recipient field",
                "The record field holding the address to send to. Default: email for email, phone for SMS.",
            ),
            "review_rules": p.prop(
                "array",
                "Rules that trigger review",
                "Rule ids whose failure or skip means manual review rather than failure.",
                items={"type": "string", "minLength": 1},
                uniqueItems=True,
                default=[],
            ),
        },
        required=["templates"],
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.templates = dict(self.params["templates"])
        self.channel = self.params.get("channel", "email")
        self.recipient_field = self.params.get(
            "recipient_field", "phone" if self.channel == "sms" else "email"
        )
        self.review_rules = frozenset(self.params.get("review_rules", []))

    def choose(self, ctx: RuleContext) -> tuple[str, list[str]]:
        """The template key, and the rules that decided it."""
        failures: list[str] = []
        reviews: list[str] = []
        for rule_id, verdict in ctx.results.items():
            if rule_id == ctx.rule_id:
                continue
            if rule_id in self.review_rules and verdict.outcome in (FAIL, SKIP):
                reviews.append(rule_id)
            elif verdict.outcome in (FAIL, ERROR, TIMEOUT):
                failures.append(rule_id)
            elif verdict.details and verdict.details.get("manual_review"):
                reviews.append(rule_id)
        if failures:
            return "failure", failures
        if reviews:
            return "manual_review", reviews
        return "success", []

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        key, because = self.choose(ctx)
        template = self.templates[key]
        details: dict[str, Any] = {"template_key": key, "template": template, "because": because}
        recipient = data.get(self.recipient_field)
        if is_missing(recipient):
            return skipped(
                f"no {self.recipient_field} to send {template!r} ({key}) to; nothing sent", details
            )
        variables = {
            k: data[k] for k in ("first_name", "last_name", "customer_id") if not is_missing(data.get(k))
        }
        variables["outcome"] = key
        result = call_service(
            self.services["notification_service"],
            "send",
            {
                "channel": self.channel,
                "recipient": recipient,
                "template": template,
                "variables": variables,
            },
            "the notification service",
        )
        message_id = result.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            raise ServiceResponseError("the notification service answer lacks a 'message_id'")
        shown_recipient = mask_value(self.recipient_field, recipient)
        details.update({"message_id": message_id, "channel": self.channel, "recipient": shown_recipient})
        reason = ""
        if key == "failure":
            reason = f" because {', '.join(because)} did not pass"
        elif key == "manual_review":
            reason = f" because {', '.join(because)} asked for review"
        return passed(f"sent {template!r} ({key}) by {self.channel} to {shown_recipient}{reason}", details)


RULE_CLASSES = (CustomerIDGenerationRule, AuditTrailRule, RiskScoreAggregationRule, NotificationRule)
