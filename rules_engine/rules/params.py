"""Building blocks for the rules' params JSON Schemas (draft 2020-12).

Every property carries a ``title`` and a ``description`` (the console generates its
parameter forms from them) and, where one applies, a documented ``default``. Every
schema is strict: ``additionalProperties: false``.
"""

from __future__ import annotations

from typing import Any

import phonenumbers

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: ISO 3166-1 alpha-2 regions that phonenumbers knows how to parse and validate.
PHONE_REGIONS: list[str] = sorted(phonenumbers.SUPPORTED_REGIONS)

VERIFICATION_METHODS = ["bank_statements", "pay_stubs", "tax_returns", "employer_verification"]
RISK_CATEGORIES = ["low", "medium", "high"]


def rule_schema(
    title: str, description: str, properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A strict object schema for a rule's params."""
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "title": title,
        "description": description,
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


def prop(type_: str | list[str], title: str, description: str, **extra: Any) -> dict[str, Any]:
    """A property with its type, title and description (plus any other keywords)."""
    return {"type": type_, "title": title, "description": description, **extra}


def field_name(title: str, description: str, default: str | None = None) -> dict[str, Any]:
    """The name of a record field."""
    extra: dict[str, Any] = {"minLength": 1}
    if default is not None:
        extra["default"] = default
    return prop("string", title, description, **extra)


def field_list(title: str, description: str, **extra: Any) -> dict[str, Any]:
    """A non-empty list of distinct record field names."""
    return prop(
        "array",
        title,
        description,
        items={"type": "string", "minLength": 1},
        minItems=1,
        uniqueItems=True,
        **extra,
    )


def service_ref(interface: str, title: str, description: str) -> dict[str, Any]:
    """A ``service:Interface:name`` reference to an outside service of ``interface``."""
    return prop(
        "string",
        title,
        f"{description} Written service:{interface}:<name>; the name selects the binding "
        f"(vendor or environment). When omitted, the binding named 'default' is used.",
        pattern=rf"^service:{interface}:[A-Za-z0-9_.\-]+$",
        examples=[f"service:{interface}:default"],
    )


def phone_region(title: str, description: str, default: str = "US") -> dict[str, Any]:
    return prop("string", title, description, enum=PHONE_REGIONS, default=default)


def probability(
    title: str, description: str, default: float | None = None, examples: list[float] | None = None
) -> dict[str, Any]:
    extra: dict[str, Any] = {"minimum": 0, "maximum": 1}
    if default is not None:
        extra["default"] = default
    if examples:
        extra["examples"] = examples
    return prop("number", title, description, **extra)
