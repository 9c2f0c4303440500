"""Masking personal data (rules_engine.masking), shared by the audit rule and the console."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rules_engine.masking import DEFAULT_PII_FIELDS, mask_record, mask_value, masked_fields


def test_mask_record__onboarding_record__masks_pii_and_keeps_the_rest():
    # Given a record with PII and non-PII fields, one nested
    record = {
        "name": "Maria Elena Garcia",
        "ssn": "123-45-6789",
        "email": "maria@example.com",
        "phone": "+12125550147",
        "date_of_birth": "1988-07-21",
        "state": "NY",
        "annual_income": 96000,
        "employment": {"employer": "Acme", "phone": "212-555-0100"},
        "middle_name": None,
    }
    # When masked
    masked = mask_record(record)
    # Then PII is masked (nested too), the rest is untouched, and the input is not changed
    assert masked == {
        "name": "M**** E**** G*****",
        "ssn": "***-**-6789",
        "email": "m****@example.com",
        "phone": "+*******0147",
        "date_of_birth": "****-**-**",
        "state": "NY",
        "annual_income": 96000,
        "employment": {"employer": "Acme", "phone": "***-***-0100"},
        "middle_name": None,
    }
    assert record["ssn"] == "123-45-6789"


def test_mask_value__non_text_pii__becomes_stars():
    # Given non text pii; When mask value runs; Then it becomes stars
    assert mask_value("ssn", 123456789) == "***"
    assert mask_value("ssn", None) is None


def test_mask_value__short_secret__masks_everything():
    # Given short secret; When mask value runs; Then it masks everything
    assert mask_value("ssn", "1234") == "****"


def test_mask_value__malformed_email__masks_like_text():
    # Given malformed email; When mask value runs; Then it masks like text
    assert mask_value("email", "not-an-email") == "***-**-*****"


def test_masked_fields__record__present_pii_fields_sorted():
    # Given a record with some PII fields null; Then only present PII fields are listed, sorted
    assert masked_fields({"email": "x@y.z", "ssn": None, "state": "NY", "Phone": "1"}) == ["Phone", "email"]


@given(st.sampled_from(sorted(DEFAULT_PII_FIELDS)), st.text(alphabet="0123456789-", min_size=5, max_size=15))
def test_mask_value__digit_strings__reveal_at_most_four_digits(field, value):
    # Given any PII field holding digits, When masked, Then at most its last four digits remain visible
    masked = mask_value(field, value)
    assert sum(ch.isdigit() for ch in masked) <= 4
    assert len(masked) == len(value.strip())


def test_mask_value__every_unicode_letter_and_digit__masked_as_str_isalnum_says():
    # Given every code point, in one text, beside the per-character definition of masking
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)

    def by_character(value: str, keep_last: int) -> str:
        to_mask = max(sum(ch.isalnum() for ch in value) - keep_last, 0)
        out = []
        for ch in value:
            if ch.isalnum() and to_mask > 0:
                out.append("*")
                to_mask -= 1
            else:
                out.append(ch)
        return "".join(out)

    # When masked as an address (everything) and as an SSN (last four kept)
    # Then exactly the letters and digits are masked, separators and underscores kept
    assert mask_value("address", text) == by_character(text.strip(), 0)
    assert mask_value("ssn", text) == by_character(text.strip(), 4)
