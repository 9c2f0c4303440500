"""Preprocessing rules: normalise what they can, skip (unchanged) what they cannot."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules_engine.rules.preprocessing import (
    AddressNormalizationRule,
    EmailNormalizationRule,
    MultiFieldTrimRule,
    NameParsingRule,
    PhoneNormalizationRule,
    TrimWhitespaceRule,
    trim,
)
from rules_engine.services import ServiceRegistry, ServiceUnavailable
from rules_engine.services.simulated import SimulatedAddressService

from .harness import evaluate

# ---------------------------------------------------------------- TrimWhitespaceRule


def test_trim_whitespace__padded_text__trims_and_passes():
    # Given a name with spaces, a tab and a newline around it
    data = {"name": " \tMaria Garcia\n"}
    # When trimmed
    verdict, writes = evaluate(TrimWhitespaceRule, {"field_name": "name"}, data)
    # Then the field is written trimmed and the rule passes
    assert verdict.outcome == "pass"
    assert writes == {"name": "Maria Garcia"}
    assert data["name"] == " \tMaria Garcia\n", "the record itself is never mutated"


def test_trim_whitespace__unicode_and_zero_width_space__trims_them():
    # Given a name padded with a no-break space, an ideographic space and a zero-width space
    data = {"name": "\u00a0\u3000José Ñúñez\u200b"}
    # When trimmed
    verdict, writes = evaluate(TrimWhitespaceRule, {"field_name": "name"}, data)
    # Then only the padding goes, the accented letters stay
    assert writes == {"name": "José Ñúñez"}


def test_trim_whitespace__clean_text__passes_without_change():
    # Given a clean value
    verdict, writes = evaluate(TrimWhitespaceRule, {"field_name": "name"}, {"name": "Maria"})
    # Then nothing is written and the rule passes saying so
    assert verdict.outcome == "pass" and writes == {}
    assert "no surrounding whitespace" in verdict.message


@pytest.mark.parametrize(
    "data,expected",
    [
        ({}, "name is absent; nothing to trim"),
        ({"name": None}, "name is absent; nothing to trim"),
        ({"name": 42}, "name is not text (number); left unchanged"),
        ({"name": ["a"]}, "name is not text (list); left unchanged"),
    ],
)
def test_trim_whitespace__absent_or_not_text__skips_unchanged(data, expected):
    # Given a field that is absent or not text
    verdict, writes = evaluate(TrimWhitespaceRule, {"field_name": "name"}, data)
    # Then the rule skips with the reason and writes nothing
    assert (verdict.outcome, verdict.message, writes) == ("skip", expected, {})


def test_trim_whitespace__only_whitespace__becomes_empty_text():
    # Given a whitespace-only value
    verdict, writes = evaluate(TrimWhitespaceRule, {"field_name": "name"}, {"name": "   "})
    # Then it is trimmed to empty (the required-fields rule will report it missing)
    assert verdict.outcome == "pass" and writes == {"name": ""}


@given(st.text())
def test_trim__any_text__is_idempotent_and_keeps_the_middle(text):
    # Given any text, When trimmed twice, Then the second trim changes nothing
    once = trim(text)
    assert trim(once) == once
    assert once in text


# ---------------------------------------------------------------- MultiFieldTrimRule


def test_multi_field_trim__mixed_fields__trims_text_and_reports_the_rest():
    # Given padded text, clean text, an absent field and a number
    data = {"name": " Maria ", "email": "m@example.com", "city": 12}
    params = {"fields": ["name", "email", "state", "city"]}
    # When trimmed
    verdict, writes = evaluate(MultiFieldTrimRule, params, data)
    # Then only the padded field is written, and the details sort the fields
    assert verdict.outcome == "pass"
    assert writes == {"name": "Maria"}
    assert verdict.details == {
        "trimmed": ["name"],
        "unchanged": ["email"],
        "absent": ["state"],
        "not_text": ["city"],
    }
    assert verdict.message == "trimmed name; absent: state; not text, left unchanged: city"


def test_multi_field_trim__nothing_present__skips():
    # Given none of the fields
    verdict, writes = evaluate(MultiFieldTrimRule, {"fields": ["name", "email"]}, {"other": " x "})
    # Then the rule skips, naming the absent fields
    assert verdict.outcome == "skip" and writes == {}
    assert verdict.message == "nothing to trim; absent: name, email"


# ---------------------------------------------------------------- PhoneNormalizationRule


@pytest.mark.parametrize(
    "raw", ["(212) 555-0147", "212.555.0147", "+1 212 555 0147", "2125550147", 2125550147]
)
def test_phone_normalization__us_number_in_any_style__becomes_e164(raw):
    # Given a US number written in some local style (or read from CSV as a number)
    verdict, writes = evaluate(
        PhoneNormalizationRule, {"field_name": "phone", "country_code": "US"}, {"phone": raw}
    )
    # Then it is written in E.164
    assert verdict.outcome == "pass"
    assert writes == {"phone": "+12125550147"}


def test_phone_normalization__already_e164__passes_without_change():
    # Given already e164; When phone normalization runs; Then it passes without change
    verdict, writes = evaluate(PhoneNormalizationRule, {"field_name": "phone"}, {"phone": "+12125550147"})
    assert verdict.outcome == "pass" and writes == {}
    assert verdict.message == "phone is already in E164 format"


@pytest.mark.parametrize(
    "fmt,expected",
    [
        ("INTERNATIONAL", "+1 212-555-0147"),
        ("NATIONAL", "(212) 555-0147"),
        ("RFC3966", "tel:+1-212-555-0147"),
    ],
)
def test_phone_normalization__other_format__uses_that_format(fmt, expected):
    # Given other format; When phone normalization runs; Then it uses that format
    verdict, writes = evaluate(PhoneNormalizationRule, {"format": fmt}, {"phone": "2125550147"})
    assert writes == {"phone": expected}


def test_phone_normalization__foreign_number_with_prefix__keeps_its_country():
    # Given a UK number with its + prefix, and US as the default country
    verdict, writes = evaluate(PhoneNormalizationRule, {"country_code": "US"}, {"phone": "+44 20 7946 0958"})
    # Then it is normalised as a UK number
    assert writes == {"phone": "+442079460958"}


def test_phone_normalization__not_a_number__skips_with_reason_unchanged():
    # Given text that is not a phone number
    verdict, writes = evaluate(PhoneNormalizationRule, {}, {"phone": "12ab"})
    # Then the rule skips, saying the value could not be parsed, and writes nothing
    assert verdict.outcome == "skip" and writes == {}
    assert verdict.message == "phone '12ab' could not be parsed; left unchanged"
    assert verdict.details["value"] == "12ab" and verdict.details["reason"]


def test_phone_normalization__too_short__skips_unchanged():
    # Given too short; When phone normalization runs; Then it skips unchanged
    verdict, writes = evaluate(PhoneNormalizationRule, {}, {"phone": "555-01"})
    assert verdict.outcome == "skip" and writes == {}
    assert "could not be normalised" in verdict.message and "left unchanged" in verdict.message


def test_phone_normalization__extension_in_e164__skips_to_keep_the_extension():
    # Given a number with an extension, which E.164 cannot hold
    verdict, writes = evaluate(PhoneNormalizationRule, {}, {"phone": "212-555-0147 x12"})
    # Then it is left as it is (the phone format rule judges extensions)
    assert verdict.outcome == "skip" and writes == {}
    assert "extension 12" in verdict.message


def test_phone_normalization__extension_in_international__keeps_it():
    # Given extension in international; When phone normalization runs; Then it keeps it
    verdict, writes = evaluate(
        PhoneNormalizationRule, {"format": "INTERNATIONAL"}, {"phone": "212-555-0147 x12"}
    )
    assert writes == {"phone": "+1 212-555-0147 ext. 12"}


@pytest.mark.parametrize("data", [{}, {"phone": None}, {"phone": ""}, {"phone": "  "}, {"phone": {"n": 1}}])
def test_phone_normalization__absent_or_not_text__skips(data):
    # Given absent or not text; When phone normalization runs; Then it skips
    verdict, writes = evaluate(PhoneNormalizationRule, {}, data)
    assert verdict.outcome == "skip" and writes == {}


@given(st.integers(min_value=2002000000, max_value=9899999999))
def test_phone_normalization__its_own_output__is_a_fixed_point(digits):
    # Given any ten-digit number, When normalised and normalised again
    verdict, writes = evaluate(PhoneNormalizationRule, {}, {"phone": str(digits)})
    if writes:
        again, second = evaluate(PhoneNormalizationRule, {}, writes)
        # Then the second pass changes nothing
        assert second == {} and again.outcome == "pass"


# ---------------------------------------------------------------- AddressNormalizationRule


def test_address_normalization__lower_case_address__is_standardised_usps_style():
    # Given an address typed in lower case with a state name
    data = {"address": "350  fifth avenue", "city": "new york", "state": "new york", "zip_code": "10118"}
    # When standardised through the (simulated) address service
    verdict, writes = evaluate(
        AddressNormalizationRule, {"address_service": "service:AddressService:google_maps"}, data
    )
    # Then street, city and state are written in standard form
    assert verdict.outcome == "pass"
    assert writes == {"address": "350 Fifth Ave", "city": "New York", "state": "NY"}
    assert verdict.message == "standardised address, city, state"


def test_address_normalization__missing_city_and_state__are_filled_from_the_zip():
    # Given missing city and state; When address normalization runs; Then it are filled from the zip
    verdict, writes = evaluate(AddressNormalizationRule, {}, {"address": "1 Main St", "zip_code": "60601"})
    assert writes == {"city": "Chicago", "state": "IL"}
    assert "city filled in from the ZIP code" in verdict.details["notes"]


def test_address_normalization__already_standard__passes_without_change():
    # Given already standard; When address normalization runs; Then it passes without change
    data = {"address": "350 Fifth Ave", "city": "New York", "state": "NY", "zip_code": "10118"}
    verdict, writes = evaluate(AddressNormalizationRule, {}, data)
    assert verdict.outcome == "pass" and writes == {}
    assert verdict.message == "the address is already standard"


@pytest.mark.parametrize("data", [{}, {"address": "  "}, {"address": 12}])
def test_address_normalization__no_street_line__skips_without_calling(data):
    # Given no usable street line, and a service that would fail if called
    registry = ServiceRegistry().bind("AddressService", "default", SimulatedAddressService(failure_rate=1.0))
    # When evaluated
    verdict, writes = evaluate(AddressNormalizationRule, {}, data, services=registry)
    # Then it skips (the service was not called, or it would have raised)
    assert verdict.outcome == "skip" and writes == {}


def test_address_normalization__service_down__raises():
    # Given an address service that always fails
    registry = ServiceRegistry().bind("AddressService", "default", SimulatedAddressService(failure_rate=1.0))
    # Then the rule raises (the executor reports error), it does not pass or fail
    with pytest.raises(ServiceUnavailable):
        evaluate(AddressNormalizationRule, {}, {"address": "1 main st"}, services=registry)


def test_address_normalization__service_cannot_standardise__skips_with_its_notes():
    # Given service cannot standardise; When address normalization runs; Then it skips with its notes
    class Refuses:
        def normalize_address(self, payload):
            return {"standardized": False, "notes": ["address not found"]}

    registry = ServiceRegistry().bind("AddressService", "default", Refuses())
    verdict, writes = evaluate(AddressNormalizationRule, {}, {"address": "nowhere"}, services=registry)
    assert verdict.outcome == "skip" and writes == {}
    assert "address not found" in verdict.message


# ---------------------------------------------------------------- NameParsingRule


def test_name_parsing__full_name__writes_first_middle_last():
    # Given full name; When name parsing runs; Then it writes first middle last
    verdict, writes = evaluate(NameParsingRule, {"field_name": "name"}, {"name": "Maria Elena Garcia"})
    assert verdict.outcome == "pass"
    assert writes == {"first_name": "Maria", "middle_name": "Elena", "last_name": "Garcia"}


def test_name_parsing__title_suffix_and_comma_form__are_understood():
    # Given "Last, Title First Middle Suffix"
    params = {"extract_fields": ["first_name", "last_name", "title", "suffix"]}
    verdict, writes = evaluate(NameParsingRule, params, {"name": "Dr. John Q. Smith Jr."})
    # Then the parts land in their fields
    assert writes == {"first_name": "John", "last_name": "Smith", "title": "Dr.", "suffix": "Jr."}


def test_name_parsing__unicode_name__keeps_accents_and_hyphens():
    # Given unicode name; When name parsing runs; Then it keeps accents and hyphens
    verdict, writes = evaluate(NameParsingRule, {}, {"name": "José  Álvarez-García"})
    assert writes == {"first_name": "José", "last_name": "Álvarez-García"}
    assert verdict.details["not_found"] == ["middle_name"]


def test_name_parsing__single_word__writes_first_name_and_reports_the_rest():
    # Given single word; When name parsing runs; Then it writes first name and reports the rest
    verdict, writes = evaluate(NameParsingRule, {}, {"name": "Madonna"})
    assert verdict.outcome == "pass" and writes == {"first_name": "Madonna"}
    assert "not found: middle_name, last_name" in verdict.message


def test_name_parsing__existing_part__is_kept_unless_overwrite():
    # Given a record whose first_name was typed separately
    data = {"name": "Maria Garcia", "first_name": "Mary"}
    # When split without and with overwrite
    kept, kept_writes = evaluate(NameParsingRule, {}, data)
    over, over_writes = evaluate(NameParsingRule, {"overwrite_existing": True}, data)
    # Then the typed value is kept by default, replaced on request
    assert kept_writes == {"last_name": "Garcia"} and kept.details["kept_existing"] == ["first_name"]
    assert over_writes == {"first_name": "Maria", "last_name": "Garcia"}


@pytest.mark.parametrize("data", [{}, {"name": None}, {"name": ""}, {"name": 7}, {"name": "Mr."}])
def test_name_parsing__nothing_to_split__skips(data):
    # Given nothing to split; When name parsing runs; Then it skips
    verdict, writes = evaluate(NameParsingRule, {}, data)
    assert verdict.outcome == "skip" and writes == {}


# ---------------------------------------------------------------- EmailNormalizationRule


def test_email_normalization__mixed_case_and_spaces__lower_cased_and_trimmed():
    # Given mixed case and spaces; When email normalization runs; Then it lower cased and trimmed
    verdict, writes = evaluate(
        EmailNormalizationRule,
        {"field_name": "email", "lowercase": True, "remove_dots": False},
        {"email": "  Maria.Garcia@Example.COM "},
    )
    assert verdict.outcome == "pass"
    assert writes == {"email": "maria.garcia@example.com"}


def test_email_normalization__lowercase_off__keeps_the_local_part_case():
    # Given lowercase off; When email normalization runs; Then it keeps the local part case
    verdict, writes = evaluate(EmailNormalizationRule, {"lowercase": False}, {"email": "Maria@Example.COM"})
    assert writes == {"email": "Maria@example.com"}


def test_email_normalization__remove_dots__only_for_gmail():
    # Given dotted addresses at Gmail and elsewhere
    gmail, gmail_writes = evaluate(
        EmailNormalizationRule, {"remove_dots": True}, {"email": "m.a.ria@gmail.com"}
    )
    other, other_writes = evaluate(
        EmailNormalizationRule, {"remove_dots": True}, {"email": "m.aria@example.com"}
    )
    # Then only Gmail's dots go
    assert gmail_writes == {"email": "maria@gmail.com"}
    assert other_writes == {}


def test_email_normalization__unicode_domain__is_kept_in_unicode_lower_case():
    # Given unicode domain; When email normalization runs; Then it is kept in unicode lower case
    verdict, writes = evaluate(EmailNormalizationRule, {}, {"email": "Jürgen@Bücher.DE"})
    assert writes == {"email": "jürgen@bücher.de"}


def test_email_normalization__malformed__skips_unchanged_with_reason():
    # Given an address without a dot in its domain
    verdict, writes = evaluate(EmailNormalizationRule, {}, {"email": "a@b"})
    # Then it is left for the email format rule to judge
    assert verdict.outcome == "skip" and writes == {}
    assert verdict.message.startswith("email 'a@b' could not be standardised:")
    assert verdict.message.endswith("left unchanged")


@pytest.mark.parametrize("data", [{}, {"email": None}, {"email": " "}, {"email": 5}])
def test_email_normalization__absent_or_not_text__skips(data):
    # Given absent or not text; When email normalization runs; Then it skips
    verdict, writes = evaluate(EmailNormalizationRule, {}, data)
    assert verdict.outcome == "skip" and writes == {}
