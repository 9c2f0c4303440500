"""Whether a value parsed from JSON can be stored and run as it is, on every database the
project runs on: the check behind run inputs and batch rows."""

from __future__ import annotations

import json
import math
from typing import Any

#: How deeply an application may nest lists and objects (real ones use two or three levels).
MAX_DEPTH = 64


class UnreadableJSON(ValueError):
    """A text that is not JSON Python can read; the message says why, for a person."""


def parse_json_text(text: str) -> Any:
    """The value a JSON text holds, or UnreadableJSON saying where reading stopped (or
    that the text nests too deeply or holds a number with too many digits)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableJSON(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:
        raise UnreadableJSON("Not valid JSON: it is nested too deeply.") from None
    except ValueError:  # Python refuses integers of more than 4,300 digits
        raise UnreadableJSON("Not valid JSON: it holds a number with too many digits.") from None


def unstorable(value: Any, *, max_depth: int = MAX_DEPTH) -> str | None:
    """Why ``value`` cannot be stored as JSON everywhere (PostgreSQL refuses NUL in
    JSON text; lone surrogates are not Unicode; NaN and Infinity are not JSON; nesting
    past ``max_depth`` is no application), as a phrase naming where; None when it can.
    Iterative, so any depth is checked without exhausting the stack."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, (dict, list)) and depth >= max_depth:
            return f"it nests lists and objects more than {max_depth} levels deep (at {_at(where)})"
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    return f"the name {key!r} at {_at(where)} is not text"
                problem = _text_problem(key)
                if problem:
                    return f"a field name at {_at(where)} {problem}"
                stack.append((child, f"{where}/{key}", depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{where}/{i}", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                return f"the text at {_at(where)} {problem}"
        elif isinstance(item, float) and not math.isfinite(item):
            return f"the number at {_at(where)} is {item}, which is not JSON"
    return None


def _at(where: str) -> str:
    """A path for a message: "/" for the whole value, long ones shortened."""
    return (where[:80] + "...") if len(where) > 80 else (where or "/")


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (it holds a lone surrogate)"
    return None
