"""Masking personal data (PII) before it leaves the engine: audit trails, stored run
inputs, the console. One place, so every output masks the same way.

``mask_record(record)`` returns a copy in which every PII field (see
``DEFAULT_PII_FIELDS``; nested objects too) is masked by ``mask_value``:

- ssn / tax ids: ``123-45-6789`` -> ``***-**-6789`` (last four kept)
- phone: ``+12125550147`` -> ``+*******0147`` (last four kept, separators kept)
- email: ``john.smith@example.com`` -> ``j*********@example.com`` (domain kept)
- date_of_birth: ``1985-03-15`` -> ``****-**-**``
- names: ``Maria`` -> ``M****`` (first letter kept)
- anything else that is PII (address, document numbers): every letter and digit masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["DEFAULT_PII_FIELDS", "is_pii_field", "mask_value", "mask_record", "masked_fields"]

MASK = "*"

DEFAULT_PII_FIELDS: frozenset[str] = frozenset(
    {
        "ssn",
        "tax_id",
        "date_of_birth",
        "dob",
        "phone",
        "mobile",
        "email",
        "name",
        "full_name",
        "first_name",
        "middle_name",
        "last_name",
        "address",
        "street",
        "passport_number",
        "drivers_license_number",
        "account_number",
    }
)

_LAST_FOUR = frozenset({"ssn", "tax_id", "phone", "mobile", "account_number"})
_FIRST_LETTER = frozenset({"name", "full_name", "first_name", "middle_name", "last_name"})
_DATES = frozenset({"date_of_birth", "dob"})


def is_pii_field(field: str, pii_fields: Iterable[str] = DEFAULT_PII_FIELDS) -> bool:
    return field.lower() in pii_fields


# a letter or digit: what str.isalnum() accepts (\w is that plus the underscore)
_ALNUM = re.compile(r"[^\W_]")


def _mask_chars(text: str, keep_last: int = 0) -> str:
    """Mask letters and digits (keeping separators), except the last ``keep_last`` of them."""
    to_mask = len(_ALNUM.findall(text)) - keep_last
    return _ALNUM.sub(MASK, text, count=to_mask) if to_mask > 0 else text


def mask_value(field: str, value: Any) -> Any:
    """``value`` of ``field`` with its identifying part masked. None stays None; numbers
    and other non-text values become ``"***"``."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {key: mask_value(key if is_pii_field(key) else field, item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(field, item) for item in value]
    if not isinstance(value, str):
        return MASK * 3
    value = value.strip()
    if not value:
        return value
    kind = field.lower()
    if kind in _LAST_FOUR:
        digits = len(_ALNUM.findall(value))
        return _mask_chars(value, keep_last=4 if digits > 4 else 0)
    if kind in _DATES:
        return _mask_chars(value)
    if kind == "email" and value.count("@") == 1:
        local, domain = value.split("@")
        return (local[:1] + MASK * max(len(local) - 1, 0) if local else "") + "@" + domain
    if kind in _FIRST_LETTER:
        return " ".join(word[:1] + MASK * (len(word) - 1) for word in value.split())
    return _mask_chars(value)


def mask_record(record: Mapping[str, Any], pii_fields: Iterable[str] | None = None) -> dict[str, Any]:
    """A copy of ``record`` with every PII field masked (nested objects included)."""
    return _mask_record(record, _lowered(pii_fields))


def _lowered(pii_fields: Iterable[str] | None) -> frozenset[str]:
    """The PII field names in lower case (the default set as it is: no copy per record)."""
    if pii_fields is None or pii_fields is DEFAULT_PII_FIELDS:
        return DEFAULT_PII_FIELDS
    return frozenset(f.lower() for f in pii_fields)


def _mask_record(record: Mapping[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    masked: dict[str, Any] = {}
    for key, value in record.items():
        if key.lower() in fields:
            masked[key] = mask_value(key, value)
        elif isinstance(value, Mapping):
            masked[key] = _mask_record(value, fields)
        else:
            masked[key] = value
    return masked


def masked_fields(record: Mapping[str, Any], pii_fields: Iterable[str] | None = None) -> list[str]:
    """The top-level fields of ``record`` that ``mask_record`` masks, sorted."""
    fields = _lowered(pii_fields)
    return sorted(key for key, value in record.items() if key.lower() in fields and value is not None)
