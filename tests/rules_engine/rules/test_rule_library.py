"""The rule library as a whole: every seed class exists, schemas are valid and strict,
seed params validate, every rule has help text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from rules_engine.rule import Rule
from rules_engine.rules import default_rule_registry
from rules_engine.services import default_registry

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "rules_engine" / "examples"
REGISTRY = default_rule_registry()
#: the seed's two configs, as the project ships them
SEED_FILES = ("pipeline_config.json", "customer_onboarding.json")


def _seed_configs() -> list[dict]:
    return [json.loads((EXAMPLES / name).read_text(encoding="utf-8")) for name in SEED_FILES]


SEED_RULES = [
    (stage_name, rule_id, rule)
    for config in _seed_configs()
    for stage_name, stage in config["stages"].items()
    for rule_id, rule in stage["rules"].items()
]
ALL_CLASSES = sorted(REGISTRY.items())


def _properties(schema: dict):
    """Every (path, property schema) of a schema, nested objects and array items included."""
    for name, prop in schema.get("properties", {}).items():
        yield name, prop
        for sub_name, sub in _properties(prop):
            yield f"{name}.{sub_name}", sub
        items = prop.get("items")
        if isinstance(items, dict):
            for sub_name, sub in _properties(items):
                yield f"{name}[].{sub_name}", sub


def test_default_rule_registry__called_twice__returns_independent_dicts():
    # Given / When two registries
    first, second = default_rule_registry(), default_rule_registry()
    # Then they are equal but not the same object (no shared mutable global)
    assert first == second and first is not second


def test_default_rule_registry__seed_configs__names_every_class_they_use():
    # Given the classes both seed configs name
    assert len({rule["class"] for _, _, rule in SEED_RULES}) == 29
    used = {rule["class"] for _, _, rule in SEED_RULES}
    # Then every one is in the registry, keyed by its own class name
    assert used <= set(REGISTRY)
    assert all(cls.__name__ == name and issubclass(cls, Rule) for name, cls in REGISTRY.items())


@pytest.mark.parametrize("name,cls", ALL_CLASSES)
def test_params_schema__every_class__is_a_valid_strict_documented_schema(name, cls):
    # Given a rule class's params schema
    schema = cls.params_schema
    # Then it is valid draft 2020-12, strict, and every property has a title and description
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema.get("title") and schema.get("description")
    for path, prop in _properties(schema):
        assert prop.get("title") and prop.get("description"), f"{name}.{path} lacks a title or description"


@pytest.mark.parametrize("name,cls", ALL_CLASSES)
def test_params_schema__documented_defaults__are_valid_values(name, cls):
    # Given each property's documented default
    for path, prop in _properties(cls.params_schema):
        if "default" in prop:
            # Then the default is valid against the property's own schema
            sub = {k: v for k, v in prop.items() if k != "default"}
            assert not list(Draft202012Validator(sub).iter_errors(prop["default"])), f"{name}.{path}"


@pytest.mark.parametrize("name,cls", ALL_CLASSES)
def test_params_schema__unknown_param__is_rejected(name, cls):
    # Given params with a key the class does not know
    validator = Draft202012Validator(cls.params_schema)
    # Then validation reports it (typos never pass silently)
    assert any("additional" in e.message.lower() for e in validator.iter_errors({"no_such_param": 1}))


@pytest.mark.parametrize("stage,rule_id,rule", SEED_RULES, ids=[f"{s}/{r}" for s, r, _ in SEED_RULES])
def test_seed_rule__params__validate_and_construct_with_services(stage, rule_id, rule):
    # Given a seed rule's class and params
    cls = REGISTRY[rule["class"]]
    params = rule.get("params", {})
    # When validated against the class's schema
    errors = [e.message for e in Draft202012Validator(cls.params_schema).iter_errors(params)]
    # Then there is no problem, its services resolve, and it constructs
    assert errors == []
    registry = default_registry()
    refs = cls.service_refs(params)
    services = {slot: registry.resolve(ref) for slot, ref in refs.items()}
    instance = cls(rule_id, params, services)
    if services:
        assert instance.blocking, "a rule with services must run where a timeout can abandon it"


@pytest.mark.parametrize("name,cls", ALL_CLASSES)
def test_describe__every_class__reads_as_business_help(name, cls):
    # Given / When the help text of a class
    text = cls.describe()
    # Then it says what passes and what fails or skips
    assert len(text) > 120
    assert "Passes" in text and ("Fails" in text or "Skips" in text)


@pytest.mark.parametrize(
    "alias,base",
    [
        ("EmailFormatValidationRule", "EmailFormatRule"),
        ("PhoneFormatValidationRule", "PhoneFormatRule"),
        ("DataCompletenessRule", "RequiredFieldsRule"),
        ("KYCComplianceRule", "KYCIdentityRule"),
        ("OFACSanctionsRule", "SanctionsScreeningRule"),
        ("CreditScoreValidationRule", "CreditScoreRule"),
    ],
)
def test_alias_class__same_concept__subclasses_one_implementation(alias, base):
    # Given two names of one concept
    # Then the alias subclasses the implementation and does not redefine evaluate
    assert issubclass(REGISTRY[alias], REGISTRY[base])
    assert "evaluate" not in vars(REGISTRY[alias])


@pytest.mark.parametrize("name,cls", ALL_CLASSES)
def test_service_refs__default_params__name_known_interfaces(name, cls):
    # Given a class's services with its params at their defaults
    required = cls.params_schema.get("required", [])
    minimal = {
        "field_name": "x",
        "fields": ["x"],
        "required_fields": ["x"],
        "validation_rules": [{"fields": ["a", "b"], "validator": "state_zip_consistency"}],
        "templates": {"success": "s", "failure": "f", "manual_review": "m"},
    }
    params = {key: minimal[key] for key in required}
    # Then each resolves in the default registry
    registry = default_registry()
    for ref in cls.service_refs(params).values():
        assert registry.is_bound(ref)
