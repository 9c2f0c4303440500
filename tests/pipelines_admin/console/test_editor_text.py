"""The editor reads a whole config as text with the engine's strict parser, and groups
the rule classes by the engine's catalogue."""

from __future__ import annotations

import pytest

from pipelines_admin.console.forms.editor.catalogue import rule_class_groups
from pipelines_admin.console.forms.editor.documents import parse_document


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("yaml", "stages:\n  kyc: {}\n  kyc: {}\n"),
        ("json", '{"stages": {"kyc": {}, "kyc": {}}}'),
    ],
)
def test_parse_document__a_key_given_twice__refused_naming_it(fmt, text):
    # Given a text naming the same stage twice
    # When the editor reads it
    document, problems = parse_document(text, fmt)
    # Then nothing is read, and the one problem names the key
    assert document is None
    assert len(problems) == 1 and "'kyc'" in problems[0]["message"] and "twice" in problems[0]["message"]


def test_parse_document__broken_yaml__line_and_column_of_the_problem():
    document, problems = parse_document("stages:\n  a: [\n", "yaml")
    assert document is None
    assert problems[0]["message"].startswith("Not valid YAML at line 3")
    assert (problems[0]["line"], problems[0]["column"]) == (3, 1)


@pytest.mark.parametrize(
    ("text", "path"),
    [("stages: {a: .nan}\n", "/stages/a"), ("stages: {1: {}}\n", "/stages/1")],
)
def test_parse_document__not_plain_json_data__refused_where_it_is(text, path):
    # Given YAML holding what JSON cannot (NaN, a number as a name)
    # When the editor reads it
    document, problems = parse_document(text, "yaml")
    # Then it is refused, at the value's pointer
    assert document is None and [p["path"] for p in problems] == [path]


def test_parse_document__yaml_date__read_as_text():
    document, problems = parse_document("name: demo\nsince: 2024-01-15\n", "yaml")
    assert problems == [] and document == {"name": "demo", "since": "2024-01-15"}


def test_rule_class_groups__library__each_category_its_own_group_in_pipeline_order():
    # Given the built-in rule library
    # When the editor groups its classes
    groups = {label: [info.name for info in infos] for label, infos in rule_class_groups()}
    # Then the groups follow the pipeline, and every class is in its category's group
    assert list(groups) == [
        "Preprocessing",
        "Data quality",
        "Compliance",
        "Business rules",
        "Post-processing",
    ]
    assert "TrimWhitespaceRule" in groups["Preprocessing"]
    assert "SanctionsScreeningRule" in groups["Compliance"]
    assert "AgeVerificationRule" in groups["Business rules"]
