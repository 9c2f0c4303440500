"""Reading configs and records."""

from __future__ import annotations

import pytest

from rules_engine.loading import InputError, load_config, load_records


def read_records(path) -> tuple[list, bool]:
    with load_records(path) as (records, single):
        return list(records), single


def test_load_config__json_and_yaml__give_the_same_document(tmp_path):
    # Given the same config as .json, .yaml and .yml
    # When it is loaded
    # Then all three load to the same document
    (tmp_path / "p.json").write_text('{"stages": {"s": {"rules": {}}}}')
    (tmp_path / "p.yaml").write_text("stages:\n  s:\n    rules: {}\n")
    (tmp_path / "p.yml").write_text("stages:\n  s:\n    rules: {}\n")
    expected = {"stages": {"s": {"rules": {}}}}
    assert (
        load_config(tmp_path / "p.json")
        == load_config(tmp_path / "p.yaml")
        == load_config(tmp_path / "p.yml")
        == expected
    )


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("bad.json", '{\n  "stages": {,\n}', r"bad.json: not valid JSON at line 2, column 14"),
        ("dup.json", '{"stages": {"s": {"rules": {"a": {}, "a": {}}}}}', "the key 'a' appears twice"),
        ("bad.yaml", "stages:\n  s: [\n", r"bad.yaml: not valid YAML at line 3"),
        (
            "dup.yaml",
            "stages:\n  s: {}\n  s: {}\n",
            r"not valid YAML at line 3, column 3: the key 's' appears twice",
        ),
    ],
)
def test_load_config__broken_file__says_where(tmp_path, name, text, expected):
    # Given a config that does not parse or repeats a key
    # When it is loaded
    # Then InputError names the file and the line
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=expected):
        load_config(tmp_path / name)


def test_load_config__missing_file_or_folder__is_an_input_error(tmp_path):
    # Given a missing path and a folder
    # When it is loaded
    # Then each is an InputError with a plain message
    with pytest.raises(InputError, match="no such file"):
        load_config(tmp_path / "nope.json")
    with pytest.raises(InputError, match="is a folder"):
        load_config(tmp_path)


def test_load_records__json_object__is_single(tmp_path):
    # Given a .json file holding one object
    # When it is loaded
    # Then it is one record, flagged single
    (tmp_path / "r.json").write_text('{"a": 1}')
    assert read_records(tmp_path / "r.json") == ([{"a": 1}], True)


def test_load_records__json_array_jsonl_csv__are_lists_in_order(tmp_path):
    # Given the same records as a .json array, .jsonl and .csv
    # When it is loaded
    # Then each loads as a list in input order (CSV values as text)
    (tmp_path / "r.json").write_text('[{"a": 1}, {"a": 2}]')
    (tmp_path / "r.jsonl").write_text('{"a": 1}\n\n{"a": 2}\n')
    (tmp_path / "r.csv").write_text("a,b\n1,x\n2,\n")
    assert read_records(tmp_path / "r.json") == ([{"a": 1}, {"a": 2}], False)
    assert read_records(tmp_path / "r.jsonl") == ([{"a": 1}, {"a": 2}], False)
    assert read_records(tmp_path / "r.csv") == ([{"a": "1", "b": "x"}, {"a": "2", "b": ""}], False)


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("r.json", "[1, {}]", "record 1 is a number, not an object"),
        ("r.json", '"text"', "expected an object or an array of objects, found text"),
        ("r.jsonl", '{"a": 1}\n{"a": \n', "line 2 is not valid JSON"),
        ("r.jsonl", '{"a": 1}\n[1]\n', "line 2 is an array, not an object"),
        ("r.csv", "a,b\n1,2,3\n", "line 2 has more values than the header has columns"),
        ("r.csv", "a,a\n1,2\n", "the header names a column twice"),
    ],
)
def test_load_records__bad_input__says_which_record(tmp_path, name, text, expected):
    # Given inputs with a non-object record, bad JSON or a ragged CSV
    # When it is loaded
    # Then InputError says which record or line
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=expected):
        read_records(tmp_path / name)


def test_load_records__stdin__is_json_lines(monkeypatch):
    # Given two JSON lines on stdin
    # When it is loaded
    # Then '-' reads them as records
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"a": 1}\n{"a": 2}\n')))
    assert read_records("-") == ([{"a": 1}, {"a": 2}], False)


def test_load_records__utf8_bom__is_tolerated(tmp_path):
    # Given a CSV saved with a UTF-8 byte order mark
    # When it is loaded
    # Then the first header is read without it
    (tmp_path / "r.csv").write_bytes("\ufeffname\nZoë\n".encode("utf-8"))
    assert read_records(tmp_path / "r.csv") == ([{"name": "Zoë"}], False)
