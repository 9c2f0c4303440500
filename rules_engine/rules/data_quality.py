"""Data-quality rules: judge whether the record is complete, well-formed and
consistent. They only read the record (no changes) and call no outside service,
except the optional, opt-in MX look-up of the email format rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import phonenumbers
import zipcodes
from email_validator import EmailNotValidError, validate_email

from rules_engine.geography import state_code
from rules_engine.rule import NETWORK_IO, NO_IO, Rule, RuleContext, Verdict, failed, passed, skipped
from rules_engine.rules import params as p
from rules_engine.rules.parsed_values import check_email, parse_phone
from rules_engine.rules.record_values import as_text, is_missing, network_allowed, shown, type_name

__all__ = [
    "RequiredFieldsRule",
    "DataCompletenessRule",
    "EmailFormatRule",
    "EmailFormatValidationRule",
    "PhoneFormatRule",
    "PhoneFormatValidationRule",
    "DataConsistencyRule",
    "DISPOSABLE_EMAIL_DOMAINS",
    "RULE_CLASSES",
]


def alias_doc(base: type, name: str) -> str:
    """The docstring of an alias class: the base's help plus a line naming the alias."""
    return f"{(base.__doc__ or '').strip()}\n\n{name} is another name for {base.__name__}: same check, same params."


# ---------------------------------------------------------------- completeness

_ALL_PRESENT = passed("all required fields are present")
_CONTAINERS = frozenset({list, dict, tuple, set})
_PLAIN = frozenset({int, float, bool})


class RequiredFieldsRule(Rule):
    """Required fields: checks that every listed field has a value.

    A field counts as missing when it is absent, empty, only whitespace, or an empty
    list. Zero and false are values.

    - Passes: every listed field has a value.
    - Fails: one or more are missing; the message lists them ("missing: email, phone")
      and the details carry the list and, when given, each field's description.
    """

    params_schema = p.rule_schema(
        "Required fields",
        "Check that every listed field has a value.",
        {
            "required_fields": p.field_list("Required fields", "The fields every record must have."),
            "field_descriptions": p.prop(
                "object",
                "Field descriptions",
                "Optional plain-language description of each field, reported with the missing ones.",
                additionalProperties={"type": "string"},
                default={},
            ),
        },
        required=["required_fields"],
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self._fields = tuple(self.params["required_fields"])
        #: the field when there is only one (the usual case), checked without a loop
        self._only = self._fields[0] if len(self._fields) == 1 else None
        self._descriptions = dict(self.params.get("field_descriptions") or {})

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        # Hot path (benchmarked with thousands of rules per record): no allocation when
        # every field is present. ``data[field]`` rather than ``data.get``: on the
        # executor's read-only view a lookup is one C call, ``get`` a method call more.
        # Whatever the path, a field missing here is missing in ``_missing`` too.
        only = self._only
        if only is not None:
            try:
                value = data[only]
            except KeyError:
                return self._missing(data)
            if value.__class__ is str:
                if value and not value.isspace():
                    return _ALL_PRESENT
            elif not is_missing(value):
                return _ALL_PRESENT
            return self._missing(data)
        for field in self._fields:
            try:
                value = data[field]
            except KeyError:
                break
            kind = value.__class__
            if kind is str:
                if not value or value.isspace():
                    break
            elif kind in _PLAIN:
                continue
            elif kind in _CONTAINERS:
                if not value:
                    break
            elif is_missing(value):
                break
        else:
            return _ALL_PRESENT
        return self._missing(data)

    def _missing(self, data: Mapping[str, Any]) -> Verdict:
        missing = [field for field in self._fields if is_missing(data.get(field))]
        details: dict[str, Any] = {"missing": missing}
        if self._descriptions:
            details["descriptions"] = {
                field: self._descriptions[field] for field in missing if field in self._descriptions
            }
        return failed(f"missing: {', '.join(missing)}", details)


class DataCompletenessRule(RequiredFieldsRule):
    __doc__ = alias_doc(RequiredFieldsRule, "Data completeness")


# ---------------------------------------------------------------- email

#: A small list of well-known disposable (throw-away) email providers.
DISPOSABLE_EMAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "mailinator.com",
        "guerrillamail.com",
        "guerrillamail.net",
        "sharklasers.com",
        "10minutemail.com",
        "tempmail.com",
        "temp-mail.org",
        "yopmail.com",
        "trashmail.com",
        "getnada.com",
        "dispostable.com",
        "throwawaymail.com",
        "maildrop.cc",
        "fakeinbox.com",
        "mintemail.com",
        "spamgourmet.com",
        "mailnesia.com",
        "moakt.com",
        "emailondeck.com",
        "burnermail.io",
        "tempail.com",
        "mohmal.com",
    }
)


def is_disposable(domain: str) -> bool:
    """Whether ``domain`` is a disposable provider's or one of its subdomains: the
    domain itself, or what follows one of its dots, is on the list."""
    domain = domain.lower()
    if domain in DISPOSABLE_EMAIL_DOMAINS:
        return True
    dot = domain.find(".")
    while dot >= 0:
        if domain[dot + 1 :] in DISPOSABLE_EMAIL_DOMAINS:
            return True
        dot = domain.find(".", dot + 1)
    return False


class EmailFormatRule(Rule):
    """Email format: checks that an email address is well formed, using the
    email-validator library (an @-sign, a valid part before it, a real-looking domain
    with a dot, no spaces or forbidden characters).

    Optionally it rejects disposable (throw-away) providers such as mailinator.com,
    and checks that the domain accepts mail (a DNS MX look-up). The MX look-up needs the
    network, so it only happens when ``check_mx_record`` is on AND the run allows
    network look-ups (run context ``allow_network: true``); otherwise the message says
    it was not done. Tests and offline runs never touch the network.

    - Passes: the address is well formed (and, where checked, not disposable and
      able to receive mail).
    - Fails: the address is malformed (the message quotes it and says why), is not
      text, uses a disposable provider when those are not allowed, or its domain
      cannot receive mail.
    - Skips: the field is absent (the required-fields rule reports missing fields).
    """

    params_schema = p.rule_schema(
        "Email format",
        "Check that an email address is well formed.",
        {
            "field_name": p.field_name(
                "Field", "The record field holding the email address.", default="email"
            ),
            "allow_disposable": p.prop(
                "boolean",
                "Allow disposable addresses",
                "Accept addresses at throw-away providers such as mailinator.com.",
                default=True,
            ),
            "check_mx_record": p.prop(
                "boolean",
                "Check the domain receives mail",
                "Look up the domain's mail (MX) records. Only done when the run "
                "allows network look-ups (run context allow_network).",
                default=False,
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.field = self.params.get("field_name", "email")
        self.allow_disposable = bool(self.params.get("allow_disposable", True))
        self.check_mx = bool(self.params.get("check_mx_record", False))

    @property
    def blocking(self) -> bool:
        # The MX look-up may wait on DNS: run where a timeout can abandon it.
        return self.check_mx or bool(self.services)

    @property
    def own_io(self) -> str:
        # The MX look-up waits on DNS, and is made only in runs that allow network look-ups.
        return NETWORK_IO if self.check_mx else NO_IO

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        field = self.field
        value = data.get(field)
        if is_missing(value):
            return skipped(f"{field} is absent; nothing to check", {"field": field})
        if not isinstance(value, str):
            return failed(
                f"{field} {shown(value)} is malformed: it is not text ({type_name(value)})",
                {"field": field, "value": value, "reason": "not text"},
            )
        check_mx = self.check_mx and network_allowed(ctx.run_context)
        if check_mx:
            try:
                domain: str | None = validate_email(value, check_deliverability=True, timeout=5).domain
                error = None
            except EmailNotValidError as invalid:
                domain, error = None, str(invalid)
        else:
            _, domain, error = check_email(value)
        if domain is None:
            return failed(
                f"{field} {shown(value)} is malformed: {error}",
                {"field": field, "value": value, "reason": error},
            )
        if not self.allow_disposable and is_disposable(domain):
            return failed(
                f"{field} {shown(value)} uses the disposable-address provider {domain}",
                {"field": field, "value": value, "reason": "disposable", "domain": domain},
            )
        message = f"{field} is well formed"
        if check_mx:
            message += "; its domain accepts mail"
        elif self.check_mx:
            message += (
                "; MX record not checked: network look-ups are off for this run (run context allow_network)"
            )
        return passed(message, {"field": field, "domain": domain, "mx_checked": check_mx})


class EmailFormatValidationRule(EmailFormatRule):
    __doc__ = alias_doc(EmailFormatRule, "Email format validation")


# ---------------------------------------------------------------- phone

_PHONE_TYPES = {
    value: name.lower()
    for name, value in vars(phonenumbers.PhoneNumberType).items()
    if name.isupper() and isinstance(value, int)
}


class PhoneFormatRule(Rule):
    """Phone format: checks that a phone number is a real, dialable number, using the
    phonenumbers library (right number of digits, an existing country and area code).
    Numbers without a + prefix are read as numbers of ``country_code``.

    - Passes: the number is valid; the details give it in E.164 form with its country.
    - Fails: the value is not text, is not a phone number at all, is not a valid
      number, or has an extension (such as "x12") while extensions are not allowed.
    - Skips: the field is absent (the required-fields rule reports missing fields).
    """

    params_schema = p.rule_schema(
        "Phone format",
        "Check that a phone number is a valid, dialable number.",
        {
            "field_name": p.field_name(
                "Field", "The record field holding the phone number.", default="phone"
            ),
            "country_code": p.phone_region(
                "Default country", "ISO 3166-1 country code used for numbers written without a + prefix."
            ),
            "allow_extensions": p.prop(
                "boolean",
                "Allow extensions",
                "Accept numbers with an extension such as 'x12' or 'ext. 12'.",
                default=True,
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.field = self.params.get("field_name", "phone")
        self.region = self.params.get("country_code", "US")
        self.allow_extensions = bool(self.params.get("allow_extensions", True))

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        field = self.field
        value = data.get(field)
        if is_missing(value):
            return skipped(f"{field} is absent; nothing to check", {"field": field})
        text = as_text(value)
        if text is None:
            return failed(
                f"{field} {shown(value)} is malformed: it is not text ({type_name(value)})",
                {"field": field, "value": value, "reason": "not text"},
            )
        number, reason = parse_phone(text, self.region)
        if number is None:
            return failed(
                f"{field} {shown(value)} is malformed: {reason}",
                {"field": field, "value": value, "reason": reason},
            )
        if not phonenumbers.is_valid_number(number):
            reason = (
                "it has the wrong number of digits"
                if not phonenumbers.is_possible_number(number)
                else "no such country, area code or number range"
            )
            return failed(
                f"{field} {shown(value)} is not a valid phone number: {reason}",
                {"field": field, "value": value, "reason": reason},
            )
        if number.extension and not self.allow_extensions:
            return failed(
                f"{field} {shown(value)} has an extension ({number.extension}), which is not allowed",
                {"field": field, "value": value, "reason": "extension not allowed"},
            )
        region = phonenumbers.region_code_for_number(number)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return passed(
            f"{field} is a valid {region} number",
            {
                "field": field,
                "e164": e164,
                "region": region,
                "number_type": _PHONE_TYPES.get(phonenumbers.number_type(number), "unknown"),
            },
        )


class PhoneFormatValidationRule(PhoneFormatRule):
    __doc__ = alias_doc(PhoneFormatRule, "Phone format validation")


# ---------------------------------------------------------------- consistency


@lru_cache(maxsize=8192)
def zip_states(zip_code: str) -> tuple[str, ...]:
    """The states of a US ZIP code (empty when it does not exist); ValueError when malformed."""
    return tuple(sorted({match["state"] for match in zipcodes.matching(zip_code)}))


Check = tuple[str, str]  # (result: pass|fail|skip, message)


def _state_zip(data: Mapping[str, Any], state_field: str, zip_field: str) -> Check:
    state, zip_value = data.get(state_field), data.get(zip_field)
    if is_missing(state):
        return "skip", f"{state_field} is absent"
    if is_missing(zip_value):
        return "skip", f"{zip_field} is absent"
    if isinstance(zip_value, int) and not isinstance(zip_value, bool):
        zip_text = str(zip_value).zfill(5)  # a ZIP read as a number loses its leading zeros
    elif isinstance(zip_value, str):
        zip_text = zip_value.strip()
    else:
        return "fail", f"{zip_field} {shown(zip_value)} is not a ZIP code"
    try:
        states = zip_states(zip_text)
    except ValueError:
        return "fail", f"{zip_field} {shown(zip_value)} is not a ZIP code (expected 12345 or 12345-6789)"
    if not states:
        return "fail", f"{zip_field} {zip_text} is not an existing US ZIP code"
    code = state_code(state)
    if code is None:
        return "fail", f"{state_field} {shown(state)} is not a US state"
    if code in states:
        return "pass", f"{zip_field} {zip_text} is in {code}"
    return (
        "fail",
        f"{state_field} {shown(state)} does not match {zip_field} {zip_text}, which is in {'/'.join(states)}",
    )


def _area_code(data: Mapping[str, Any], area_field: str, phone_field: str) -> Check:
    area, phone = data.get(area_field), data.get(phone_field)
    if is_missing(area):
        return "skip", f"{area_field} is absent"
    if is_missing(phone):
        return "skip", f"{phone_field} is absent"
    area_text = as_text(area)
    if area_text is None or not (area_text.strip().isdigit() and len(area_text.strip()) == 3):
        return "fail", f"{area_field} {shown(area)} is not a three-digit area code"
    phone_text = as_text(phone)
    if phone_text is None:
        return "skip", f"{phone_field} is not text"
    number = parse_phone(phone_text, "US").number
    if number is None:
        return "skip", f"{phone_field} could not be parsed (the phone format rule judges it)"
    length = phonenumbers.length_of_geographical_area_code(number)
    if not length:
        return "skip", f"{phone_field} has no geographic area code"
    phone_area = phonenumbers.national_significant_number(number)[:length]
    if phone_area == area_text.strip():
        return "pass", f"{area_field} {phone_area} matches {phone_field}"
    return "fail", f"{area_field} {shown(area)} does not match {phone_field}'s area code {phone_area}"


_VALIDATORS: dict[str, Callable[[Mapping[str, Any], str, str], Check]] = {
    "state_zip_consistency": _state_zip,
    "area_code_consistency": _area_code,
}


class DataConsistencyRule(Rule):
    """Data consistency: checks that related fields agree with each other.

    Checks available (each names its two fields, in this order):

    - ``state_zip_consistency`` [state field, ZIP field]: the ZIP code exists and lies
      in the state (from the zipcodes library's US ZIP database).
    - ``area_code_consistency`` [area-code field, phone field]: the area code matches
      the area code of the phone number (phonenumbers library).

    A check whose fields are not both present is skipped and said so, not failed.

    - Passes: no check found a disagreement (skipped checks are named).
    - Fails: a check found a disagreement or a malformed value; the message says which.
    - Skips: no check could run at all.
    """

    params_schema = p.rule_schema(
        "Data consistency",
        "Check that related fields agree with each other.",
        {
            "validation_rules": p.prop(
                "array",
                "Checks",
                "The consistency checks to run, in order.",
                minItems=1,
                items={
                    "type": "object",
                    "title": "Check",
                    "additionalProperties": False,
                    "required": ["fields", "validator"],
                    "properties": {
                        "fields": p.prop(
                            "array",
                            "Fields",
                            "The two fields compared: [state, ZIP code] for state_zip_consistency; "
                            "[area code, phone] for area_code_consistency.",
                            items={"type": "string", "minLength": 1},
                            minItems=2,
                            maxItems=2,
                        ),
                        "validator": p.prop(
                            "string", "Check", "Which consistency check to run.", enum=list(_VALIDATORS)
                        ),
                    },
                },
            ),
        },
        required=["validation_rules"],
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.checks = tuple(
            (item["validator"], tuple(item["fields"])) for item in self.params["validation_rules"]
        )

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        checks: list[dict[str, Any]] = []
        for validator, fields in self.checks:
            result, message = _VALIDATORS[validator](data, fields[0], fields[1])
            checks.append(
                {"validator": validator, "fields": list(fields), "result": result, "message": message}
            )
        failures = [c for c in checks if c["result"] == "fail"]
        skips = [c for c in checks if c["result"] == "skip"]
        details = {"checks": checks}
        if failures:
            return failed("; ".join(c["message"] for c in failures), details)
        skipped_note = "; ".join(f"{c['validator']} skipped: {c['message']}" for c in skips)
        if len(skips) == len(checks):
            return skipped(f"no consistency check could run: {skipped_note}", details)
        head = "consistent: " + ", ".join(c["validator"] for c in checks if c["result"] == "pass")
        return passed(f"{head}; {skipped_note}" if skips else head, details)


RULE_CLASSES = (
    RequiredFieldsRule,
    DataCompletenessRule,
    EmailFormatRule,
    EmailFormatValidationRule,
    PhoneFormatRule,
    PhoneFormatValidationRule,
    DataConsistencyRule,
)
