"""Record data as the console shows it: pretty-printed JSON, never Python's repr."""

import json

from django import template

register = template.Library()


@register.filter
def as_json(value) -> str:
    """`value` as indented JSON (true, null, double quotes); escaped by the template like
    any text. Mask PII before it gets here."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


@register.filter
def as_value(value) -> str:
    """One value in a sentence: text as it is, anything else as compact JSON (true, null,
    {"a": 1}), never Python's repr."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
