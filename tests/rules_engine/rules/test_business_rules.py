"""Business rules: age, credit, income, debt-to-income, geography."""

from __future__ import annotations

import pytest

from rules_engine.rule import failed, passed
from rules_engine.rules.business import (
    AgeVerificationRule,
    CreditScoreRule,
    CreditScoreValidationRule,
    DebtToIncomeRule,
    GeographicEligibilityRule,
    IncomeVerificationRule,
    age_on,
)
from rules_engine.services import ServiceTimeout, simulated_registry

from .harness import evaluate

AGE_SEED = {"minimum_age": 18, "date_field": "date_of_birth", "verification_strict": True}


# ---------------------------------------------------------------- age


def test_age_verification__adult__passes_with_age():
    # Given adult; When age verification runs; Then it passes with age
    verdict, _ = evaluate(AgeVerificationRule, AGE_SEED, {"date_of_birth": "1988-07-21"})
    assert verdict.outcome == "pass"
    assert verdict.details == {"age": 37, "minimum_age": 18}


def test_age_verification__minor__fails_saying_age_and_minimum():
    # Given minor; When age verification runs; Then it fails saying age and minimum
    verdict, _ = evaluate(AgeVerificationRule, AGE_SEED, {"date_of_birth": "2010-06-01"})
    assert verdict.outcome == "fail"
    assert verdict.message == "applicant is 15, younger than the minimum age 18"


def test_age_verification__eighteenth_birthday_is_the_run_date__passes():
    # Given a run on 2026-01-15 and an applicant born on 2008-01-15 (or a day later)
    on_the_day, _ = evaluate(AgeVerificationRule, AGE_SEED, {"date_of_birth": "2008-01-15"})
    a_day_short, _ = evaluate(AgeVerificationRule, AGE_SEED, {"date_of_birth": "2008-01-16"})
    # Then "now" is the run context's, and the birthday counts
    assert on_the_day.outcome == "pass" and a_day_short.outcome == "fail"


def test_age_verification__no_run_context_now__uses_today_utc():
    # Given no run context now; When age verification runs; Then it uses today utc
    verdict, _ = evaluate(AgeVerificationRule, AGE_SEED, {"date_of_birth": "1900-01-02"}, context={})
    assert verdict.outcome == "pass" and verdict.details["age"] >= 125


def test_age_verification__leap_day_birthday__counts_from_march_first_in_common_years():
    # Given leap day birthday; When age verification runs; Then it counts from march first in common years
    from datetime import date

    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


@pytest.mark.parametrize("value", ["15/01/1990", "yesterday", "1990-13-01", 19900115])
def test_age_verification__unreadable_date__fails_when_strict_skips_when_not(value):
    # Given unreadable date; When age verification runs; Then it fails when strict skips when not
    data = {"date_of_birth": value}
    strict, _ = evaluate(AgeVerificationRule, AGE_SEED, data)
    lenient, _ = evaluate(AgeVerificationRule, {**AGE_SEED, "verification_strict": False}, data)
    assert strict.outcome == "fail" and "is not an ISO date (YYYY-MM-DD)" in strict.message
    assert lenient.outcome == "skip" and lenient.message.endswith("age not verified")


def test_age_verification__missing_date__fails_when_strict_skips_when_not():
    # Given missing date; When age verification runs; Then it fails when strict skips when not
    strict, _ = evaluate(AgeVerificationRule, AGE_SEED, {"date_of_birth": " "})
    lenient, _ = evaluate(AgeVerificationRule, {"verification_strict": False}, {})
    assert (strict.outcome, strict.message) == ("fail", "date_of_birth is missing")
    assert lenient.outcome == "skip"


def test_age_verification__timestamp_form__is_accepted():
    # Given timestamp form; When age verification runs; Then it is accepted
    verdict, _ = evaluate(AgeVerificationRule, AGE_SEED, {"date_of_birth": "1988-07-21T00:00:00Z"})
    assert verdict.outcome == "pass"


@pytest.mark.parametrize(
    "value,reason", [("2030-01-01", "is in the future"), ("1850-01-01", "impossible age")]
)
def test_age_verification__impossible_date__fails_even_when_lenient(value, reason):
    # Given impossible date; When age verification runs; Then it fails even when lenient
    verdict, _ = evaluate(AgeVerificationRule, {"verification_strict": False}, {"date_of_birth": value})
    assert verdict.outcome == "fail" and reason in verdict.message


def test_age_verification__bad_run_context_now__raises():
    # Given bad run context now; When age verification runs; Then it raises
    with pytest.raises(ValueError, match="not an ISO 8601 timestamp"):
        evaluate(AgeVerificationRule, AGE_SEED, {"date_of_birth": "1988-07-21"}, context={"now": "soon"})


# ---------------------------------------------------------------- credit

CREDIT_SEED = {
    "credit_bureau": "service:CreditBureau:experian",
    "minimum_score": 650,
    "score_model": "FICO_8",
}


def test_credit_score__declared_score_above_minimum__passes_with_credit_score_detail():
    # Given declared score above minimum; When credit score runs; Then it passes with credit score detail
    verdict, _ = evaluate(CreditScoreRule, CREDIT_SEED, {"ssn": "123-45-6789", "credit_score": 742})
    assert verdict.outcome == "pass"
    assert verdict.details == {
        "credit_score": 742,
        "minimum_score": 650,
        "score_model": "FICO_8",
        "bureau": "experian",
    }


def test_credit_score__below_minimum__fails():
    # Given below minimum; When credit score runs; Then it fails
    verdict, _ = evaluate(CreditScoreRule, CREDIT_SEED, {"ssn": "123-45-6789", "credit_score": "610"})
    assert verdict.outcome == "fail"
    assert verdict.message == "credit score 610 is below the minimum 650"


def test_credit_score__no_declared_score__is_derived_from_the_ssn_deterministically():
    # Given no declared score; When credit score runs; Then it is derived from the ssn deterministically
    first, _ = evaluate(CreditScoreRule, CREDIT_SEED, {"ssn": "123-45-6789"})
    second, _ = evaluate(CreditScoreRule, CREDIT_SEED, {"ssn": "123456789"})
    assert 300 <= first.details["credit_score"] <= 850
    assert first.details["credit_score"] == second.details["credit_score"]


def test_credit_score__no_identity__fails_with_no_file():
    # Given no identity; When credit score runs; Then it fails with no file
    verdict, _ = evaluate(CreditScoreRule, CREDIT_SEED, {"email": "x@example.com"})
    assert verdict.outcome == "fail" and verdict.message == "no credit file found at experian"


def test_credit_score_validation__bureau_param__selects_the_bureau_binding():
    # Given bureau param; When credit score validation runs; Then it selects the bureau binding
    assert (
        str(CreditScoreValidationRule.service_refs({"bureau": "equifax"})["credit_bureau"])
        == "service:CreditBureau:equifax"
    )
    verdict, _ = evaluate(
        CreditScoreValidationRule, {"minimum_score": 650, "bureau": "transunion"}, {"credit_score": 700}
    )
    assert verdict.details["bureau"] == "transunion"


def test_credit_score__slow_bureau__is_only_slow_never_a_pass(monkeypatch):
    # Given a bureau adapter that times out
    registry = simulated_registry()

    class Slow:
        def credit_report(self, payload):
            raise ServiceTimeout("the bureau did not answer in 5s")

    registry.bind("CreditBureau", "experian", Slow())
    # Then the rule raises for the executor to report as error/timeout
    with pytest.raises(ServiceTimeout):
        evaluate(CreditScoreRule, CREDIT_SEED, {"credit_score": 800}, services=registry)


# ---------------------------------------------------------------- income

INCOME_SEED = {
    "verification_service": "service:IncomeService:argyle",
    "minimum_monthly_income": 3000,
    "verification_methods": ["bank_statements", "pay_stubs", "tax_returns"],
}


def test_income_verification__annual_income__verified_as_monthly_and_passes():
    # Given annual income; When income verification runs; Then it verified as monthly and passes
    verdict, _ = evaluate(IncomeVerificationRule, INCOME_SEED, {"annual_income": 96000})
    assert verdict.outcome == "pass"
    assert verdict.details == {
        "monthly_income": 8000.0,
        "verification_method": "bank_statements",
        "minimum_monthly_income": 3000.0,
    }
    assert verdict.message == "verified monthly income 8,000.00 (bank_statements)"


def test_income_verification__below_minimum__fails_with_both_amounts():
    # Given below minimum; When income verification runs; Then it fails with both amounts
    verdict, _ = evaluate(IncomeVerificationRule, INCOME_SEED, {"monthly_income": "2,500"})
    assert verdict.outcome == "fail"
    assert verdict.message == "verified monthly income 2,500.00 is below the minimum 3,000.00"


def test_income_verification__no_income__fails_unverified():
    # Given no income; When income verification runs; Then it fails unverified
    verdict, _ = evaluate(IncomeVerificationRule, {"verification_method": "bank_statements"}, {"name": "M"})
    assert verdict.outcome == "fail"
    assert verdict.message == "income could not be verified: no income declared to verify"


def test_income_verification__single_method_seed_param__is_used():
    # Given single method seed param; When income verification runs; Then it is used
    verdict, _ = evaluate(
        IncomeVerificationRule, {"verification_method": "pay_stubs"}, {"annual_income": 50000}
    )
    assert verdict.outcome == "pass" and verdict.details["verification_method"] == "pay_stubs"


# ---------------------------------------------------------------- debt to income


def test_debt_to_income__within_maximum__passes_using_verified_income():
    # Given a verified monthly income of 8,000 from the income rule
    results = {"income_verification": passed("...", {"monthly_income": 8000.0})}
    data = {"monthly_debt": 1200, "monthly_mortgage": 1000}
    # When the ratio is computed (mortgage included)
    verdict, _ = evaluate(
        DebtToIncomeRule, {"maximum_ratio": 0.43, "include_mortgage": True}, data, results=results
    )
    # Then (1200 + 1000) / 8000 = 0.275 passes
    assert verdict.outcome == "pass"
    assert verdict.details["debt_to_income_ratio"] == 0.275
    assert verdict.details["income_source"] == "income verification"


def test_debt_to_income__mortgage_excluded__counts_only_other_debt():
    # Given mortgage excluded; When debt to income runs; Then it counts only other debt
    results = {"income_verification": passed("...", {"monthly_income": 4000.0})}
    data = {"monthly_debt": 1000, "monthly_mortgage": 2000}
    incl, _ = evaluate(DebtToIncomeRule, {"max_ratio": 0.43}, data, results=results)
    excl, _ = evaluate(
        DebtToIncomeRule, {"max_ratio": 0.43, "include_mortgage": False}, data, results=results
    )
    assert incl.outcome == "fail" and incl.details["debt_to_income_ratio"] == 0.75
    assert excl.outcome == "pass" and excl.details["debt_to_income_ratio"] == 0.25


def test_debt_to_income__above_maximum__fails_with_the_figures():
    # Given above maximum; When debt to income runs; Then it fails with the figures
    verdict, _ = evaluate(
        DebtToIncomeRule, {"max_ratio": 0.43}, {"annual_income": 48000, "monthly_debt": 2600}
    )
    assert verdict.outcome == "fail"
    assert verdict.message == (
        "debt-to-income ratio 0.65 is above the maximum 0.43 (monthly debt 2,600.00 / income 4,000.00)"
    )


def test_debt_to_income__failed_income_verification_detail__is_not_mistaken_for_income():
    # Given an income rule that failed without a monthly_income detail, and a declared income
    results = {"income_verification": failed("income could not be verified", {"reason": "x"})}
    verdict, _ = evaluate(
        DebtToIncomeRule, {}, {"monthly_income": 5000, "monthly_debt": 500}, results=results
    )
    assert verdict.details["income_source"] == "declared monthly_income"


def test_debt_to_income__income_unknown__skips():
    # Given income unknown; When debt to income runs; Then it skips
    verdict, _ = evaluate(DebtToIncomeRule, {"maximum_ratio": 0.43}, {"monthly_debt": 100})
    assert verdict.outcome == "skip" and "monthly income is unknown" in verdict.message


def test_debt_to_income__zero_income__fails():
    # Given zero income; When debt to income runs; Then it fails
    verdict, _ = evaluate(DebtToIncomeRule, {}, {"monthly_income": 0, "monthly_debt": 100})
    assert verdict.outcome == "fail" and "no debt-to-income ratio can be met" in verdict.message


def test_debt_to_income__both_ratio_names__maximum_ratio_wins():
    # Given both ratio names; When debt to income runs; Then it maximum ratio wins
    data = {"monthly_income": 1000, "monthly_debt": 400}
    verdict, _ = evaluate(DebtToIncomeRule, {"max_ratio": 0.3, "maximum_ratio": 0.5}, data)
    assert verdict.outcome == "pass" and verdict.details["maximum_ratio"] == 0.5


# ---------------------------------------------------------------- geography

GEO_SEED = {
    "allowed_states": ["CA", "NY", "TX", "FL", "IL", "PA", "OH", "GA", "NC", "MI"],
    "restricted_countries": ["sanctioned_countries"],
    "address_field": "address",
}


def test_geographic_eligibility__allowed_state__passes_with_low_geographic_risk():
    # Given allowed state; When geographic eligibility runs; Then it passes with low geographic risk
    verdict, _ = evaluate(GeographicEligibilityRule, GEO_SEED, {"state": "ny", "country": "United States"})
    assert verdict.outcome == "pass" and verdict.message == "NY, US is eligible"
    assert verdict.details["geographic_risk"] == 0.1


def test_geographic_eligibility__state_not_offered__fails_listing_eligible_states():
    # Given state not offered; When geographic eligibility runs; Then it fails listing eligible states
    verdict, _ = evaluate(GeographicEligibilityRule, GEO_SEED, {"state": "Washington"})
    assert verdict.outcome == "fail"
    assert verdict.message.startswith("state WA is not an eligible state (eligible: CA, NY,")


@pytest.mark.parametrize("country", ["IR", "Iran", "north korea", "CU"])
def test_geographic_eligibility__sanctioned_country__fails_naming_the_list(country):
    # Given sanctioned country; When geographic eligibility runs; Then it fails naming the list
    verdict, _ = evaluate(GeographicEligibilityRule, GEO_SEED, {"state": "NY", "country": country})
    assert verdict.outcome == "fail" and "(sanctioned_countries)" in verdict.message
    assert verdict.details["geographic_risk"] == 1.0


def test_geographic_eligibility__address_object__supplies_state_and_country():
    # Given address object; When geographic eligibility runs; Then it supplies state and country
    data = {"address": {"street": "1 Main St", "state": "TX", "country": "US"}, "state": "WA"}
    verdict, _ = evaluate(GeographicEligibilityRule, GEO_SEED, data)
    assert verdict.outcome == "pass" and verdict.details["state"] == "TX"


def test_geographic_eligibility__no_country__is_taken_as_us_and_said_so():
    # Given no country; When geographic eligibility runs; Then it is taken as us and said so
    verdict, _ = evaluate(GeographicEligibilityRule, GEO_SEED, {"state": "CA"})
    assert verdict.outcome == "pass" and "taken as US" in verdict.message


def test_geographic_eligibility__abroad_with_allowed_states__fails():
    # Given abroad with allowed states; When geographic eligibility runs; Then it fails
    verdict, _ = evaluate(GeographicEligibilityRule, GEO_SEED, {"state": "ON", "country": "CA"})
    assert verdict.outcome == "fail" and "outside the United States" in verdict.message


def test_geographic_eligibility__missing_or_unknown_state__fails():
    # Given missing or unknown state; When geographic eligibility runs; Then it fails
    missing, _ = evaluate(GeographicEligibilityRule, GEO_SEED, {"country": "US"})
    unknown, _ = evaluate(GeographicEligibilityRule, GEO_SEED, {"state": "Atlantis"})
    assert missing.message == "state is missing; eligibility cannot be determined"
    assert unknown.message == "state 'Atlantis' is not a US state"


def test_geographic_eligibility__only_restricted_countries__allows_any_state_abroad():
    # Given only restricted countries; When geographic eligibility runs; Then it allows any state abroad
    verdict, _ = evaluate(GeographicEligibilityRule, {"restricted_countries": ["KP"]}, {"country": "GB"})
    assert verdict.outcome == "pass" and verdict.details["geographic_risk"] == 0.5


def test_geographic_eligibility__unrecognised_country_name__fails_clearly():
    # Given unrecognised country name; When geographic eligibility runs; Then it fails clearly
    verdict, _ = evaluate(GeographicEligibilityRule, GEO_SEED, {"state": "NY", "country": "Freedonia"})
    assert verdict.outcome == "fail" and "not a recognised country code" in verdict.message
