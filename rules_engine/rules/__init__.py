"""The rule library: every rule class a pipeline config may name, by class name.

One module per concern, in pipeline order:

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

__all__ = ["default_rule_registry"]


def default_rule_registry() -> dict[str, type[Rule]]:
    """Every built-in rule class, keyed by class name (the ``class`` of a config rule)."""
    from rules_engine.rules import business, compliance, data_quality, post_processing, preprocessing

    registry: dict[str, type[Rule]] = {}
    for module in (preprocessing, data_quality, compliance, business, post_processing):
        for cls in module.RULE_CLASSES:
            registry[cls.__name__] = cls
    return registry
