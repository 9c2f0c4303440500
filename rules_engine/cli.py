"""``python -m rules_engine``: validate a pipeline config, or run records through it.

    python -m rules_engine validate CONFIG
    python -m rules_engine run CONFIG --input FILE [--stage NAME ...] [--services FILE] [--context JSON]

CONFIG is JSON, or YAML when it ends in .yaml/.yml. ``--input``: a .json file holding
one object prints one JSON object; a .json array, a .jsonl file or ``-`` (stdin, JSON
lines) print one JSON line per record in input order; a .csv file one line per row.

JSON lines (a file or stdin) and CSV are streamed: each record is read, run and its line
printed and flushed before the next is read, so memory stays flat however long the
input, and results appear while stdin is still open. A .json file (one object or an
array) is read and checked whole before the first record runs. A line that cannot be
read stops the run there with exit 2, naming the line and how many records before it
were run; their lines, already printed, stay printed.

Exit status: 0 valid / every record passed; 1 some record was not passed (failed, sent
to review, error, or undecided: a check did not run, as in every run of chosen
stages); 2 invalid config, unreadable input or bad arguments (the reason on stderr);
3 internal error (a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from rules_engine.loading import InputError, load_config, load_records, parse_json
from rules_engine.validation import ConfigError, Problem, default_rules, validate_config

if TYPE_CHECKING:  # pragma: no cover
    from rules_engine.compiler import Pipeline
    from rules_engine.services.registry import ServiceRegistry

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_INTERNAL = 3


class _UsageError(Exception):
    """Bad arguments or input: exit 2 with the message."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 on usage errors too
        self.print_usage(sys.stderr)
        raise _UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m rules_engine", description="Validate and run rule pipelines.")
    parser.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = commands.add_parser("validate", help="check a config and list every problem")
    validate.add_argument("config", help="pipeline config (.json, .yaml or .yml)")
    validate.add_argument(
        "--services", metavar="FILE", help="service bindings (JSON or YAML) to check against"
    )

    run = commands.add_parser("run", help="run records through a pipeline and print each result as JSON")
    run.add_argument("config", help="pipeline config (.json, .yaml or .yml)")
    run.add_argument(
        "--input",
        required=True,
        metavar="FILE",
        help="records: .json (object or array), .jsonl, .csv, or - for JSON lines on stdin",
    )
    run.add_argument(
        "--stage",
        action="append",
        metavar="NAME",
        dest="stages",
        help="run only this stage (repeat for several); the others are not_run and "
        "the run is partial: undecided at best, never passed",
    )
    run.add_argument("--services", metavar="FILE", help="service bindings (JSON or YAML); default: simulated")
    run.add_argument(
        "--context", metavar="JSON", help='run context as a JSON object, e.g. \'{"now": "..."}\''
    )
    for sub in (validate, run):
        sub.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show a traceback on internal errors",
        )
    return parser


def _load_services(path: str | None) -> ServiceRegistry | None:
    if path is None:
        return None
    spec = load_config(path)
    if not isinstance(spec, dict):
        raise _UsageError(f"{path}: service bindings must be an object.")
    from rules_engine.services import registry_from_spec

    try:
        return registry_from_spec(spec)
    except (ValueError, TypeError, KeyError) as error:
        raise _UsageError(f"{path}: {error}") from None


def _problems_to_stderr(problems: list[Problem]) -> None:
    count = len(problems)
    print(f"The config has {count} problem{'s' if count != 1 else ''}:", file=sys.stderr)
    for problem in problems:
        print(str(problem), file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    problems = validate_config(config, rules=default_rules(), services=_load_services(args.services))
    if problems:
        _problems_to_stderr(problems)
        return EXIT_INVALID
    print(f"{args.config}: valid.", file=sys.stderr)
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from rules_engine.compiler import compile_pipeline

    config = load_config(args.config)
    services = _load_services(args.services)
    context = None
    if args.context is not None:
        context = parse_json(args.context, "--context")
        if not isinstance(context, dict):
            raise _UsageError("--context must be a JSON object.")
    try:
        pipeline = compile_pipeline(config, services)
    except ConfigError as error:
        _problems_to_stderr(error.problems)
        return EXIT_INVALID
    with pipeline:
        if args.stages:
            unknown = [name for name in args.stages if name not in pipeline.stage_index]
            if unknown:
                raise _UsageError(
                    f"no stage named {', '.join(unknown)}; the stages are: {', '.join(pipeline.stage_names)}."
                )
        with load_records(args.input) as (records, single):
            run, passed = _run_records(pipeline, records, single, args.stages, context)
    return EXIT_OK if passed == run else EXIT_FAILED


def _run_records(
    pipeline: Pipeline,
    records: Iterator[dict[str, Any]],
    single: bool,
    stages: list[str] | None,
    context: dict[str, Any] | None,
) -> tuple[int, int]:
    """Run and print each record as it is read; how many were run, and how many passed.
    A record that cannot be read stops the run (InputError) after the results before it
    were printed, and the message says how many those were."""
    run = passed = 0
    try:
        for record in records:
            result = pipeline.run(record, stages=stages, context=context)
            run += 1
            if result.passed:
                passed += 1
            text = json.dumps(result.to_dict(), ensure_ascii=False, indent=2 if single else None)
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
    except InputError as error:
        if run:
            before = "the record before it was" if run == 1 else f"the {run} records before it were"
            raise InputError(
                f"{error} Stopped there: {before} run and printed.", line=error.line, column=error.column
            ) from None
        raise
    return run, passed


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command == "validate":
            return _validate(args)
        return _run(args)
    except (_UsageError, InputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as error:  # noqa: BLE001 - the one place an unexpected failure becomes exit 3
        if debug:
            traceback.print_exc()
        else:
            print(
                f"internal error: {type(error).__name__}: {error} (run with --debug for the traceback)",
                file=sys.stderr,
            )
        return EXIT_INTERNAL
