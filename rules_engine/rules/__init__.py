"""The rule library: every rule class a pipeline config may name, by class name.

One module per concern, in pipeline order; the module's name is its rules' category:

- :mod:`.preprocessing`: clean and normalise fields (trim, phone, address, name, email).
- :mod:`.data_quality`: judge completeness, formats and consistency.
- :mod:`.compliance`: KYC, sanctions, PEP and AML screening (outside services).
- :mod:`.business`: age, credit, income, debt-to-income, geographic eligibility.
- :mod:`.post_processing`: customer id, audit trail, risk score, notification.

``default_rule_registry()`` returns a new dict on every call (the executor receives an
explicit registry; nothing here is a mutable module-level global).
"""

from __future__ import annotations

from rules_engine.rule import Rule

__all__ = ["CATEGORIES", "default_rule_registry", "rule_categories"]

#: The categories of the built-in rules, in pipeline order.
CATEGORIES = ("preprocessing", "data_quality", "compliance", "business", "post_processing")


def _category_classes() -> list[tuple[str, tuple[type[Rule], ...]]]:
    from rules_engine.rules import business, compliance, data_quality, post_processing, preprocessing

    modules = {
        "preprocessing": preprocessing,
        "data_quality": data_quality,
        "compliance": compliance,
        "business": business,
        "post_processing": post_processing,
    }
    return [(category, modules[category].RULE_CLASSES) for category in CATEGORIES]


def default_rule_registry() -> dict[str, type[Rule]]:
    """Every built-in rule class, keyed by class name (the ``class`` of a config rule)."""
    return {cls.__name__: cls for _, classes in _category_classes() for cls in classes}


def rule_categories() -> dict[str, str]:
    """Class name -> category (one of CATEGORIES) of every built-in rule class."""
    return {cls.__name__: category for category, classes in _category_classes() for cls in classes}
