"""Post-processing rules: customer id, audit trail, risk score, notification."""

from __future__ import annotations

import pytest

from rules_engine.rule import Verdict, failed, passed, skipped
from rules_engine.rules.post_processing import (
    AuditTrailRule,
    CustomerIDGenerationRule,
    NotificationRule,
    RiskScoreAggregationRule,
)
from rules_engine.services import simulated_registry
from rules_engine.services.simulated import SimulatedAuditService, SimulatedNotificationService

from .harness import evaluate

RECORD = {
    "first_name": "Maria",
    "last_name": "Garcia",
    "email": "maria.garcia@example.com",
    "phone": "+12125550147",
    "ssn": "123-45-6789",
    "date_of_birth": "1988-07-21",
    "state": "NY",
}
ID_SEED = {"id_format": "CUST-{timestamp}-{hash}", "hash_fields": ["email", "phone", "ssn"]}


# ---------------------------------------------------------------- customer id


def test_customer_id__new_applicant__gets_timestamp_and_hash_id():
    # Given new applicant; When customer id runs; Then it gets timestamp and hash id
    verdict, writes = evaluate(CustomerIDGenerationRule, ID_SEED, RECORD)
    customer_id = writes["customer_id"]
    assert verdict.outcome == "pass"
    prefix, stamp, digest = customer_id.split("-")
    assert (prefix, stamp) == ("CUST", "20260115120000")
    assert len(digest) == 12 and int(digest, 16) >= 0
    assert verdict.details["customer_id"] == customer_id


def test_customer_id__same_details__same_hash_and_different_details_differ():
    # Given same details; When customer id runs; Then it same hash and different details differ
    first, w1 = evaluate(CustomerIDGenerationRule, ID_SEED, RECORD)
    again, w2 = evaluate(CustomerIDGenerationRule, ID_SEED, {**RECORD, "first_name": "Other"})
    other, w3 = evaluate(CustomerIDGenerationRule, ID_SEED, {**RECORD, "ssn": "123-45-6780"})
    assert w1 == w2 and w1 != w3


def test_customer_id__run_time_with_offset__timestamp_in_utc():
    # Given a run time 07:00 at UTC-5; When the id is generated; Then its timestamp is 12:00 UTC
    _, writes = evaluate(
        CustomerIDGenerationRule,
        {"id_format": "{timestamp}"},
        RECORD,
        context={"now": "2026-01-15T07:00:00-05:00"},
    )
    assert writes == {"customer_id": "20260115120000"}


def test_customer_id__existing_id__is_kept():
    # Given existing id; When customer id runs; Then it is kept
    verdict, writes = evaluate(CustomerIDGenerationRule, ID_SEED, {**RECORD, "customer_id": "CUST-OLD"})
    assert verdict.outcome == "pass" and writes == {} and verdict.details["generated"] is False


def test_customer_id__no_hash_field__skips():
    # Given no hash field; When customer id runs; Then it skips
    verdict, writes = evaluate(CustomerIDGenerationRule, ID_SEED, {"first_name": "Maria"})
    assert verdict.outcome == "skip" and writes == {}


# ---------------------------------------------------------------- audit

AUDIT_SEED = {"audit_service": "service:AuditService:primary", "include_pii": False, "retention_days": 2555}


def _audit_registry():
    audit = SimulatedAuditService("primary")
    return audit, simulated_registry().bind("AuditService", "primary", audit)


def test_audit_trail__default__stores_masked_record_and_returns_reference():
    # Given earlier results, one of whose messages quotes the email
    audit, registry = _audit_registry()
    results = {"email_format": failed("email 'maria.garcia@example.com' is malformed: x")}
    # When audited without PII
    verdict, _ = evaluate(
        AuditTrailRule,
        AUDIT_SEED,
        RECORD,
        results=results,
        services=registry,
        context={"now": "2026-01-15T12:00:00+00:00", "run_id": "run-1"},
    )
    # Then the stored record is masked, messages are left out, and the reference comes back
    stored = audit.records[-1]
    assert verdict.outcome == "pass" and verdict.details["audit_id"] == stored["audit_id"]
    assert stored["record"]["ssn"] == "***-**-6789"
    assert stored["record"]["email"] == "m***********@example.com"
    assert stored["record"]["state"] == "NY"
    assert stored["results"] == [{"rule": "email_format", "outcome": "fail"}]
    assert stored["run"] == {"run_id": "run-1", "now": "2026-01-15T12:00:00+00:00"}
    assert "123-45-6789" not in repr(stored) and "maria.garcia" not in repr(stored)
    assert verdict.details["masked_fields"] == [
        "date_of_birth",
        "email",
        "first_name",
        "last_name",
        "phone",
        "ssn",
    ]


def test_audit_trail__include_pii__stores_clear_text():
    # Given include pii; When audit trail runs; Then it stores clear text
    audit, registry = _audit_registry()
    verdict, _ = evaluate(AuditTrailRule, {**AUDIT_SEED, "include_pii": True}, RECORD, services=registry)
    assert audit.records[-1]["record"]["ssn"] == "123-45-6789"
    assert "personal data included" in verdict.message


def test_audit_trail__custom_pii_fields__masks_those():
    # Given custom pii fields; When audit trail runs; Then it masks those
    audit, registry = _audit_registry()
    evaluate(AuditTrailRule, {**AUDIT_SEED, "pii_fields": ["state"]}, RECORD, services=registry)
    assert audit.records[-1]["record"]["state"] == "**"
    assert audit.records[-1]["record"]["ssn"] == "123-45-6789"


def test_audit_trail__service_without_reference__raises():
    # Given service without reference; When audit trail runs; Then it raises
    class NoId:
        def record(self, payload):
            return {"ok": True}

    registry = simulated_registry().bind("AuditService", "primary", NoId())
    with pytest.raises(Exception, match="audit_id"):
        evaluate(AuditTrailRule, AUDIT_SEED, RECORD, services=registry)


# ---------------------------------------------------------------- risk score

RISK_SEED = {
    "scoring_model": "composite_v2",
    "weight_factors": {
        "credit_score": 0.4,
        "aml_risk": 0.3,
        "geographic_risk": 0.2,
        "identity_confidence": 0.1,
    },
}


def _upstream(**details) -> dict[str, Verdict]:
    return {f"rule_{key}": passed("...", {key: value}) for key, value in details.items()}


def test_risk_score__all_factors__weighted_composite_and_band():
    # Given credit 740, AML 0.1, geography 0.1, identity 0.9
    results = _upstream(credit_score=740, aml_risk_score=0.1, geographic_risk=0.1, identity_confidence=0.9)
    # When aggregated
    verdict, writes = evaluate(RiskScoreAggregationRule, RISK_SEED, {}, results=results)
    # Then risk = 0.4*(110/550) + 0.3*0.1 + 0.2*0.1 + 0.1*0.1 = 0.14, band low
    assert writes == {"risk_score": 0.14, "risk_band": "low"}
    assert verdict.details["missing_factors"] == []
    assert verdict.details["factors"]["credit_score"] == {"value": 740, "risk": 0.2, "weight": 0.4}


def test_risk_score__missing_factor__named_and_weight_redistributed():
    # Given missing factor; When risk score runs; Then it named and weight redistributed
    results = _upstream(credit_score=300, aml_risk_score=1.0)
    verdict, writes = evaluate(RiskScoreAggregationRule, RISK_SEED, {}, results=results)
    assert writes == {"risk_score": 1.0, "risk_band": "high"}
    assert verdict.details["missing_factors"] == ["geographic_risk", "identity_confidence"]
    assert verdict.details["factors"]["credit_score"]["weight"] == pytest.approx(0.5714, abs=1e-4)
    assert "missing geographic_risk, identity_confidence (weight shared among the others)" in verdict.message


def test_risk_score__medium_band__between_thresholds():
    # Given medium band; When risk score runs; Then it between thresholds
    verdict, writes = evaluate(RiskScoreAggregationRule, RISK_SEED, {}, results=_upstream(aml_risk_score=0.5))
    assert writes == {"risk_score": 0.5, "risk_band": "medium"}


def test_risk_score__no_factor__skips():
    # Given no factor; When risk score runs; Then it skips
    verdict, writes = evaluate(RiskScoreAggregationRule, RISK_SEED, {}, results=_upstream(other=1))
    assert verdict.outcome == "skip" and writes == {}


def test_risk_score__non_numeric_detail__counts_as_missing():
    # Given non numeric detail; When risk score runs; Then it counts as missing
    verdict, writes = evaluate(
        RiskScoreAggregationRule, RISK_SEED, {}, results=_upstream(credit_score="high", aml_risk_score=0.2)
    )
    assert verdict.details["missing_factors"][0] == "credit_score" and writes["risk_score"] == 0.2


# ---------------------------------------------------------------- notification

TEMPLATES = {
    "success": "customer_onboarding_success",
    "failure": "customer_onboarding_failure",
    "manual_review": "customer_manual_review_required",
}
NOTIFY_SEED = {"notification_service": "service:NotificationService:sendgrid", "templates": TEMPLATES}


def _notify(results, data=RECORD, params=NOTIFY_SEED):
    sender = SimulatedNotificationService("sendgrid")
    registry = simulated_registry().bind("NotificationService", "sendgrid", sender)
    verdict, _ = evaluate(NotificationRule, params, data, results=results, services=registry)
    return verdict, sender


def test_notification__all_passed__sends_success_template():
    # Given all passed; When notification runs; Then it sends success template
    verdict, sender = _notify({"a": passed("ok"), "b": skipped("nothing to trim")})
    assert verdict.outcome == "pass"
    assert (
        verdict.message == "sent 'customer_onboarding_success' (success) by email to m***********@example.com"
    )
    assert sender.sent[-1]["template"] == "customer_onboarding_success"
    assert sender.sent[-1]["recipient"] == "maria.garcia@example.com"


def test_notification__a_rule_failed__sends_failure_naming_it():
    # Given a rule failed; When notification runs; Then it sends failure naming it
    verdict, sender = _notify({"a": passed("ok"), "age_verification": failed("too young")})
    assert verdict.details["template_key"] == "failure"
    assert verdict.message.endswith("because age_verification did not pass")


def test_notification__compliance_asked_for_review__sends_manual_review():
    # Given compliance asked for review; When notification runs; Then it sends manual review
    results = {"sanctions": passed("near match", {"manual_review": True})}
    verdict, _ = _notify(results)
    assert verdict.details["template"] == "customer_manual_review_required"
    assert verdict.details["because"] == ["sanctions"]


def test_notification__review_rule_failed__sends_manual_review_not_failure():
    # Given review rule failed; When notification runs; Then it sends manual review not failure
    params = {**NOTIFY_SEED, "review_rules": ["pep_screening"]}
    verdict, _ = _notify({"pep_screening": failed("PEP match")}, params=params)
    assert verdict.details["template_key"] == "manual_review"


def test_notification__failure_and_review__failure_wins():
    # Given one rule asking for review and one timing out; When notified; Then the failure template wins
    verdict, _ = _notify({"s": passed("x", {"manual_review": True}), "t": Verdict("timeout", "slow")})
    assert verdict.details["template_key"] == "failure"


def test_notification__no_recipient__skips_naming_the_template():
    # Given no recipient; When notification runs; Then it skips naming the template
    verdict, sender = _notify({}, data={"first_name": "Maria"})
    assert verdict.outcome == "skip" and not sender.sent
    assert verdict.message == "no email to send 'customer_onboarding_success' (success) to; nothing sent"


def test_notification__sms_channel__uses_the_phone():
    # Given sms channel; When notification runs; Then it uses the phone
    verdict, sender = _notify({}, params={**NOTIFY_SEED, "channel": "sms"})
    assert sender.sent[-1]["recipient"] == "+12125550147"
    assert verdict.details["recipient"] == "+*******0147"
