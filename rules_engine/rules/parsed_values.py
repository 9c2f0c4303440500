"""Phone numbers and email addresses as their libraries read them, read once per record.

The preprocessing rules parse a phone number (phonenumbers) and check an email address
(email-validator) to normalise them; the data-quality rules then judge the normalised
text. Both read through these functions, which keep the last few results: a value read
again (the same phone text by the phone format and consistency rules) is not parsed
again, and a normaliser hands on what it learnt about the text it wrote
(:func:`remember_phone`, :func:`remember_email`), so judging the normalised value costs
no second parse either.

Results are pure functions of the text (and the phone's default region), so a kept
result is the one the library would give; what a normaliser hands on is what the
library gives for the text it wrote (tested over every region's example numbers).
Only the last :data:`KEPT` of each kind stay in memory, least recently used dropped
first: enough for the records being run at once, not a store of applicants' details.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from threading import Lock
from typing import Generic, NamedTuple, TypeVar

import phonenumbers
from email_validator import EmailNotValidError, validate_email

__all__ = [
    "KEPT",
    "PhoneReading",
    "EmailReading",
    "parse_phone",
    "remember_phone",
    "check_email",
    "remember_email",
    "phone_parse_reason",
]

#: how many readings of each kind are kept
KEPT = 64

K = TypeVar("K")
V = TypeVar("V")


class _Recent(Generic[K, V]):
    """The last ``size`` values put, by key (least recently used dropped first); thread-safe."""

    __slots__ = ("_items", "_lock", "_size")

    def __init__(self, size: int):
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = Lock()
        self._size = size

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            if len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class PhoneReading(NamedTuple):
    """A phone text as phonenumbers reads it: the number, or why it is not one."""

    number: phonenumbers.PhoneNumber | None
    error: str | None


class EmailReading(NamedTuple):
    """An email text as email-validator checks it (syntax only): the part before the @
    and the domain in their normal form, or why it is not an address (``error``)."""

    local_part: str | None
    domain: str | None
    error: str | None


_PARSE_PREFIX = re.compile(r"^\(\d+\)\s*")
_phones: _Recent[tuple[str, str], PhoneReading] = _Recent(KEPT)
_emails: _Recent[str, EmailReading] = _Recent(KEPT)


def phone_parse_reason(error: phonenumbers.NumberParseException) -> str:
    """The library's explanation of a parse failure, without its numeric error code."""
    return _PARSE_PREFIX.sub("", str(error))


def parse_phone(text: str, region: str) -> PhoneReading:
    """``phonenumbers.parse(text, region)``, as a reading (the number is not to be changed)."""
    key = (text, region)
    reading = _phones.get(key)
    if reading is None:
        try:
            reading = PhoneReading(phonenumbers.parse(text, region), None)
        except phonenumbers.NumberParseException as error:
            reading = PhoneReading(None, phone_parse_reason(error))
        _phones.put(key, reading)
    return reading


def remember_phone(text: str, region: str, number: phonenumbers.PhoneNumber) -> None:
    """Record that ``text`` (the E.164 form of ``number``, as a normaliser wrote it)
    reads as ``number``: E.164 text names its number whatever the default region."""
    _phones.put((text, region), PhoneReading(number, None))


def check_email(text: str) -> EmailReading:
    """``validate_email(text, check_deliverability=False)``, as a reading."""
    reading = _emails.get(text)
    if reading is None:
        try:
            email = validate_email(text, check_deliverability=False)
        except EmailNotValidError as error:
            reading = EmailReading(None, None, str(error))
        else:
            reading = EmailReading(email.local_part, email.domain, None)
        _emails.put(text, reading)
    return reading


def remember_email(local_part: str, domain: str) -> str:
    """The address ``local_part@domain``, recorded as reading that way: a normaliser
    writes it from the normal form email-validator gave (``domain`` as the library
    gave it, lower-cased)."""
    text = f"{local_part}@{domain}"
    _emails.put(text, EmailReading(local_part, domain, None))
    return text


def forget_all() -> None:
    """Drop every kept reading (for measurements that must start cold)."""
    _phones.clear()
    _emails.clear()
