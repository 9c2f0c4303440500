"""Config as code: documents as YAML or JSON text."""
import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines_admin.configs.as_code import document_read, document_text, format_for
from pipelines_admin.configs.engine import document_hash, document_load
from pipelines_admin.core.errors import InvalidInput

# ------------------------------------------------------------------ text round trip

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text())
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(document=st.dictionaries(st.text(), json_values, max_size=6), fmt=st.sampled_from(["yaml", "json"]))
def test_document_text__any_json_document__reads_back_equal_in_the_same_key_order(tmp_path_factory, document, fmt):
    # Given any JSON document (any text, any key order) written as YAML or JSON
    path = tmp_path_factory.mktemp("doc") / f"pipeline.{fmt}"
    path.write_text(document_text(document, fmt), encoding="utf-8")
    # When read back as the commands read files (the engine's loader)
    loaded = document_load(path)
    # Then it is the same document, keys in the same order: the same content hash
    assert loaded == document
    assert document_hash(loaded) == document_hash(document)


def test_document_text__yaml__keeps_document_order_and_non_ascii_text():
    # Given a document whose keys are not in alphabetical order, with non-ASCII text
    document = {"stages": {"zeta": {"rules": {}}, "alpha": {"rules": {}}}, "description": "Contrôle d’identité — 本人確認"}
    # When written as YAML
    text = document_text(document, "yaml")
    # Then the order is the document's and the text is as written
    assert text.index("zeta") < text.index("alpha") < text.index("description")
    assert "Contrôle d’identité — 本人確認" in text


@pytest.mark.parametrize("path, fmt, expected", [
    (None, None, "yaml"), (None, "json", "json"), ("p.json", None, "json"), ("p.yml", None, "yaml"),
    ("p.YAML", "yaml", "yaml"),
])
def test_format_for__output_and_format__the_format_written(path, fmt, expected):
    assert format_for(path, fmt) == expected


@pytest.mark.parametrize("path, fmt, message", [
    ("p.yaml", "json", "would be read back as yaml"),
    ("p.txt", None, "ends in .yaml, .yml or .json"),
])
def test_format_for__disagreeing_or_unknown__refused(path, fmt, message):
    with pytest.raises(InvalidInput, match=message):
        format_for(path, fmt)


def test_document_read__duplicate_key__one_problem_for_the_whole_file(tmp_path):
    # Given a YAML file naming a rule twice in one stage
    path = tmp_path / "p.yaml"
    path.write_text("stages:\n  s:\n    rules:\n      a: {class: X}\n      a: {class: Y}\n")
    # When read / Then the document is refused with a problem naming the key
    document, problems = document_read(path)
    assert document is None
    assert problems[0]["path"] == "" and "the key 'a' appears twice" in problems[0]["message"]


# ------------------------------------------------------------------ pipeline files


def write(folder, name, document):
    path = folder / name
    if name.endswith(".json"):
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text(document_text(document, "yaml"), encoding="utf-8")
    return path


def stricter(document, age=21):
    changed = copy.deepcopy(document)
    changed["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = age
    return changed


def invalid(document):
    broken = copy.deepcopy(document)
    broken["stages"]["business_rules"]["rules"]["age_verification"]["class"] = "NoSuchRule"
    broken["stages"]["data_quality"]["timeout_seconds"] = -1
    return broken
