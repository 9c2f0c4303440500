"""Phone numbers and email addresses are read once per record, and judged the same as
when each rule read them afresh."""

from __future__ import annotations

import sys
from pathlib import Path

import phonenumbers
import pytest

import rules_engine
from rules_engine.rules.data_quality import DataConsistencyRule, EmailFormatRule, PhoneFormatRule
from rules_engine.rules.parsed_values import forget_all
from rules_engine.rules.preprocessing import EmailNormalizationRule, PhoneNormalizationRule
from tests.rules_engine.rules.harness import evaluate

ONBOARDING = Path(rules_engine.__file__).parent / "examples" / "customer_onboarding.json"
APPLICANT = {
    "name": "Ann Marie Smith",
    "email": " Ann.Smith@Example.com ",
    "phone": "(212) 555-0100",
    "area_code": "212",
    "address": "1 Main St",
    "city": "New York",
    "state": "NY",
    "zip_code": "10001",
    "date_of_birth": "1990-04-01",
    "ssn": "123-45-6789",
    "annual_income": 90000,
    "country": "US",
}


@pytest.fixture(autouse=True)
def cold():
    forget_all()
    yield
    forget_all()


def test_onboarding_pipeline__one_record__parses_the_phone_and_checks_the_email_once(monkeypatch):
    # Given the onboarding pipeline, and the libraries' parse and check observed
    parses, checks = [], []
    real_parse = phonenumbers.parse
    syntax = sys.modules["email_validator.validate_email"]
    real_local_part = syntax.validate_email_local_part

    def parse(*args, **kwargs):
        parses.append(args[0])
        return real_parse(*args, **kwargs)

    def local_part(*args, **kwargs):
        checks.append(args[0])
        return real_local_part(*args, **kwargs)

    monkeypatch.setattr(phonenumbers, "parse", parse)
    monkeypatch.setattr(syntax, "validate_email_local_part", local_part)
    config = rules_engine.load_config(ONBOARDING)
    with rules_engine.compile_pipeline(config) as pipeline:
        # When one applicant (with an area code to compare) runs through it
        result = pipeline.run(APPLICANT, context={"now": "2024-01-15T12:00:00+00:00"})
    # Then the phone normaliser, the phone format rule and the area-code check judged
    # one parse, and the email normaliser and format rule one check
    outcomes = {rule.id: rule.outcome for rule in result.rules()}
    assert outcomes["phone_format_validation"] == "pass"
    assert outcomes["email_format_validation"] == "pass"
    assert outcomes["data_consistency_check"] == "pass"
    assert parses == ["(212) 555-0100"]
    assert checks == ["Ann.Smith"]


def _regions_example_numbers() -> list[tuple[str, str]]:
    """Every region's example numbers, written the way people of the region write them."""
    kinds = (
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
    )
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
                found.append((region, national))
    return found


ODD_PHONES = [
    ("US", "(212) 555-0100 x12"),
    ("US", "212 555 01"),
    ("US", "+1 800 555 0199"),
    ("US", "1 (234) 567-8901"),
    ("US", "123-456-7890"),
    ("GB", "020 7946 0958"),
    ("DE", "030 901820"),
    ("IT", "06 6982 1234"),
    ("RU", "8 (800) 555-35-35"),
    ("AR", "011 15-2345-6789"),
]


def test_phone_readings__every_region_example__judged_the_same_after_normalising():
    # Given every region's example numbers, and some odd ones
    cases = _regions_example_numbers() + ODD_PHONES
    assert len(cases) > 500
    differences = []
    for region, raw in cases:
        # When the normaliser writes the number and the phone rules judge what it wrote,
        # first with the normaliser's reading kept, then reading the text afresh
        forget_all()
        _, writes = evaluate(PhoneNormalizationRule, {"country_code": region}, {"phone": raw})
        data = {"phone": writes.get("phone", raw), "area_code": "212"}
        judged = [
            evaluate(PhoneFormatRule, {"country_code": region}, data)[0],
            evaluate(
                DataConsistencyRule,
                {
                    "validation_rules": [
                        {"fields": ["area_code", "phone"], "validator": "area_code_consistency"}
                    ]
                },
                data,
            )[0],
        ]
        forget_all()
        afresh = [
            evaluate(PhoneFormatRule, {"country_code": region}, data)[0],
            evaluate(
                DataConsistencyRule,
                {
                    "validation_rules": [
                        {"fields": ["area_code", "phone"], "validator": "area_code_consistency"}
                    ]
                },
                data,
            )[0],
        ]
        if judged != afresh:
            differences.append((region, raw, judged, afresh))
    # Then every verdict, message and detail is the same
    assert differences == []


EMAILS = [
    " Ann.Smith@Example.com ",
    "bob.jones@example.org",
    "J.O.H.N@GMail.com",
    "x@BÜCHER.de",
    "ÄB@例え.jp",
    "maria+tag@Sub.Example.CO.uk",
    "Ünïcødé.Name@exämple.com",
    "KEVIN@MAILINATOR.COM",
    "dotted.name@googlemail.com",
    "o'brien@example.ie",
    "user@localhost",
    "no-at-sign.example.com",
    "two@@example.com",
    "trailing.dot.@example.com",
    "İSTANBUL@example.com.tr",
    "ß@example.de",
    "ǅ@example.com",
]


@pytest.mark.parametrize("lowercase", [True, False])
@pytest.mark.parametrize("remove_dots", [True, False])
def test_email_readings__assorted_addresses__judged_the_same_after_normalising(lowercase, remove_dots):
    differences = []
    for raw in EMAILS:
        # Given an address the normaliser standardised (or left alone)
        forget_all()
        _, writes = evaluate(
            EmailNormalizationRule, {"lowercase": lowercase, "remove_dots": remove_dots}, {"email": raw}
        )
        data = {"email": writes.get("email", raw)}
        # When the format rule judges it with the normaliser's reading kept, then afresh
        judged = evaluate(EmailFormatRule, {"allow_disposable": False}, data)[0]
        forget_all()
        afresh = evaluate(EmailFormatRule, {"allow_disposable": False}, data)[0]
        if judged != afresh:
            differences.append((raw, judged, afresh))
    # Then the verdicts are the same
    assert differences == []
