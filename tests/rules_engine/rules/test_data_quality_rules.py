"""Data-quality rules: completeness, email and phone format, consistency."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules_engine.rules.data_quality import (
    DataCompletenessRule,
    DataConsistencyRule,
    EmailFormatRule,
    EmailFormatValidationRule,
    PhoneFormatRule,
    PhoneFormatValidationRule,
    RequiredFieldsRule,
)
from rules_engine.rules.record_values import is_missing

from .harness import build, evaluate

REQUIRED = {"required_fields": ["first_name", "last_name", "email", "phone"]}


# ---------------------------------------------------------------- RequiredFieldsRule


def test_required_fields__all_present__passes_with_the_shared_constant_verdict():
    # Given every required field, including a zero and False (values, not missing)
    data = {"first_name": "Maria", "last_name": "Garcia", "email": "m@example.com", "phone": 0}
    # When checked twice
    first, _ = evaluate(RequiredFieldsRule, REQUIRED, data)
    second, _ = evaluate(RequiredFieldsRule, {"required_fields": ["x"]}, {"x": False})
    # Then both pass with the same, allocation-free verdict
    assert first.outcome == "pass" and first.details == {}
    assert first is second


def test_required_fields__missing_email_and_phone__fails_naming_both():
    # Given a record without email and with a whitespace-only phone
    data = {"first_name": "Maria", "last_name": "Garcia", "phone": "   "}
    # When checked
    verdict, _ = evaluate(RequiredFieldsRule, REQUIRED, data)
    # Then the message and details name exactly the missing fields, in config order
    assert verdict.outcome == "fail"
    assert verdict.message == "missing: email, phone"
    assert verdict.details == {"missing": ["email", "phone"]}


def test_required_fields__with_descriptions__reports_descriptions_of_missing_fields():
    # Given with descriptions; When required fields runs; Then it reports descriptions of missing fields
    params = {**REQUIRED, "field_descriptions": {"email": "Valid email address", "first_name": "First name"}}
    verdict, _ = evaluate(RequiredFieldsRule, params, {"first_name": "M", "last_name": "G", "phone": "1"})
    assert verdict.details == {"missing": ["email"], "descriptions": {"email": "Valid email address"}}


@pytest.mark.parametrize("value", [None, "", " ", "\t\n", [], {}])
def test_required_fields__empty_values__count_as_missing(value):
    # Given empty values; When required fields runs; Then it count as missing
    verdict, _ = evaluate(RequiredFieldsRule, {"required_fields": ["x"]}, {"x": value})
    assert verdict.outcome == "fail" and verdict.details == {"missing": ["x"]}


def test_data_completeness__seed_params__behaves_like_required_fields():
    # Given seed params; When data completeness runs; Then it behaves like required fields
    verdict, _ = evaluate(
        DataCompletenessRule, {"required_fields": ["name", "email", "phone"]}, {"name": "M"}
    )
    assert verdict.message == "missing: email, phone"


class _Text(str):
    """A str subclass (not the plain str the fast path checks first)."""


@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]),
        st.one_of(
            st.none(),
            st.text(max_size=3),
            st.integers(),
            st.booleans(),
            st.lists(st.integers(), max_size=1),
            st.builds(_Text, st.text(max_size=2)),
        ),
    )
)
def test_required_fields__any_record__agrees_with_is_missing(data):
    # Given any record, When checked, Then it fails exactly on the fields is_missing names
    verdict, _ = evaluate(RequiredFieldsRule, {"required_fields": ["a", "b", "c", "d"]}, data)
    expected = [f for f in "abcd" if is_missing(data.get(f))]
    assert verdict.outcome == ("fail" if expected else "pass")
    if expected:
        assert verdict.details["missing"] == expected
    # And so does each field checked alone
    for field in "abcd":
        alone, _ = evaluate(RequiredFieldsRule, {"required_fields": [field]}, data)
        assert alone.outcome == ("fail" if field in expected else "pass")


# ---------------------------------------------------------------- EmailFormatRule


@pytest.mark.parametrize("cls", [EmailFormatRule, EmailFormatValidationRule])
def test_email_format__valid_address__passes(cls):
    # Given valid address; When email format runs; Then it passes
    verdict, _ = evaluate(cls, {"field_name": "email"}, {"email": "maria.garcia@example.com"})
    assert verdict.outcome == "pass"
    assert verdict.details == {"field": "email", "domain": "example.com", "mx_checked": False}


@pytest.mark.parametrize(
    "value,reason_part",
    [
        ("a@b", "should have a period"),
        ("no-at-sign", "must have an @-sign"),
        ("a..b@example.com", "two periods in a row"),
        ("maria garcia@example.com", "invalid character"),
    ],
)
def test_email_format__malformed__fails_quoting_value_and_reason(value, reason_part):
    # Given a malformed address
    verdict, _ = evaluate(EmailFormatRule, {}, {"email": value})
    # Then the message quotes it and says why, and the details carry field, value and reason
    assert verdict.outcome == "fail"
    assert verdict.message.startswith(f"email {value!r} is malformed: ")
    assert verdict.details["field"] == "email" and verdict.details["value"] == value
    assert reason_part in verdict.details["reason"]


def test_email_format__not_text__fails():
    # Given not text; When email format runs; Then it fails
    verdict, _ = evaluate(EmailFormatRule, {}, {"email": 12345})
    assert verdict.outcome == "fail" and verdict.details["reason"] == "not text"


def test_email_format__absent__skips_for_the_completeness_rule():
    # Given absent; When email format runs; Then it skips for the completeness rule
    verdict, _ = evaluate(EmailFormatRule, {}, {"email": "  "})
    assert verdict.outcome == "skip"


def test_email_format__disposable_provider_not_allowed__fails():
    # Given disposable provider not allowed; When email format runs; Then it fails
    verdict, _ = evaluate(EmailFormatRule, {"allow_disposable": False}, {"email": "x@mailinator.com"})
    assert verdict.outcome == "fail" and verdict.details["reason"] == "disposable"


def test_email_format__disposable_subdomain__is_caught_too():
    # Given disposable subdomain; When email format runs; Then it is caught too
    verdict, _ = evaluate(EmailFormatRule, {"allow_disposable": False}, {"email": "x@eu.yopmail.com"})
    assert verdict.outcome == "fail"


def test_email_format__disposable_allowed_by_default__passes():
    # Given disposable allowed by default; When email format runs; Then it passes
    verdict, _ = evaluate(EmailFormatRule, {}, {"email": "x@mailinator.com"})
    assert verdict.outcome == "pass"


def test_email_format__mx_requested_offline__passes_saying_mx_was_not_checked(monkeypatch):
    # Given check_mx_record on, a run context that does not allow the network,
    # and a DNS layer that must not be touched
    import email_validator.deliverability as deliverability

    def no_dns(*args, **kwargs):  # pragma: no cover - failing the test is the point
        raise AssertionError("DNS was queried")

    monkeypatch.setattr(deliverability, "validate_email_deliverability", no_dns)
    # When checked
    verdict, _ = evaluate(EmailFormatRule, {"check_mx_record": True}, {"email": "maria@example.com"})
    # Then it passes on syntax alone and says the MX record was not checked
    assert verdict.outcome == "pass" and verdict.details["mx_checked"] is False
    assert "MX record not checked" in verdict.message


def test_email_format__mx_requested_with_network_allowed__asks_for_deliverability(monkeypatch):
    # Given the network allowed, and email-validator's validate_email observed
    import rules_engine.rules.data_quality as module

    calls = []
    real = module.validate_email

    def spy(value, **kwargs):
        calls.append(kwargs)
        return real(value, **{**kwargs, "check_deliverability": False})

    monkeypatch.setattr(module, "validate_email", spy)
    verdict, _ = evaluate(
        EmailFormatRule,
        {"check_mx_record": True},
        {"email": "maria@example.com"},
        context={"allow_network": True},
    )
    # Then the deliverability check was requested
    assert calls[0]["check_deliverability"] is True
    assert verdict.details["mx_checked"] is True


def test_email_format__mx_check_on__runs_where_a_timeout_can_abandon_it():
    # Given mx check on; When email format runs; Then it runs where a timeout can abandon it
    assert build(EmailFormatRule, {"check_mx_record": True}).blocking is True
    assert build(EmailFormatRule, {}).blocking is False


# ---------------------------------------------------------------- PhoneFormatRule


@pytest.mark.parametrize("cls", [PhoneFormatRule, PhoneFormatValidationRule])
def test_phone_format__valid_us_number__passes_with_e164(cls):
    # Given valid us number; When phone format runs; Then it passes with e164
    verdict, _ = evaluate(cls, {"field_name": "phone"}, {"phone": "+12125550147"})
    assert verdict.outcome == "pass"
    assert verdict.details["e164"] == "+12125550147" and verdict.details["region"] == "US"


def test_phone_format__nonexistent_area_code__fails():
    # Given 555 as the area code (not an assigned US area code)
    verdict, _ = evaluate(PhoneFormatRule, {}, {"phone": "555-123-4567"})
    assert verdict.outcome == "fail"
    assert "not a valid phone number" in verdict.message


def test_phone_format__garbage__fails_as_malformed():
    # Given garbage; When phone format runs; Then it fails as malformed
    verdict, _ = evaluate(PhoneFormatRule, {}, {"phone": "12ab"})
    assert verdict.outcome == "fail"
    assert verdict.message.startswith("phone '12ab' is malformed: ")


def test_phone_format__extension__fails_only_when_not_allowed():
    # Given extension; When phone format runs; Then it fails only when not allowed
    data = {"phone": "212-555-0147 ext. 12"}
    strict, _ = evaluate(PhoneFormatRule, {"country_code": "US", "allow_extensions": False}, data)
    lenient, _ = evaluate(PhoneFormatRule, {"allow_extensions": True}, data)
    assert strict.outcome == "fail" and "extension (12)" in strict.message
    assert lenient.outcome == "pass"


def test_phone_format__other_default_country__reads_local_numbers_as_that_country():
    # Given other default country; When phone format runs; Then it reads local numbers as that country
    verdict, _ = evaluate(PhoneFormatRule, {"country_code": "GB"}, {"phone": "020 7946 0958"})
    assert verdict.outcome == "pass" and verdict.details["region"] == "GB"


def test_phone_format__absent__skips_and_wrong_type_fails():
    # Given absent; When phone format runs; Then it skips and wrong type fails
    skipped, _ = evaluate(PhoneFormatRule, {}, {})
    wrong, _ = evaluate(PhoneFormatRule, {}, {"phone": [2125550147]})
    assert skipped.outcome == "skip"
    assert wrong.outcome == "fail" and wrong.details["reason"] == "not text"


# ---------------------------------------------------------------- DataConsistencyRule

SEED_CONSISTENCY = {
    "validation_rules": [
        {"fields": ["state", "zip_code"], "validator": "state_zip_consistency"},
        {"fields": ["area_code", "phone"], "validator": "area_code_consistency"},
    ]
}


def test_data_consistency__matching_state_zip_and_area_code__passes():
    # Given matching state zip and area code; When data consistency runs; Then it passes
    data = {"state": "NY", "zip_code": "10118", "area_code": "212", "phone": "+12125550147"}
    verdict, _ = evaluate(DataConsistencyRule, SEED_CONSISTENCY, data)
    assert verdict.outcome == "pass"
    assert verdict.message == "consistent: state_zip_consistency, area_code_consistency"
    assert [c["result"] for c in verdict.details["checks"]] == ["pass", "pass"]


def test_data_consistency__state_does_not_match_zip__fails_naming_both():
    # Given state does not match zip; When data consistency runs; Then it fails naming both
    data = {"state": "CA", "zip_code": "10118", "area_code": "212", "phone": "+12125550147"}
    verdict, _ = evaluate(DataConsistencyRule, SEED_CONSISTENCY, data)
    assert verdict.outcome == "fail"
    assert verdict.message == "state 'CA' does not match zip_code 10118, which is in NY"


def test_data_consistency__area_code_mismatch__fails():
    # Given area code mismatch; When data consistency runs; Then it fails
    data = {"state": "NY", "zip_code": "10118", "area_code": "415", "phone": "(212) 555-0147"}
    verdict, _ = evaluate(DataConsistencyRule, SEED_CONSISTENCY, data)
    assert verdict.outcome == "fail"
    assert verdict.message == "area_code '415' does not match phone's area code 212"


def test_data_consistency__area_code_absent__skips_that_check_and_passes():
    # Given no area_code field
    data = {"state": "New York", "zip_code": 10118, "phone": "+12125550147"}
    # When checked
    verdict, _ = evaluate(DataConsistencyRule, SEED_CONSISTENCY, data)
    # Then the area-code check is skipped and said so; the rule passes on the other check
    assert verdict.outcome == "pass"
    assert "area_code_consistency skipped: area_code is absent" in verdict.message
    assert [c["result"] for c in verdict.details["checks"]] == ["pass", "skip"]


def test_data_consistency__zip_read_as_number__gets_its_leading_zero_back():
    # Given a Boston ZIP that lost its leading zero in a spreadsheet
    params = {"validation_rules": [SEED_CONSISTENCY["validation_rules"][0]]}
    verdict, _ = evaluate(DataConsistencyRule, params, {"state": "MA", "zip_code": 2134})
    assert verdict.outcome == "pass"


@pytest.mark.parametrize(
    "zip_code,message",
    [
        ("abc", "zip_code 'abc' is not a ZIP code (expected 12345 or 12345-6789)"),
        ("99999", "zip_code 99999 is not an existing US ZIP code"),
    ],
)
def test_data_consistency__bad_zip__fails_with_reason(zip_code, message):
    # Given bad zip; When data consistency runs; Then it fails with reason
    params = {"validation_rules": [SEED_CONSISTENCY["validation_rules"][0]]}
    verdict, _ = evaluate(DataConsistencyRule, params, {"state": "NY", "zip_code": zip_code})
    assert verdict.outcome == "fail" and verdict.message == message


def test_data_consistency__unknown_state__fails():
    # Given unknown state; When data consistency runs; Then it fails
    params = {"validation_rules": [SEED_CONSISTENCY["validation_rules"][0]]}
    verdict, _ = evaluate(DataConsistencyRule, params, {"state": "Atlantis", "zip_code": "10118"})
    assert verdict.outcome == "fail" and "'Atlantis' is not a US state" in verdict.message


def test_data_consistency__nothing_to_compare__skips_naming_each_reason():
    # Given nothing to compare; When data consistency runs; Then it skips naming each reason
    verdict, _ = evaluate(DataConsistencyRule, SEED_CONSISTENCY, {"phone": "+12125550147"})
    assert verdict.outcome == "skip"
    assert verdict.message == (
        "no consistency check could run: state_zip_consistency skipped: state is absent; "
        "area_code_consistency skipped: area_code is absent"
    )


def test_data_consistency__unparseable_phone__skips_the_area_code_check():
    # Given unparseable phone; When data consistency runs; Then it skips the area code check
    params = {"validation_rules": [SEED_CONSISTENCY["validation_rules"][1]]}
    verdict, _ = evaluate(DataConsistencyRule, params, {"area_code": 212, "phone": "call me"})
    assert verdict.outcome == "skip"
