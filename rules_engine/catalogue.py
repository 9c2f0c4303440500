"""What each rule type a config may name is, for the people and programs choosing one:
its class, category, params JSON Schema, title, one-line summary and full description.

    rules_engine.rule_catalogue()["AgeVerificationRule"].category   # "business"
    rules_engine.rule_type("AgeVerificationRule")                   # the class

A catalogue follows a registry (class name -> rule class), the built-in library by
default. A class outside the built-in library names its category in a ``category``
class attribute; without one it is "other".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rules_engine.rule import Rule
from rules_engine.rules import default_rule_registry, rule_categories

OTHER = "other"


@dataclass(frozen=True)
class RuleType:
    """One rule type of a catalogue."""

    name: str  # the ``class`` a config rule names
    cls: type[Rule]
    category: str  # one of rules_engine.rules.CATEGORIES, or "other"
    params_schema: dict[str, Any]
    title: str  # the params schema's title, else the name
    summary: str  # the params schema's description: one line
    description: str  # the class's docstring, for a business reader


def rule_catalogue(rules: Mapping[str, type[Rule]] | None = None) -> dict[str, RuleType]:
    """Class name -> RuleType for every class of ``rules`` (the built-in library when None),
    in the registry's order."""
    built_in = default_rule_registry()
    registry = built_in if rules is None else rules
    categories = rule_categories()
    catalogue = {}
    for name, cls in registry.items():
        schema = getattr(cls, "params_schema", None) or {"type": "object"}
        category = categories[name] if built_in.get(name) is cls else getattr(cls, "category", OTHER)
        catalogue[name] = RuleType(
            name=name,
            cls=cls,
            category=str(category),
            params_schema=schema,
            title=str(schema.get("title") or name),
            summary=str(schema.get("description") or ""),
            description=cls.describe(),
        )
    return catalogue


def rule_type(name: str, rules: Mapping[str, type[Rule]] | None = None) -> type[Rule]:
    """The rule class a config names ``name``; KeyError when the registry has none."""
    registry = default_rule_registry() if rules is None else rules
    return registry[name]
