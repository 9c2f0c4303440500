"""The first check of a config: that it is plain JSON data, within bounds."""

from __future__ import annotations

import math
from typing import Any

from rules_engine.pointers import json_pointer as pointer
from rules_engine.validation.messages import Problem, _cap, _subject

# ------------------------------------------------------------- plain JSON data first

#: How deeply a config may nest objects and lists (real configs use about ten levels).
MAX_DEPTH = 64
#: Integers a config may hold: 64-bit, as every JSON tool and database reads them.
MAX_INTEGER = 2**63 - 1
#: Values (objects, lists, texts, numbers...) a config may hold, counting a YAML alias
#: once per use: real configs hold a few thousand, and a "billion laughs" document of
#: nested aliases stops here instead of being walked value by value.
MAX_VALUES = 100_000


def _printable(text: str) -> str:
    """Text safe to show and encode: a lone surrogate is written as its escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def plain_data_problems(config: Any) -> list[Problem]:
    """What makes ``config`` something other than plain JSON data: more than MAX_VALUES
    values, nesting deeper than MAX_DEPTH, NaN or infinite numbers, integers past 64
    bits, names that are not text, text that is not valid Unicode (lone surrogates) or
    holds a NUL character (PostgreSQL stores none), values of other types. The walk is
    iterative and bounded, so no document exhausts the stack or the clock; the other
    checks (which recurse, and hash and print values) only run without these problems."""
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(config, ())]
    visited = 0
    while stack and len(problems) < 100:
        value, parts = stack.pop()
        visited += 1
        if visited > MAX_VALUES:
            return [
                Problem(
                    "", f"The config holds more than {MAX_VALUES:,} values; a config is never that large."
                )
            ]
        if isinstance(value, (dict, list)) and len(parts) >= MAX_DEPTH:
            problems.append(
                Problem(
                    pointer(parts),
                    f"This value nests lists and objects more than {MAX_DEPTH} levels "
                    "deep; a config is never that deep.",
                )
            )
        elif isinstance(value, dict):
            for key, child in value.items():
                if not isinstance(key, str):
                    problems.append(
                        Problem(
                            pointer(parts + (_printable(str(key)),)),
                            f"The name {_printable(repr(key))} is not text; names must be text.",
                        )
                    )
                elif _printable(key) != key:
                    problems.append(
                        Problem(
                            pointer(parts + (_printable(key),)),
                            "This name is not valid Unicode text (it holds a lone surrogate).",
                        )
                    )
                elif "\x00" in key:
                    problems.append(
                        Problem(
                            pointer(parts + (key,)),
                            "This name contains a NUL character, which databases cannot store.",
                        )
                    )
                else:
                    stack.append((child, parts + (key,)))
        elif isinstance(value, list):
            stack.extend((child, parts + (i,)) for i, child in enumerate(value))
        elif isinstance(value, str):
            if _printable(value) != value:
                problems.append(
                    Problem(pointer(parts), "This text is not valid Unicode (it holds a lone surrogate).")
                )
            elif "\x00" in value:
                problems.append(
                    Problem(
                        pointer(parts), "This text contains a NUL character, which databases cannot store."
                    )
                )
        elif isinstance(value, float):
            if not math.isfinite(value):
                problems.append(
                    Problem(
                        pointer(parts), f"{_cap(_subject(parts))} is {value!r}, which is not a JSON number."
                    )
                )
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
                problems.append(
                    Problem(
                        pointer(parts),
                        f"{_cap(_subject(parts))} is a number too large to use "
                        f"(the largest is {MAX_INTEGER}).",
                    )
                )
        elif value is not None and not isinstance(value, bool):
            problems.append(
                Problem(
                    pointer(parts),
                    f"{_cap(_subject(parts))} is {type(value).__name__}, which is "
                    "not JSON data (text, number, true/false, null, list or object).",
                )
            )
    return problems
