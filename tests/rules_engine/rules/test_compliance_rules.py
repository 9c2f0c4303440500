"""Compliance rules: KYC, sanctions, PEP, AML (against the simulated services)."""

from __future__ import annotations

import pytest

from rules_engine.rule import passed
from rules_engine.rules.compliance import (
    AMLRiskRule,
    KYCComplianceRule,
    KYCIdentityRule,
    OFACSanctionsRule,
    PEPScreeningRule,
    SanctionsScreeningRule,
)
from rules_engine.services import (
    ServiceRegistry,
    ServiceResponseError,
    ServiceUnavailable,
    simulated_registry,
)
from rules_engine.services.simulated import SimulatedKYCService

from .harness import evaluate

APPLICANT = {
    "first_name": "Maria",
    "last_name": "Garcia",
    "name": "Maria Elena Garcia",
    "ssn": "123-45-6789",
    "date_of_birth": "1988-07-21",
    "address": "350 Fifth Ave",
    "state": "NY",
    "country": "US",
}
KYC_SEED = {
    "kyc_service": "service:KYCService:jumio",
    "verification_level": "enhanced",
    "document_types": ["drivers_license", "passport", "state_id"],
}


class _Answers:
    """A stand-in adapter answering every operation with a fixed object."""

    def __init__(self, answer):
        self.answer = answer

    def __getattr__(self, operation):
        return lambda payload: self.answer


def _registry_with(interface: str, adapter) -> ServiceRegistry:
    return simulated_registry().bind(interface, "default", adapter).bind(interface, "jumio", adapter)


# ---------------------------------------------------------------- KYC


def test_kyc_identity__complete_applicant__passes_with_confidence_and_reference():
    # Given complete applicant; When kyc identity runs; Then it passes with confidence and reference
    verdict, writes = evaluate(KYCIdentityRule, KYC_SEED, APPLICANT)
    assert verdict.outcome == "pass" and writes == {}
    assert 0.8 <= verdict.details["identity_confidence"] <= 0.99
    assert verdict.details["verification_id"].startswith("KYC-")
    assert verdict.details["verification_id"] in verdict.message


def test_kyc_identity__same_applicant_twice__gets_the_same_answer():
    # Given same applicant twice; When kyc identity runs; Then it gets the same answer
    first, _ = evaluate(KYCIdentityRule, KYC_SEED, APPLICANT)
    second, _ = evaluate(KYCIdentityRule, KYC_SEED, APPLICANT)
    assert first == second


@pytest.mark.parametrize(
    "ssn,reason",
    [
        (None, "SSN is missing"),
        ("000-12-3456", "SSN area 000 is never issued"),
        ("666-12-3456", "SSN area 666 is never issued"),
        ("912-34-5678", "SSN area 912 is never issued"),
        ("123-00-4567", "SSN group 00 or serial 0000 is never issued"),
        ("12345", "SSN must have 9 digits"),
    ],
)
def test_kyc_identity__bad_ssn__fails_saying_why(ssn, reason):
    # Given an applicant whose SSN is missing or never issued
    data = {**APPLICANT, "ssn": ssn}
    # When verified
    verdict, _ = evaluate(KYCIdentityRule, KYC_SEED, data)
    # Then identity is not verified and the message carries the service's reason
    assert verdict.outcome == "fail"
    assert verdict.message == f"identity not verified: {reason}"


def test_kyc_identity__enhanced_without_address__fails():
    # Given enhanced without address; When kyc identity runs; Then it fails
    data = {k: v for k, v in APPLICANT.items() if k != "address"}
    verdict, _ = evaluate(KYCIdentityRule, KYC_SEED, data)
    assert verdict.message == "identity not verified: address is required for enhanced verification"


def test_kyc_identity__low_confidence__fails_against_the_minimum():
    # Given low confidence; When kyc identity runs; Then it fails against the minimum
    registry = _registry_with(
        "KYCService", _Answers({"verified": True, "confidence": 0.55, "verification_id": "K1"})
    )
    verdict, _ = evaluate(
        KYCIdentityRule, {**KYC_SEED, "minimum_confidence": 0.7}, APPLICANT, services=registry
    )
    assert verdict.outcome == "fail"
    assert verdict.message == "identity verified with confidence 0.55, below the minimum 0.70"


def test_kyc_identity__service_down__raises_for_the_executor():
    # Given service down; When kyc identity runs; Then it raises for the executor
    registry = _registry_with("KYCService", SimulatedKYCService("jumio", failure_rate=1.0))
    with pytest.raises(ServiceUnavailable, match="simulated outage of KYCService:jumio"):
        evaluate(KYCIdentityRule, KYC_SEED, APPLICANT, services=registry)


@pytest.mark.parametrize(
    "answer",
    [[], {"confidence": 0.9}, {"verified": "yes", "confidence": 0.9}, {"verified": True, "confidence": 7}],
)
def test_kyc_identity__nonsense_answer__raises_service_response_error(answer):
    # Given nonsense answer; When kyc identity runs; Then it raises service response error
    registry = _registry_with("KYCService", _Answers(answer))
    with pytest.raises(ServiceResponseError):
        evaluate(KYCIdentityRule, KYC_SEED, APPLICANT, services=registry)


def test_kyc_compliance__service_name__selects_that_binding():
    # Given the seed's params naming the binding "primary_kyc"
    refs = KYCComplianceRule.service_refs({"service_name": "primary_kyc"})
    # Then the rule asks for KYCService:primary_kyc, or :default when unnamed
    assert str(refs["kyc_service"]) == "service:KYCService:primary_kyc"
    assert str(KYCComplianceRule.service_refs({})["kyc_service"]) == "service:KYCService:default"
    verdict, _ = evaluate(KYCComplianceRule, {"service_name": "primary_kyc"}, APPLICANT)
    assert verdict.outcome == "pass"


# ---------------------------------------------------------------- sanctions

OFAC_SEED = {
    "screening_service": "service:SanctionsService:worldcheck",
    "match_threshold": 0.85,
    "include_historical": True,
}


def test_ofac_sanctions__clean_name__passes():
    # Given clean name; When ofac sanctions runs; Then it passes
    verdict, _ = evaluate(OFACSanctionsRule, OFAC_SEED, APPLICANT)
    assert verdict.outcome == "pass"
    assert verdict.message == "no sanctions match at threshold 0.85"
    assert verdict.details["lists_checked"] == ["OFAC-SDN"]
    assert verdict.details["sanctions_matches"] == [] and "manual_review" not in verdict.details


def test_ofac_sanctions__listed_name__fails_naming_entry_list_and_score():
    # Given listed name; When ofac sanctions runs; Then it fails naming entry list and score
    verdict, _ = evaluate(OFACSanctionsRule, OFAC_SEED, {"name": "Viktor Kestrel"})
    assert verdict.outcome == "fail"
    assert (
        verdict.message
        == "possible sanctions match: 'Viktor Kestrel' ~ 'Viktor Kestrel' on OFAC-SDN (score 1.0)"
    )
    assert verdict.details["sanctions_matches"][0]["entry_id"] == "FX-SDN-0001"


@pytest.mark.parametrize("name", ["Kestrel, Viktor", "VIKTOR KESTRELL", "Víktor Késtrel", "Victor  Kestrel"])
def test_ofac_sanctions__spelling_variants__still_match(name):
    # Given the listed name reordered, upper-cased, accented or as an alias
    verdict, _ = evaluate(OFACSanctionsRule, OFAC_SEED, {"name": name})
    # Then fuzzy matching still finds it
    assert verdict.outcome == "fail"


def test_ofac_sanctions__alias_match__says_which_alias():
    # Given alias match; When ofac sanctions runs; Then it says which alias
    verdict, _ = evaluate(OFACSanctionsRule, OFAC_SEED, {"name": "Zara Ostrova"})
    assert "'Zara Fenwick-Ostrova' (as 'Zara Ostrova')" in verdict.message


def test_sanctions_screening__near_match__passes_flagged_for_manual_review():
    # Given a name close to, but below, the threshold
    verdict, _ = evaluate(OFACSanctionsRule, {"match_threshold": 0.95}, {"name": "Viktor Kestrin"})
    # Then it passes with a manual-review flag naming the near match
    assert verdict.outcome == "pass"
    assert verdict.details["manual_review"] is True
    assert verdict.details["sanctions_near_matches"][0]["entry_id"] == "FX-SDN-0001"
    assert "flagged for manual review" in verdict.message


def test_sanctions_screening__basic_level__screens_names_not_aliases():
    # Given basic level; When sanctions screening runs; Then it screens names not aliases
    alias = {"name": "Rasmus Till"}
    basic, _ = evaluate(SanctionsScreeningRule, {"screening_level": "basic"}, alias)
    enhanced, _ = evaluate(SanctionsScreeningRule, {"screening_level": "enhanced"}, alias)
    assert basic.outcome == "pass" and enhanced.outcome == "fail"


def test_sanctions_screening__all_lists_by_default__ofac_only_for_the_ofac_rule():
    # Given all lists by default; When sanctions screening runs; Then it ofac only for the ofac rule
    un_listed = {"name": "Ilsa Marrowind"}
    general, _ = evaluate(SanctionsScreeningRule, {"screening_level": "enhanced"}, un_listed)
    ofac, _ = evaluate(OFACSanctionsRule, OFAC_SEED, un_listed)
    assert general.outcome == "fail" and ofac.outcome == "pass"


def test_sanctions_screening__delisted_entry__only_with_include_historical():
    # Given delisted entry; When sanctions screening runs; Then it only with include historical
    delisted = {"name": "Oskar Venn Halloway"}
    current, _ = evaluate(OFACSanctionsRule, {"include_historical": False}, delisted)
    historical, _ = evaluate(OFACSanctionsRule, {"include_historical": True}, delisted)
    assert current.outcome == "pass" and historical.outcome == "fail"
    assert historical.details["sanctions_matches"][0]["status"] == "delisted"


def test_sanctions_screening__name_from_parts__is_screened():
    # Given name from parts; When sanctions screening runs; Then it is screened
    verdict, _ = evaluate(OFACSanctionsRule, OFAC_SEED, {"first_name": "Viktor", "last_name": "Kestrel"})
    assert verdict.outcome == "fail"


def test_sanctions_screening__no_name__skips_asking_for_review():
    # Given no name; When sanctions screening runs; Then it skips asking for review
    verdict, _ = evaluate(SanctionsScreeningRule, {}, {"name": "  ", "email": "x@example.com"})
    assert verdict.outcome == "skip" and verdict.details["manual_review"] is True


# ---------------------------------------------------------------- PEP

PEP_SEED = {
    "pep_service": "service:PEPService:dowjones",
    "risk_categories": ["high", "medium"],
    "include_associates": True,
}


def test_pep_screening__clean_name__passes():
    # Given clean name; When pep screening runs; Then it passes
    verdict, _ = evaluate(PEPScreeningRule, PEP_SEED, APPLICANT)
    assert verdict.outcome == "pass" and verdict.details["pep_matches"] == []


def test_pep_screening__high_category_pep__fails_naming_position():
    # Given high category pep; When pep screening runs; Then it fails naming position
    verdict, _ = evaluate(PEPScreeningRule, PEP_SEED, {"name": "Halvard Østerlund"})
    assert verdict.outcome == "fail"
    assert "Minister of Finance" in verdict.message and "category high" in verdict.message


def test_pep_screening__associate__matches_only_with_include_associates():
    # Given associate; When pep screening runs; Then it matches only with include associates
    spouse = {"name": "Ingrid Osterlund"}
    without, _ = evaluate(PEPScreeningRule, {**PEP_SEED, "include_associates": False}, spouse)
    with_associates, _ = evaluate(PEPScreeningRule, PEP_SEED, spouse)
    assert without.outcome == "pass"
    assert with_associates.outcome == "fail" and "spouse of Halvard Osterlund" in with_associates.message


def test_pep_screening__risk_threshold_medium__ignores_low_category():
    # Given the first seed's params and a low-category PEP
    verdict, _ = evaluate(PEPScreeningRule, {"risk_threshold": "medium"}, {"name": "Jonas Whitcombe-Arden"})
    # Then the match is reported as ignored and the rule passes
    assert verdict.outcome == "pass"
    assert verdict.details["considered_categories"] == ["medium", "high"]
    assert verdict.details["ignored_pep_matches"][0]["category"] == "low"


def test_pep_screening__risk_threshold_low__counts_low_category():
    # Given risk threshold low; When pep screening runs; Then it counts low category
    verdict, _ = evaluate(PEPScreeningRule, {"risk_threshold": "low"}, {"name": "Jonas Whitcombe-Arden"})
    assert verdict.outcome == "fail"


def test_pep_screening__risk_categories__win_over_risk_threshold():
    # Given risk categories; When pep screening runs; Then it win over risk threshold
    verdict, _ = evaluate(
        PEPScreeningRule,
        {"risk_threshold": "low", "risk_categories": ["high"]},
        {"name": "Mirela Castellane"},
    )
    assert verdict.outcome == "pass" and verdict.details["considered_categories"] == ["high"]


def test_pep_screening__no_name__skips_asking_for_review():
    # Given no name; When pep screening runs; Then it skips asking for review
    verdict, _ = evaluate(PEPScreeningRule, PEP_SEED, {})
    assert verdict.outcome == "skip" and verdict.details["manual_review"] is True


# ---------------------------------------------------------------- AML

AML_SEED = {
    "risk_engine": "service:RiskEngine:quantexa",
    "risk_factors": ["geographic_risk", "occupation_risk", "transaction_patterns"],
}


def test_aml_risk__ordinary_applicant__passes_low_with_score_detail():
    # Given ordinary applicant; When aml risk runs; Then it passes low with score detail
    data = {**APPLICANT, "occupation": "teacher", "expected_monthly_deposits": 4000}
    verdict, _ = evaluate(AMLRiskRule, AML_SEED, data)
    assert verdict.outcome == "pass"
    assert verdict.details["aml_risk_score"] == 0.1 and verdict.details["aml_risk_level"] == "low"
    assert verdict.details["aml_factors"] == {
        "geographic_risk": 0.1,
        "occupation_risk": 0.1,
        "transaction_patterns": 0.1,
    }


def test_aml_risk__cash_business_abroad__fails_naming_the_riskiest_factor():
    # Given cash business abroad; When aml risk runs; Then it fails naming the riskiest factor
    data = {**APPLICANT, "country": "MX", "occupation": "Casino cashier", "expected_monthly_deposits": 80000}
    verdict, _ = evaluate(AMLRiskRule, AML_SEED, data)
    assert verdict.outcome == "fail"
    assert verdict.message == (
        "AML risk score 0.73 is at or above the limit 0.70 (highest: transaction_patterns 0.9)"
    )


def test_aml_risk__medium_score__passes_flagged_for_review():
    # Given medium score; When aml risk runs; Then it passes flagged for review
    data = {**APPLICANT, "occupation": "pawn shop owner", "expected_monthly_deposits": 20000}
    verdict, _ = evaluate(AMLRiskRule, AML_SEED, data)
    assert verdict.outcome == "pass" and verdict.details["manual_review"] is True
    assert verdict.details["aml_risk_level"] == "medium"


def test_aml_risk__pep_exposure__reads_the_pep_rules_matches():
    # Given an earlier PEP screening that found a match
    results = {"pep_screening": passed("...", {"pep_matches": [{"entry_id": "FX-PEP-0001"}]})}
    params = {**AML_SEED, "risk_factors": ["pep_exposure"]}
    # When assessed with the pep_exposure factor
    verdict, _ = evaluate(AMLRiskRule, params, APPLICANT, results=results)
    clean, _ = evaluate(AMLRiskRule, params, APPLICANT)
    # Then the exposure counts
    assert verdict.details["aml_risk_score"] == 0.8 and verdict.outcome == "fail"
    assert clean.details["aml_risk_score"] == 0.0
