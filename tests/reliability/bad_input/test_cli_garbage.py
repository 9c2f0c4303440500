"""`python -m rules_engine` on hostile files: awkward JSON, wrong encodings, binary,
byte-order marks, numbers and nesting no parser likes, YAML alias bombs, mutated
configs. The exit status is always one DESIGN.md names for the input (0 or 1 for a
run, 2 with a one-line reason on stderr for what cannot be read), never 3 (internal
error) and never a traceback; whatever is printed on stdout is strict JSON."""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path

import pytest
from hypothesis import given

from rules_engine.cli import main
from rules_engine.validation import validate_config
from tests.reliability.bad_input import nasty
from tests.reliability.bad_input.test_engine_configs import mutated_configs

EXAMPLES = Path(__file__).resolve().parents[3] / "rules_engine" / "examples"
CONFIG = str(EXAMPLES / "customer_onboarding.json")

#: JSON_TEXTS that can only be refused (exit 2), as a .json or a .jsonl input
REFUSED = {
    "huge integer",
    "nested 900 deep",
    "nested 100000 deep",
    "objects 5000 deep",
    "lone surrogate escape",
    "lone surrogate key",
    "raw control character",
    "duplicate keys",
    "trailing garbage",
    "not an object",
    "a bare string",
}
#: ... and those that are ordinary records (exit 0 or 1)
ACCEPTED = {"huge exponent", "NaN", "Infinity", "awkward keys", "byte-order mark", "NUL escape"}


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def strict_json(text: str):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def check_run(code: int, out: str, err: str, *, expected: set[int], input_size: int = 0) -> None:
    assert code in expected, (code, err[-2000:])
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    if code == 2:
        assert err.startswith("error:") or err.startswith("The config has"), err[-2000:]
        assert len(err) < 5_000 + 3 * input_size, "the reason is a few sentences, not a dump of the input"
    if out.startswith("{\n"):  # one object in, one indented object out
        results = [strict_json(out)]
    else:
        results = [strict_json(line) for line in out.splitlines()]
    for result in results:
        assert result["status"] in ("passed", "failed", "error")


def test_json_texts_catalogue__every_text_is_classified():
    # Given the catalogue / Then each text has an expectation here (a new one cannot slip through)
    assert REFUSED | ACCEPTED | {"empty", "whitespace"} == set(nasty.JSON_TEXTS)


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
@pytest.mark.parametrize("name", sorted(nasty.JSON_TEXTS))
def test_cli_run__awkward_json_input__exit_status_for_the_input_never_internal(tmp_path, name, suffix):
    # Given an input file holding one awkward JSON text
    path = tmp_path / f"input{suffix}"
    path.write_text(nasty.JSON_TEXTS[name], encoding="utf-8")
    # When the onboarding example runs it
    code, out, err = cli("run", CONFIG, "--input", str(path))
    # Then refused with a reason (2), or run (0/1) with strict JSON out
    if name in REFUSED:
        expected = {2}
    elif name in ACCEPTED:
        expected = {0, 1}
    else:  # empty: no record in a .jsonl file (nothing failed), no JSON at all in a .json file
        expected = {0} if suffix == ".jsonl" else {2}
    check_run(code, out, err, expected=expected)


ENCODED = {
    "utf-16": ("utf-16", {2}),
    "utf-16-le": ("utf-16-le", {2}),
    "utf-32": ("utf-32", {2}),
    "latin-1": ("latin-1", {2}),
    "utf-8 with BOM": ("utf-8-sig", {0, 1}),
}


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv"])
@pytest.mark.parametrize("encoding", sorted(ENCODED))
def test_cli_run__input_in_another_encoding__read_or_refused_never_internal(tmp_path, encoding, suffix):
    # Given the example applicants (with accents) written in another encoding
    codec, expected = ENCODED[encoding]
    text = {
        ".json": json.dumps(nasty.GOOD_ROWS, ensure_ascii=False),
        ".jsonl": nasty.GOOD_JSONL,
        ".csv": nasty.GOOD_CSV,
    }[suffix]
    path = tmp_path / f"input{suffix}"
    path.write_bytes(text.encode(codec))
    # When run / Then UTF-8 (with or without BOM) is read, the rest refused with a reason
    code, out, err = cli("run", CONFIG, "--input", str(path))
    check_run(code, out, err, expected=expected)
    if code != 2:
        assert len(out.splitlines()) == len(nasty.GOOD_ROWS)


@pytest.mark.parametrize("name", sorted(nasty.UNREADABLE_FILES))
def test_cli_run__unreadable_upload_as_input__refused_or_empty_never_internal(tmp_path, name):
    # Given a file no batch upload can read (binary, wrong encoding, bad lines...)
    filename, data = nasty.UNREADABLE_FILES[name]
    suffix = Path(filename).suffix if Path(filename).suffix in (".csv", ".jsonl") else ".json"
    path = tmp_path / f"input{suffix}"
    path.write_bytes(data)
    # When the CLI runs it / Then a clear refusal, or a run of whatever rows the CSV holds
    code, out, err = cli("run", CONFIG, "--input", str(path))
    check_run(code, out, err, expected={0, 1, 2})


@pytest.mark.parametrize(
    "config_text,suffix",
    [
        (nasty.JSON_TEXTS["huge integer"], ".json"),
        (nasty.JSON_TEXTS["nested 100000 deep"], ".json"),
        (nasty.JSON_TEXTS["lone surrogate key"], ".json"),
        (nasty.JSON_TEXTS["NaN"], ".json"),
        ("stages: " + "[" * 5_000 + "]" * 5_000, ".yaml"),
        ("stages: " + "9" * 5000, ".yaml"),
        ("stages: 2024-02-30", ".yaml"),
        ("stages: {s: {rules: {r: {class: TrimWhitespaceRule, when: 2024-01-01}}}}", ".yaml"),
        (
            "\n".join(
                [
                    f"{chr(97 + i)}: &{chr(97 + i)} ["
                    + ",".join([f"*{chr(96 + i)}" if i else '"lol"'] * 9)
                    + "]"
                    for i in range(9)
                ]
            )
            + "\nstages: {s: {rules: {r: {class: TrimWhitespaceRule, params: *i}}}}",
            ".yaml",
        ),
    ],
    ids=[
        "json huge integer",
        "json nested 100000",
        "json lone surrogate",
        "json NaN",
        "yaml nested 5000",
        "yaml huge integer",
        "yaml impossible date",
        "yaml date value",
        "yaml billion laughs",
    ],
)
def test_cli_validate__hostile_config_file__exit_2_with_reasons_quickly(tmp_path, config_text, suffix):
    # Given a config file no naive loader survives (the last: nine levels of YAML
    # aliases, a billion strings if expanded)
    path = tmp_path / f"config{suffix}"
    path.write_text(config_text, encoding="utf-8")
    # When it is validated, and run
    for argv in (("validate", str(path)), ("run", str(path), "--input", str(EXAMPLES / "applications.json"))):
        started = time.monotonic()
        code, out, err = cli(*argv)
        # Then exit 2 with the reasons, in well under a second
        check_run(code, out, err, expected={2})
        assert time.monotonic() - started < 5, "the config was walked value by value"


@nasty.examples(40)
@given(case=mutated_configs())
def test_cli_validate__mutated_config__exit_status_matches_validation(tmp_path_factory, case):
    # Given a mutated example config written as JSON (NaN, Infinity and escapes as Python writes them)
    try:
        text = json.dumps(case.config)
    except (RecursionError, ValueError):
        return  # nested past what Python's JSON writer can write: covered by the parser tests above
    path = tmp_path_factory.mktemp("cli") / "config.json"
    path.write_text(text, encoding="utf-8")
    # When the CLI validates it
    code, out, err = cli("validate", str(path))
    # Then 0 exactly when the document read back has no problem, else 2 listing each one
    problems = validate_config(json.loads(text))
    check_run(code, out, err, expected={2} if problems else {0}, input_size=len(text))
    for problem in problems:
        assert str(problem) in err
