"""``python -m rules_engine``, run as a real process: every exit code, every input format."""

from __future__ import annotations

import errno
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.rules_engine.test_golden import library_missing_reason

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "rules_engine" / "examples"
CONFIG = {
    "version": "1",
    "stages": {
        "pre": {"rules": {"trim": {"class": "MultiFieldTrimRule", "params": {"fields": ["name", "email"]}}}},
        "dq": {
            "rules": {
                "required": {"class": "RequiredFieldsRule", "params": {"required_fields": ["name", "email"]}}
            }
        },
    },
}
YAML_CONFIG = """\
version: "1"
stages:
  pre:
    rules:
      trim: {class: MultiFieldTrimRule, params: {fields: [name, email]}}
  dq:
    rules:
      required:
        class: RequiredFieldsRule
        params:
          required_fields: [name, email]
"""
GOOD = {"name": " Ann ", "email": "ann@example.com"}
BAD = {"name": "Bob"}
NOW = '{"now": "2024-01-15T12:00:00+00:00"}'

pytestmark = pytest.mark.skipif(
    library_missing_reason() is not None, reason=library_missing_reason() or "the rule library is present"
)


def cli(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "rules_engine", *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


@pytest.fixture
def config_file(tmp_path) -> Path:
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(CONFIG))
    return path


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_no_traceback(done: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout


# ------------------------------------------------------------------ validate


@pytest.mark.parametrize("name", ["customer_onboarding.json", "pipeline_config.json"])
def test_cli_validate__seed_config__exits_0(name):
    # Given a seed config shipped in the package, validated by the CLI
    # When the CLI runs
    # Then it exits 0 and says the config is valid
    done = cli("validate", str(EXAMPLES / name))
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stderr


def test_cli_validate__yaml_config__exits_0(tmp_path):
    # Given a valid YAML config, validated by the CLI
    # When the CLI runs
    # Then it exits 0
    done = cli("validate", str(write(tmp_path, "p.yaml", YAML_CONFIG)))
    assert done.returncode == 0, done.stderr


def test_cli_validate__invalid_config__exits_2_listing_every_problem(tmp_path):
    # Given a config with three problems
    config = {
        "stages": {
            "dq": {
                "fail_fast": "yes",
                "rules": {
                    "a": {"class": "RequiredFieldRule"},
                    "b": {"class": "RequiredFieldsRule", "dependancies": []},
                },
            }
        }
    }
    # When it is validated
    done = cli("validate", str(write(tmp_path, "bad.json", json.dumps(config))))
    # Then exit 2, each problem as "path: message" on stderr
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0] == "The config has 4 problems:"
    assert lines[1] == "/stages/dq/fail_fast: 'fail_fast' must be true or false, but it is text."
    assert lines[2].startswith(
        "/stages/dq/rules/a/class: There is no rule class named 'RequiredFieldRule'. "
        "Did you mean 'RequiredFieldsRule'?"
    )
    assert lines[3].startswith("/stages/dq/rules/b/dependancies: 'dependancies' is not a setting")
    assert (
        lines[4] == "/stages/dq/rules/b/params/required_fields: Rule 'b' is missing the required param "
        "'required_fields'."
    )
    assert_no_traceback(done)


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("broken.json", '{"stages": {\n  "a": }', "broken.json: not valid JSON at line 2, column 8"),
        ("broken.yaml", "stages:\n  a: [\n", "broken.yaml: not valid YAML at line 3"),
    ],
)
def test_cli_validate__unparsable_config__exits_2_with_the_line(tmp_path, name, text, expected):
    # Given a config file that does not parse, validated by the CLI
    # When the CLI runs
    # Then it exits 2 naming the file and the line, without a traceback
    done = cli("validate", str(write(tmp_path, name, text)))
    assert done.returncode == 2
    assert expected in done.stderr
    assert_no_traceback(done)


def test_cli_validate__missing_file__exits_2(tmp_path):
    # Given a config path that does not exist, validated by the CLI
    # When the CLI runs
    # Then it exits 2 with a plain message
    done = cli("validate", str(tmp_path / "nope.json"))
    assert done.returncode == 2 and "nope.json: no such file." in done.stderr
    assert_no_traceback(done)


# ------------------------------------------------------------------ run: formats and exit codes


def test_cli_run__single_json_object__prints_one_object_exit_0(tmp_path, config_file):
    # Given a .json input holding one passing record, run with a fixed context
    # When the CLI runs
    # Then one JSON object is printed, with the transformed data and the context, and the exit is 0
    done = cli(
        "run", str(config_file), "--input", str(write(tmp_path, "r.json", json.dumps(GOOD))), "--context", NOW
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "passed"
    assert result["data"]["name"] == "Ann"
    assert result["context"]["now"] == "2024-01-15T12:00:00+00:00"


def test_cli_run__failing_record__exits_1(tmp_path, config_file):
    # Given a record missing a required field, run by the CLI
    # When the CLI runs
    # Then the result says failed and the exit is 1
    done = cli("run", str(config_file), "--input", str(write(tmp_path, "r.json", json.dumps(BAD))))
    assert done.returncode == 1
    assert json.loads(done.stdout)["status"] == "failed"


def test_cli_run__record_sent_to_review__exits_1_with_the_decision(tmp_path):
    # Given a config whose required-fields rule sends a fail to a person, and a record that fails it
    config = json.loads(json.dumps(CONFIG))
    config["stages"]["dq"]["rules"]["required"].update(
        on_fail="review", reason_code="incomplete", next_step="Request additional information from customer"
    )
    path = write(tmp_path, "review.json", json.dumps(config))
    # When the CLI runs it
    done = cli("run", str(path), "--input", str(write(tmp_path, "r.json", json.dumps(BAD))))
    # Then the result is review, with its reason and next step, and the exit is 1: not an approval
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "review"
    assert result["decision"]["reasons"][0]["reason_code"] == "incomplete"
    assert result["decision"]["next_steps"] == ["Request additional information from customer"]


def test_cli_run__json_array__prints_json_lines_in_order(tmp_path, config_file):
    # Given a .json array of three records, one failing, run by the CLI
    # When the CLI runs
    # Then one JSON line per record comes out in input order, and the exit is 1
    records = [GOOD, BAD, {"name": "Cy", "email": "cy@example.com"}]
    done = cli("run", str(config_file), "--input", str(write(tmp_path, "r.json", json.dumps(records))))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert [json.loads(line)["data"]["name"] for line in lines] == ["Ann", "Bob", "Cy"]
    assert [json.loads(line)["status"] for line in lines] == ["passed", "failed", "passed"]


def test_cli_run__jsonl__prints_one_line_per_record(tmp_path, config_file):
    # Given a .jsonl file of two passing records, run by the CLI
    # When the CLI runs
    # Then two JSON lines come out and the exit is 0
    text = "\n".join(json.dumps(r) for r in [GOOD, GOOD]) + "\n"
    done = cli("run", str(config_file), "--input", str(write(tmp_path, "r.jsonl", text)))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2


def test_cli_run__csv__prints_one_line_per_row(tmp_path, config_file):
    # Given a CSV file whose second row lacks an email, run by the CLI
    # When the CLI runs
    # Then one line per row comes out, the second failed
    done = cli(
        "run", str(config_file), "--input", str(write(tmp_path, "r.csv", "name,email\nAnn,a@x.com\nBob,\n"))
    )
    assert done.returncode == 1
    statuses = [json.loads(line)["status"] for line in done.stdout.splitlines()]
    assert statuses == ["passed", "failed"]


def test_cli_run__stdin__reads_json_lines(config_file):
    # Given two JSON lines on stdin (--input -), run by the CLI
    # When the CLI runs
    # Then two results come out
    done = cli(
        "run", str(config_file), "--input", "-", stdin=json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n"
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2


def test_cli_run__yaml_config__runs(tmp_path):
    # Given a YAML config and a passing record, run by the CLI
    # When the CLI runs
    # Then it exits 0
    done = cli(
        "run",
        str(write(tmp_path, "p.yml", YAML_CONFIG)),
        "--input",
        str(write(tmp_path, "r.json", json.dumps(GOOD))),
    )
    assert done.returncode == 0, done.stderr


def test_cli_run__stage_option__runs_only_those_stages_partial_exit_1(tmp_path, config_file):
    # Given a failing record run with --stage pre only
    # When the CLI runs
    # Then only pre ran (dq is not_run); the run is partial and undecided, never passed: exit 1
    done = cli(
        "run", str(config_file), "--input", str(write(tmp_path, "r.json", json.dumps(BAD))), "--stage", "pre"
    )
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert [(s["name"], s["status"]) for s in result["stages"]] == [("pre", "passed"), ("dq", "not_run")]
    assert (result["status"], result["partial"]) == ("undecided", True)
    assert result["undecided"] == [
        {"stage": "dq", "rule": None, "message": "Stage 'dq' did not run: not selected."}
    ]


def test_cli_run__undecided_record__exits_1(tmp_path):
    # Given a pipeline whose only rule skips itself (no phone to normalise)
    config = {
        "stages": {
            "pre": {
                "rules": {"phone": {"class": "PhoneNormalizationRule", "params": {"field_name": "phone"}}}
            }
        }
    }
    # When the CLI runs a record without a phone
    done = cli(
        "run",
        str(write(tmp_path, "p.json", json.dumps(config))),
        "--input",
        str(write(tmp_path, "r.json", json.dumps({"name": "Ann"}))),
    )
    # Then the record is undecided, naming the rule, and the exit is 1
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "undecided"
    assert [entry["rule"] for entry in result["undecided"]] == ["phone"]


def test_cli_run__services_file__is_used(tmp_path):
    # Given a pipeline with a service rule and a services file giving it 10 ms latency
    config = {
        "stages": {
            "compliance": {
                "rules": {
                    "ofac": {
                        "class": "OFACSanctionsRule",
                        "params": {"screening_service": "service:SanctionsService:worldcheck"},
                    }
                }
            }
        }
    }
    services = {"bindings": {"SanctionsService:worldcheck": {"type": "simulated", "latency_ms": 10}}}
    done = cli(
        "run",
        str(write(tmp_path, "p.json", json.dumps(config))),
        "--input",
        str(write(tmp_path, "r.json", json.dumps(GOOD))),
        "--services",
        str(write(tmp_path, "s.json", json.dumps(services))),
    )
    # Then the rule ran through it
    assert done.returncode in (0, 1), done.stderr
    rule = json.loads(done.stdout)["stages"][0]["rules"][0]
    assert rule["outcome"] in ("pass", "fail") and rule["duration_ms"] >= 10


# ------------------------------------------------------------------ run: streaming


def open_writer(path: Path, process: subprocess.Popen) -> int:
    """The write end of the FIFO at ``path``, once ``process`` has opened it to read."""
    deadline = time.monotonic() + 60
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:  # ENXIO: no reader yet
            if error.errno != errno.ENXIO or process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
            continue
        os.set_blocking(fd, True)
        return fd


def read_line_within(process: subprocess.Popen, seconds: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    assert ready, f"no line printed within {seconds} s while the input was still open"
    return process.stdout.readline()


@pytest.mark.parametrize(
    "name, first, rest",
    [
        ("-", json.dumps(GOOD) + "\n", json.dumps(BAD) + "\n"),
        ("r.jsonl", json.dumps(GOOD) + "\n", json.dumps(BAD) + "\n"),
        ("r.csv", "name,email\nAnn,a@x.com\n", "Bob,\n"),
    ],
)
def test_cli_run__input_still_open__first_result_printed_before_the_rest_is_read(
    tmp_path, config_file, name, first, rest
):
    # Given the CLI reading JSON lines from a pipe on stdin, or a JSONL or CSV file that is
    # a FIFO, and only the first record written so far
    fifo = None if name == "-" else tmp_path / name
    if fifo is not None:
        os.mkfifo(fifo)
    process = subprocess.Popen(
        [sys.executable, "-m", "rules_engine", "run", str(config_file), "--input", str(fifo or "-")],
        cwd=REPO,
        stdin=subprocess.PIPE if fifo is None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        writer = process.stdin if fifo is None else open(open_writer(fifo, process), "w")
        assert writer is not None and process.stdout is not None and process.stderr is not None
        writer.write(first)
        writer.flush()
        # When the CLI has had time to run it
        line = read_line_within(process, 60)
        # Then its result is already printed, while the input is still open
        assert json.loads(line)["status"] == "passed"
        # And the next record, once written and the input closed, follows in order
        writer.write(rest)
        writer.close()
        out, err = process.stdout.read(), process.stderr.read()
        process.wait(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert [json.loads(line)["status"] for line in out.splitlines()] == ["failed"], err
    assert process.returncode == 1


@pytest.mark.parametrize(
    "name, text, expected",
    [
        (
            "r.jsonl",
            "\n".join([json.dumps(GOOD), json.dumps(BAD), '{"name": ', json.dumps(GOOD)]) + "\n",
            "r.jsonl: line 3 is not valid JSON",
        ),
        (
            "r.csv",
            "name,email\nAnn,a@x.com\nBob,\nCy,c@x.com,extra\nDi,d@x.com\n",
            "r.csv: line 4 has more values than the header has columns.",
        ),
    ],
)
def test_cli_run__bad_line_after_good_ones__prints_those_then_exits_2_naming_the_line(
    tmp_path, config_file, name, text, expected
):
    # Given an input whose third record cannot be read, after two that can
    # When the CLI runs
    done = cli("run", str(config_file), "--input", str(write(tmp_path, name, text)))
    # Then the two results are printed, the run stops at the bad line (the one after it is
    # not run) and exits 2 naming the line and how many records were run before it
    assert done.returncode == 2
    assert [json.loads(line)["status"] for line in done.stdout.splitlines()] == ["passed", "failed"]
    assert expected in done.stderr
    assert "Stopped there: the 2 records before it were run and printed." in done.stderr
    assert_no_traceback(done)


# ------------------------------------------------------------------ run: exit 2


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("r.json", '{"name": ', "r.json: not valid JSON at line 1"),
        ("r.json", "[1, 2]", "r.json: record 1 is a number, not an object."),
        ("r.jsonl", 'not json\n{"a": 1}\n', "r.jsonl: line 1 is not valid JSON"),
        ("r.csv", "a,a\n1,2\n", "r.csv: the header names a column twice."),
    ],
)
def test_cli_run__unreadable_input__exits_2(tmp_path, config_file, name, text, expected):
    # Given an input file that is not valid records, run by the CLI
    # When the CLI runs
    # Then it exits 2 saying which record or line, prints nothing, shows no traceback
    done = cli("run", str(config_file), "--input", str(write(tmp_path, name, text)))
    assert done.returncode == 2
    assert expected in done.stderr and done.stdout == ""
    assert_no_traceback(done)


def test_cli_run__missing_input__exits_2(tmp_path, config_file):
    # Given an input path that does not exist, run by the CLI
    # When the CLI runs
    # Then it exits 2 with a plain message
    done = cli("run", str(config_file), "--input", str(tmp_path / "none.json"))
    assert done.returncode == 2 and "none.json: no such file." in done.stderr


def test_cli_run__invalid_config__exits_2_with_problems(tmp_path):
    # Given an invalid config, run by the CLI
    # When the CLI runs
    # Then it exits 2 listing the problem as path: message
    done = cli(
        "run",
        str(write(tmp_path, "p.json", '{"stages": {"s": {"rules": {"a": {"class": "Nope"}}}}}')),
        "--input",
        str(write(tmp_path, "r.json", "{}")),
    )
    assert done.returncode == 2
    assert "/stages/s/rules/a/class: There is no rule class named 'Nope'." in done.stderr
    assert_no_traceback(done)


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--stage", "nope"], "no stage named nope; the stages are: pre, dq."),
        (["--context", "[1]"], "--context must be a JSON object."),
        (["--context", "{bad"], "--context: not valid JSON"),
    ],
)
def test_cli_run__bad_options__exit_2(tmp_path, config_file, extra, expected):
    # Given an unknown --stage or a --context that is not a JSON object
    # When the CLI runs
    # Then it exits 2 with the reason
    done = cli("run", str(config_file), "--input", str(write(tmp_path, "r.json", "{}")), *extra)
    assert done.returncode == 2
    assert expected in done.stderr
    assert_no_traceback(done)


def test_cli_run__invalid_services_file__exits_2(tmp_path, config_file):
    # Given a services file binding an unknown interface
    # When the CLI runs
    # Then it exits 2 naming the interface
    done = cli(
        "run",
        str(config_file),
        "--input",
        str(write(tmp_path, "r.json", "{}")),
        "--services",
        str(write(tmp_path, "s.json", '{"bindings": {"Nope:x": {"type": "simulated"}}}')),
    )
    assert done.returncode == 2 and "unknown interface 'Nope'" in done.stderr
    assert_no_traceback(done)


def test_cli__no_command_or_unknown_option__exits_2():
    # Given no command, or an unknown option
    # When the CLI runs
    # Then argparse's usage error exits 2
    assert cli().returncode == 2
    done = cli("run", "--bogus")
    assert done.returncode == 2 and "error:" in done.stderr


# ------------------------------------------------------------------ run: exit 3


@pytest.fixture
def broken_engine(tmp_path) -> dict:
    """An environment whose Python makes the executor crash (an internal bug)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import rules_engine.executor as executor\n"
        "def crash(*args, **kwargs):\n"
        "    raise AssertionError('invariant broken')\n"
        "executor.run_pipeline = crash\n"
    )
    return {"PYTHONPATH": f"{site}{os.pathsep}{REPO}"}


def test_cli_run__internal_error__exits_3_without_traceback(tmp_path, config_file, broken_engine):
    # Given an engine that crashes inside run (an internal bug)
    # When the CLI runs
    # Then the CLI exits 3 with one line on stderr and no traceback
    done = cli("run", str(config_file), "--input", str(write(tmp_path, "r.json", "{}")), env=broken_engine)
    assert done.returncode == 3
    assert (
        "internal error: AssertionError: invariant broken (run with --debug for the traceback)" in done.stderr
    )
    assert_no_traceback(done)


def test_cli_run__internal_error_with_debug__shows_the_traceback(tmp_path, config_file, broken_engine):
    # Given the same crash with --debug
    # When the CLI runs
    # Then the CLI exits 3 and prints the traceback
    done = cli(
        "--debug", "run", str(config_file), "--input", str(write(tmp_path, "r.json", "{}")), env=broken_engine
    )
    assert done.returncode == 3
    assert "Traceback" in done.stderr and "invariant broken" in done.stderr


def test_cli_validate__key_that_does_nothing__exits_2_naming_it(tmp_path):
    # Given a config carrying a setting nothing implements (the seed article's production
    # override asks for detailed_metrics)
    config = {
        "stages": {"s": {"rules": {}}},
        "execution_settings": {"performance_monitoring": {"enabled": True, "detailed_metrics": True}},
    }
    # When validated from the command line
    done = cli("validate", str(write(tmp_path, "p.json", json.dumps(config))))
    # Then it is refused, naming the key and its path
    assert done.returncode == 2
    assert "/execution_settings/performance_monitoring/detailed_metrics" in done.stderr
