"""What rules_engine exports: every name in __all__ exists, the rule catalogue describes
every registered rule type, and RunResultDict names the keys to_dict() returns."""

from __future__ import annotations

from pathlib import Path
from typing import get_type_hints

import pytest

import rules_engine
from rules_engine.rules import CATEGORIES
from tests.rules_engine.test_golden import library_missing_reason
from tests.rules_engine.test_seeds import CONTEXT, GOOD_APPLICANT

EXAMPLES = Path(rules_engine.__file__).parent / "examples"


def test_all__every_name__is_exported():
    # Given the public names
    # When each is looked up on the package
    missing = [name for name in rules_engine.__all__ if not hasattr(rules_engine, name)]
    # Then all exist, each listed once
    assert missing == []
    assert len(rules_engine.__all__) == len(set(rules_engine.__all__))


def test_rule_catalogue__every_registered_rule__has_category_schema_and_description():
    # Given the built-in registry
    registry = rules_engine.default_rule_registry()
    # When its catalogue is built
    catalogue = rules_engine.rule_catalogue()
    # Then every registered rule type is in it, with its class, a category of the
    # library, a params schema of an object, a title and a description
    assert list(catalogue) == list(registry)
    for name, entry in catalogue.items():
        assert entry.cls is registry[name] and entry.name == name
        assert entry.category in CATEGORIES, name
        assert entry.params_schema.get("type") == "object", name
        assert entry.title and entry.description, name


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("EmailNormalizationRule", "preprocessing"),
        ("RequiredFieldsRule", "data_quality"),
        ("SanctionsScreeningRule", "compliance"),
        ("AgeVerificationRule", "business"),
        ("NotificationRule", "post_processing"),
    ],
)
def test_rule_catalogue__a_library_rule__has_its_modules_category(name, category):
    assert rules_engine.rule_catalogue()[name].category == category


def test_rule_catalogue__a_class_outside_the_library__has_its_own_category_or_other():
    # Given a registry with the library's age check and two classes of its own
    age = rules_engine.rule_type("AgeVerificationRule")

    class Tagged(age):
        category = "house_rules"

    class Untagged(age):
        pass

    registry = {"AgeVerificationRule": age, "Tagged": Tagged, "Untagged": Untagged}
    # When its catalogue is built
    catalogue = rules_engine.rule_catalogue(registry)
    # Then the library's class keeps its category, the others name theirs or are "other"
    assert {name: entry.category for name, entry in catalogue.items()} == {
        "AgeVerificationRule": "business",
        "Tagged": "house_rules",
        "Untagged": "other",
    }


def test_rule_type__an_unknown_name__raises_key_error():
    with pytest.raises(KeyError):
        rules_engine.rule_type("NoSuchRule")


def _keys(typed_dict) -> tuple[set[str], set[str]]:
    """(every key, the required keys) of a TypedDict."""
    return set(get_type_hints(typed_dict)), set(typed_dict.__required_keys__)


@pytest.mark.skipif(library_missing_reason() is not None, reason=library_missing_reason() or "present")
def test_run_result_dict__onboarding_seed_run__names_every_key_to_dict_returns():
    # Given the seed's onboarding config, run on a good applicant
    pipeline = rules_engine.compile_pipeline(rules_engine.load_config(EXAMPLES / "customer_onboarding.json"))
    try:
        result = pipeline.run(GOOD_APPLICANT, context=CONTEXT).to_dict()
    finally:
        pipeline.close()
    # Then the result's keys are the TypedDict's: the required ones all there, no other
    every, required = _keys(rules_engine.RunResultDict)
    assert required <= set(result) <= every
    stage_every, stage_required = _keys(rules_engine.StageResultDict)
    rule_every, rule_required = _keys(rules_engine.RuleResultDict)
    assert result["stages"]
    for stage in result["stages"]:
        assert stage_required <= set(stage) <= stage_every
        for rule in stage["rules"]:
            assert rule_required <= set(rule) <= rule_every
            assert rule["outcome"] in rules_engine.OUTCOMES


def test_json_pointer__keys_with_tilde_and_slash__round_trip():
    # Given keys holding the two characters a pointer escapes
    parts = ["stages", "a/b", "c~d", 0]
    # When they are written as a pointer and read back token by token
    pointer = rules_engine.json_pointer(parts)
    # Then they are escaped as RFC 6901 says, and come back as written
    assert pointer == "/stages/a~1b/c~0d/0"
    assert [rules_engine.unescape_token(t) for t in pointer.split("/")[1:]] == ["stages", "a/b", "c~d", "0"]


@pytest.mark.parametrize(
    ("fmt", "text", "where"),
    [
        ("yaml", "stages:\n  a: {}\n  a: {}\n", (3, 3)),
        ("json", '{"stages": {}, "stages": {}}', (None, None)),
        ("json", '{"stages": ', (1, 12)),
    ],
)
def test_parse_config_text__unreadable__input_error_with_line_and_column(fmt, text, where):
    with pytest.raises(rules_engine.InputError) as caught:
        rules_engine.parse_config_text(text, fmt)
    assert (caught.value.line, caught.value.column) == where
    assert str(caught.value).startswith(f"not valid {fmt.upper()}") or "twice" in str(caught.value)


def test_parse_config_text__yaml_date__stays_text():
    # Given YAML writing a date unquoted
    # When it is read
    document = rules_engine.parse_config_text("since: 2024-01-15\n", "yaml")
    # Then the date is text, as JSON would hold it
    assert document == {"since": "2024-01-15"}
