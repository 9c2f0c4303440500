"""`when` conditions: CEL (Common Expression Language) expressions on stages and rules.

A condition sees two variables: ``record`` (the working data at the moment the stage
or rule is about to start, after earlier transformations) and ``context`` (the run
context, e.g. ``context.now``). Conditions are compiled once, when the pipeline is
compiled; :func:`condition_problem` is what validation reports for a bad one.

Evaluation is strict: the result must be ``true`` or ``false``. A condition that cannot
be evaluated (a missing field, a type mismatch, a non-boolean result) raises
:class:`ConditionError`; the executor then skips the stage or rule with the reason
"condition could not be evaluated: ..." and lists it under the run's warnings.
Write ``has(record.amount) && record.amount > 1000`` to test optional fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import cel

#: The variables a condition can use.
VARIABLES = ("record", "context")

#: Named functions and methods the CEL runtime provides (operators are spelled with
#: ``_``, ``@`` or ``!`` and always allowed).
BUILTIN_FUNCTIONS = frozenset(
    {
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "dyn",
        "type",
        "timestamp",
        "duration",
        "getFullYear",
        "getMonth",
        "getDate",
        "getDayOfMonth",
        "getDayOfWeek",
        "getDayOfYear",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
    }
)

#: The longest condition accepted. The CEL parser recurses once per level of nesting
#: and overflows the C stack (killing the process) on expressions of some tens of
#: thousands of characters; real conditions are a line or two.
MAX_CONDITION_LENGTH = 2000

_SYNTAX_ERROR = re.compile(r"ERROR: <input>:(?P<line>\d+):(?P<column>\d+): Syntax error: (?P<what>[^\n|]*)")
_UNDEFINED = re.compile(r"Undefined variable or function: '(?P<name>[^']+)'")


class ConditionError(Exception):
    """A condition that cannot be compiled or evaluated; the message is a plain sentence."""


def _syntax_message(error: ValueError) -> str:
    match = _SYNTAX_ERROR.search(str(error))
    if not match:
        return "it is not a valid CEL expression."
    what = match["what"].strip()
    if "<EOF>" in what and what.startswith("mismatched input"):
        what = "the expression ends too early"
    elif what.startswith("token recognition error"):
        what = "unexpected character (is a quote left open?)"
    else:
        what = what.split(" expecting ")[0]
    return f"it is not a valid CEL expression: {what} at character {match['column']}."


def _compile(source: str) -> Any:
    """The compiled CEL program, or ConditionError with a plain explanation."""
    if len(source) > MAX_CONDITION_LENGTH:
        raise ConditionError(
            f"it is {len(source):,} characters long; a condition may have at most {MAX_CONDITION_LENGTH:,}."
        )
    try:
        program = cel.compile(source)
    except ValueError as error:
        raise ConditionError(_syntax_message(error)) from None
    unknown = [name for name in program.functions() if name[0] not in "_@!" and name not in BUILTIN_FUNCTIONS]
    if unknown:
        names = ", ".join(f"'{name}'" for name in unknown)
        raise ConditionError(
            f"it uses {names}, which CEL conditions do not provide "
            f"(available: {', '.join(sorted(BUILTIN_FUNCTIONS))})."
        )
    name = _undefined_name(program)
    if name is not None:
        raise ConditionError(
            f"it refers to '{name}', which is not defined; a condition can use {' and '.join(VARIABLES)}."
        )
    return program


def _undefined_name(program: Any) -> str | None:
    """The name ``program`` uses that is neither a variable nor a function, found by
    running it once with empty variables: a misspelt variable (``recod.x``) shows up as
    "undefined", while a missing field of an empty record is fine here."""
    try:
        program.execute({"record": {}, "context": {}})
    except RuntimeError as error:
        match = _UNDEFINED.search(str(error))
        return match["name"] if match and match["name"] not in VARIABLES else None
    except Exception:  # noqa: BLE001 - any other failure on empty variables says nothing about names
        return None
    return None


def condition_problem(source: str) -> str | None:
    """Why ``source`` is not a usable condition (a sentence), or None when it is fine."""
    try:
        _compile(source)
    except ConditionError as error:
        return f"This condition cannot be used: {error}"
    return None


def _describe_failure(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"the record or context has no field {error.args[0]!r}" if error.args else "a field is missing"
    text = str(error).split(". ")[0].strip().rstrip(".")
    return text or type(error).__name__


class Condition:
    """A compiled ``when`` expression."""

    __slots__ = ("source", "_program")

    def __init__(self, source: str):
        self.source = source
        self._program = _compile(source)

    def evaluate(self, record: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
        """True or False; ConditionError when it cannot be evaluated for this record."""
        try:
            value = self._program.execute({"record": record, "context": context})
        except Exception as error:  # noqa: BLE001 - CEL raises KeyError, TypeError, ValueError, RuntimeError...
            raise ConditionError(_describe_failure(error)) from None
        if value is True or value is False:
            return value
        raise ConditionError(f"it gave {value!r} instead of true or false")

    def __repr__(self) -> str:
        return f"Condition({self.source!r})"
