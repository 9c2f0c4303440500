"""Preprocessing rules: clean and normalise fields before anything judges them.

They change the record only through ``ctx.set`` and never fail a record: what they
can normalise they normalise (outcome ``pass``), what they cannot they leave as it is
(outcome ``skip``, with a message saying why). Judging a value belongs to the
data-quality rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import phonenumbers
from nameparser import HumanName

from rules_engine.rule import Rule, RuleContext, Verdict, passed, skipped
from rules_engine.rules import params as p
from rules_engine.rules.parsed_values import check_email, parse_phone, remember_email, remember_phone
from rules_engine.rules.record_values import as_text, is_missing, shown, type_name
from rules_engine.services.interfaces import ServiceResponseError

__all__ = [
    "TrimWhitespaceRule",
    "MultiFieldTrimRule",
    "PhoneNormalizationRule",
    "AddressNormalizationRule",
    "NameParsingRule",
    "EmailNormalizationRule",
    "RULE_CLASSES",
]

# Unicode whitespace plus the invisible zero-width characters that copy-paste brings along.
_EDGE_SPACE = re.compile(r"^[\s\u200b\u200c\u200d\u2060\ufeff]+|[\s\u200b\u200c\u200d\u2060\ufeff]+$")


def trim(text: str) -> str:
    """``text`` without leading or trailing whitespace (Unicode and zero-width included)."""
    return _EDGE_SPACE.sub("", text)


class TrimWhitespaceRule(Rule):
    """Trim whitespace: removes spaces, tabs, line breaks and invisible zero-width
    characters from the start and end of one text field.

    - Changes: the field, when it had such whitespace.
    - Passes: the field was trimmed, or had nothing to trim.
    - Skips: the field is absent, or is not text (a number, a list); it is left unchanged.
    - Never fails: whether the value is acceptable is for the data-quality rules.
    """

    transforms = True
    params_schema = p.rule_schema(
        "Trim whitespace",
        "Trim leading and trailing whitespace from one text field.",
        {"field_name": p.field_name("Field", "The record field to trim, for example 'name'.")},
        required=["field_name"],
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.field = self.params["field_name"]
        self._changed = passed(
            f"trimmed whitespace around {self.field}", {"field": self.field, "changed": True}
        )
        self._unchanged = passed(
            f"{self.field} had no surrounding whitespace", {"field": self.field, "changed": False}
        )

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        value = data.get(self.field)
        if value is None:
            return skipped(f"{self.field} is absent; nothing to trim", {"field": self.field})
        if not isinstance(value, str):
            return skipped(
                f"{self.field} is not text ({type_name(value)}); left unchanged", {"field": self.field}
            )
        trimmed = trim(value)
        if trimmed == value:
            return self._unchanged
        ctx.set(self.field, trimmed)
        return self._changed


class MultiFieldTrimRule(Rule):
    """Trim whitespace in several fields: the same as "Trim whitespace", for a list of
    fields at once.

    - Changes: each listed text field that had leading or trailing whitespace.
    - Passes: at least one listed field is present as text (trimmed or already clean).
    - Skips: none of the listed fields is present as text.
    - Fields that are absent or not text are left unchanged and named in the details.
    """

    transforms = True
    params_schema = p.rule_schema(
        "Trim whitespace in several fields",
        "Trim leading and trailing whitespace from each listed text field.",
        {"fields": p.field_list("Fields", "The record fields to trim, for example name, email, address.")},
        required=["fields"],
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.fields = tuple(self.params["fields"])

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        trimmed: list[str] = []
        unchanged: list[str] = []
        absent: list[str] = []
        not_text: list[str] = []
        for field in self.fields:
            value = data.get(field)
            if value is None:
                absent.append(field)
            elif not isinstance(value, str):
                not_text.append(field)
            else:
                clean = trim(value)
                if clean == value:
                    unchanged.append(field)
                else:
                    ctx.set(field, clean)
                    trimmed.append(field)
        details = {"trimmed": trimmed, "unchanged": unchanged, "absent": absent, "not_text": not_text}
        left = []
        if absent:
            left.append(f"absent: {', '.join(absent)}")
        if not_text:
            left.append(f"not text, left unchanged: {', '.join(not_text)}")
        if not trimmed and not unchanged:
            return skipped("nothing to trim; " + "; ".join(left), details)
        head = f"trimmed {', '.join(trimmed)}" if trimmed else "no field needed trimming"
        return passed("; ".join([head, *left]), details)


_PHONE_FORMATS = {
    "E164": phonenumbers.PhoneNumberFormat.E164,
    "INTERNATIONAL": phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    "NATIONAL": phonenumbers.PhoneNumberFormat.NATIONAL,
    "RFC3966": phonenumbers.PhoneNumberFormat.RFC3966,
}

_POSSIBILITY = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "its country code is invalid",
    phonenumbers.ValidationResult.TOO_SHORT: "it is too short",
    phonenumbers.ValidationResult.TOO_LONG: "it is too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "its length is invalid",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "it lacks an area code",
}


class PhoneNormalizationRule(Rule):
    """Normalise phone number: rewrites a phone number in one standard format (by
    default E.164, for example +12125550147), using the phonenumbers library.

    Numbers written without a country prefix are read as numbers of ``country_code``.

    - Changes: the field, when it was not yet in the chosen format.
    - Passes: the number was normalised, or was already in the chosen format.
    - Skips (left unchanged): the field is absent or not text; the text is not a phone
      number; it has the wrong number of digits; it has an extension and the format is
      E.164, which cannot hold one.
    - Never fails: the phone format rule judges whether the number is valid.
    """

    transforms = True
    params_schema = p.rule_schema(
        "Normalise phone number",
        "Rewrite a phone number in one standard format.",
        {
            "field_name": p.field_name(
                "Field", "The record field holding the phone number.", default="phone"
            ),
            "country_code": p.phone_region(
                "Default country", "ISO 3166-1 country code used for numbers written without a + prefix."
            ),
            "format": p.prop(
                "string",
                "Format",
                "E164: +12125550147; INTERNATIONAL: +1 212-555-0147; NATIONAL: (212) 555-0147; "
                "RFC3966: tel:+1-212-555-0147.",
                enum=list(_PHONE_FORMATS),
                default="E164",
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.field = self.params.get("field_name", "phone")
        self.region = self.params.get("country_code", "US")
        self.format_name = self.params.get("format", "E164")
        self.format = _PHONE_FORMATS[self.format_name]

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        field = self.field
        value = data.get(field)
        if is_missing(value):
            return skipped(f"{field} is absent; nothing to normalise", {"field": field})
        text = as_text(value)
        if text is None:
            return skipped(f"{field} is not text ({type_name(value)}); left unchanged", {"field": field})
        number, reason = parse_phone(text, self.region)
        if number is None:
            return skipped(
                f"{field} {shown(value)} could not be parsed; left unchanged",
                {"field": field, "value": value, "reason": reason},
            )
        possibility = phonenumbers.is_possible_number_with_reason(number)
        if possibility not in (phonenumbers.ValidationResult.IS_POSSIBLE,):
            reason = _POSSIBILITY.get(possibility, "it is not a possible number")
            return skipped(
                f"{field} {shown(value)} could not be normalised: {reason}; left unchanged",
                {"field": field, "value": value, "reason": reason},
            )
        if number.extension and self.format_name == "E164":
            return skipped(
                f"{field} {shown(value)} has extension {number.extension}, which E.164 cannot hold; left unchanged",
                {"field": field, "value": value, "reason": "extension"},
            )
        formatted = phonenumbers.format_number(number, self.format)
        if self.format_name == "E164":
            remember_phone(formatted, self.region, number)
        if formatted == value:
            return passed(
                f"{field} is already in {self.format_name} format",
                {"field": field, "format": self.format_name, "changed": False},
            )
        ctx.set(field, formatted)
        return passed(
            f"normalised {field} to {self.format_name}: {formatted!r}",
            {"field": field, "format": self.format_name, "changed": True},
        )


class AddressNormalizationRule(Rule):
    """Standardise address: sends the postal address (street line, city, state, ZIP
    code) to the address service and writes back its standard form, for example
    "123 main street" -> "123 Main St", "new york" -> "NY", and a missing city or state
    filled in from the ZIP code.

    - Changes: each of the address fields the service standardised differently.
    - Passes: the service standardised the address (changed or already standard).
    - Skips (left unchanged): the street line is absent or not text, or the service
      could not standardise it.
    - Errors: the address service failed or answered nonsense (the run may retry).
    """

    transforms = True
    service_params = {"address_service": "AddressService"}
    params_schema = p.rule_schema(
        "Standardise address",
        "Standardise the postal address through the address service.",
        {
            "address_service": p.service_ref(
                "AddressService", "Address service", "The address standardisation service to call."
            ),
            "address_field": p.field_name(
                "Street field", "The record field holding the street line.", default="address"
            ),
            "city_field": p.field_name("City field", "The record field holding the city.", default="city"),
            "state_field": p.field_name(
                "State field", "The record field holding the state.", default="state"
            ),
            "zip_field": p.field_name(
                "ZIP code field", "The record field holding the ZIP code.", default="zip_code"
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.targets = {
            "address": self.params.get("address_field", "address"),
            "city": self.params.get("city_field", "city"),
            "state": self.params.get("state_field", "state"),
            "zip_code": self.params.get("zip_field", "zip_code"),
        }

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        street_field = self.targets["address"]
        street = data.get(street_field)
        if is_missing(street):
            return skipped(f"{street_field} is absent; nothing to standardise", {"field": street_field})
        if not isinstance(street, str):
            return skipped(
                f"{street_field} is not text ({type_name(street)}); left unchanged", {"field": street_field}
            )
        payload = {key: data.get(field) for key, field in self.targets.items()}
        payload["country"] = data.get("country")
        result = self.services["address_service"].normalize_address(payload)
        if not isinstance(result, Mapping):
            raise ServiceResponseError("the address service answered with something other than an object")
        notes = [str(note) for note in result.get("notes") or []]
        if not result.get("standardized"):
            reason = "; ".join(notes) or "no reason given"
            return skipped(
                f"the address service could not standardise the address ({reason}); left unchanged",
                {"notes": notes},
            )
        changed: list[str] = []
        for key, field in self.targets.items():
            new = result.get(key)
            if isinstance(new, str) and new and new != data.get(field):
                ctx.set(field, new)
                changed.append(field)
        details = {"changed": changed, "notes": notes}
        if not changed:
            return passed("the address is already standard", details)
        return passed(f"standardised {', '.join(changed)}", details)


_NAME_PARTS = {
    "first_name": "first",
    "middle_name": "middle",
    "last_name": "last",
    "title": "title",
    "suffix": "suffix",
    "nickname": "nickname",
}


class NameParsingRule(Rule):
    """Split full name: splits a full name such as "Dr. Maria Elena Garcia Jr." into
    its parts (first_name, middle_name, last_name, and optionally title, suffix,
    nickname), using the nameparser library.

    - Changes: each requested part that was found, written to the field of that name.
      A part the record already has is kept unless ``overwrite_existing`` is on.
    - Passes: a first or last name was found (parts not found are listed).
    - Skips (record unchanged): the name is absent or not text, or holds no first or
      last name (for example only a title, "Mr.").
    """

    transforms = True
    params_schema = p.rule_schema(
        "Split full name",
        "Split a full name into first, middle and last name fields.",
        {
            "field_name": p.field_name("Field", "The record field holding the full name.", default="name"),
            "extract_fields": p.prop(
                "array",
                "Parts to write",
                "Which parts to write, each to the field of the same name.",
                items={"type": "string", "enum": list(_NAME_PARTS)},
                minItems=1,
                uniqueItems=True,
                default=["first_name", "middle_name", "last_name"],
            ),
            "overwrite_existing": p.prop(
                "boolean",
                "Overwrite existing parts",
                "Replace a part the record already has (for example a first_name typed separately).",
                default=False,
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.field = self.params.get("field_name", "name")
        self.parts = tuple(self.params.get("extract_fields", ["first_name", "middle_name", "last_name"]))
        self.overwrite = bool(self.params.get("overwrite_existing", False))

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        field = self.field
        value = data.get(field)
        if is_missing(value):
            return skipped(f"{field} is absent; nothing to split", {"field": field})
        if not isinstance(value, str):
            return skipped(f"{field} is not text ({type_name(value)}); left unchanged", {"field": field})
        name = HumanName(" ".join(value.split()))
        if not (name.first or name.last):
            return skipped(
                f"{field} {shown(value)} holds no first or last name; nothing written", {"field": field}
            )
        components: dict[str, str] = {}
        not_found: list[str] = []
        kept: list[str] = []
        for part in self.parts:
            found = getattr(name, _NAME_PARTS[part]).strip()
            if not found:
                not_found.append(part)
                continue
            components[part] = found
            existing = data.get(part)
            if existing == found:
                continue
            if not self.overwrite and not is_missing(existing):
                kept.append(part)
                continue
            ctx.set(part, found)
        message = f"split {field}: " + ", ".join(f"{part} {found!r}" for part, found in components.items())
        if kept:
            message += f"; kept the existing {', '.join(kept)}"
        if not_found:
            message += f"; not found: {', '.join(not_found)}"
        return passed(
            message, {"field": field, "components": components, "not_found": not_found, "kept_existing": kept}
        )


_DOTLESS_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


class EmailNormalizationRule(Rule):
    """Standardise email: writes an email address in its standard form using the
    email-validator library: surrounding spaces removed, the domain in lower case
    (domains are case-insensitive), Unicode normalised; optionally the part before
    the @ in lower case, and the dots Gmail ignores removed.

    - Changes: the field, when its standard form differs.
    - Passes: the address was standardised, or already was.
    - Skips (left unchanged): the field is absent or not text, or is not a well-formed
      address (the email format rule reports that).
    """

    transforms = True
    params_schema = p.rule_schema(
        "Standardise email",
        "Write an email address in its standard form.",
        {
            "field_name": p.field_name(
                "Field", "The record field holding the email address.", default="email"
            ),
            "lowercase": p.prop(
                "boolean",
                "Lower-case the whole address",
                "Also lower-case the part before the @ (the domain is always lower-cased).",
                default=True,
            ),
            "remove_dots": p.prop(
                "boolean",
                "Remove Gmail dots",
                "Remove dots before the @ for gmail.com and googlemail.com addresses, "
                "which Gmail ignores (other providers treat dots as significant).",
                default=False,
            ),
        },
    )

    def __init__(self, rule_id: str, params: Mapping[str, Any], services: Mapping[str, Any] | None = None):
        super().__init__(rule_id, params, services)
        self.field = self.params.get("field_name", "email")
        self.lowercase = bool(self.params.get("lowercase", True))
        self.remove_dots = bool(self.params.get("remove_dots", False))

    def evaluate(self, data: Mapping[str, Any], ctx: RuleContext) -> Verdict:
        field = self.field
        value = data.get(field)
        if is_missing(value):
            return skipped(f"{field} is absent; nothing to standardise", {"field": field})
        if not isinstance(value, str):
            return skipped(f"{field} is not text ({type_name(value)}); left unchanged", {"field": field})
        local, domain, error = check_email(trim(value))
        if local is None or domain is None:
            return skipped(
                f"{field} {shown(value)} could not be standardised: {error}; left unchanged",
                {"field": field, "value": value, "reason": error},
            )
        domain = domain.lower()
        if self.lowercase:
            local = local.lower()
        if self.remove_dots and domain in _DOTLESS_DOMAINS:
            local = local.replace(".", "")
        normalized = remember_email(local, domain)
        if normalized == value:
            return passed(f"{field} is already standard", {"field": field, "changed": False})
        ctx.set(field, normalized)
        return passed(f"standardised {field} to {normalized!r}", {"field": field, "changed": True})


RULE_CLASSES = (
    TrimWhitespaceRule,
    MultiFieldTrimRule,
    PhoneNormalizationRule,
    AddressNormalizationRule,
    NameParsingRule,
    EmailNormalizationRule,
)
