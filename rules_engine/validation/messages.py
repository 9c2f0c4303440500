"""What a validation problem is, and how a JSON Schema error becomes one: a JSON pointer
and a plain sentence for the people who edit pipelines."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from rules_engine.pointers import json_pointer as pointer


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a config: where (a JSON pointer, "" for the whole
    document) and what, as a sentence."""

    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}

    def __str__(self) -> str:
        return f"{self.path or '(config)'}: {self.message}"


class ConfigError(ValueError):
    """A config that cannot be compiled; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"The pipeline config has {count} problem{'s' if count != 1 else ''}:\n{lines}")


def _sort_key(problem: Problem) -> tuple[tuple[tuple[int, int, str], ...], str]:
    segments = tuple(
        (0, int(s), "") if s.isascii() and s.isdigit() else (1, 0, s) for s in problem.path.split("/")[1:]
    )
    return segments, problem.message


# ------------------------------------------------------------------ describing values

_TYPE_WORDS = {
    "object": "an object (a set of named settings)",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _subject(parts: Sequence[Any]) -> str:
    """How to name the value at ``parts`` in a sentence."""
    if not parts:
        return "The config"
    if len(parts) == 2 and parts[0] == "stages":
        return f"Stage '{parts[1]}'"
    if len(parts) == 4 and parts[0] == "stages" and parts[2] == "rules":
        return f"Rule '{parts[3]}'"
    last = parts[-1]
    if isinstance(last, int):
        owner = parts[-2] if len(parts) > 1 else "the list"
        return f"Item {last + 1} of '{owner}'"
    return f"'{last}'"


def _holder(parts: Sequence[Any]) -> str:
    """How to name the object at ``parts`` as the owner of settings."""
    if not parts:
        return "the config"
    if len(parts) == 2 and parts[0] == "stages":
        return f"stage '{parts[1]}'"
    if len(parts) == 4 and parts[0] == "stages" and parts[2] == "rules":
        return f"rule '{parts[3]}'"
    if len(parts) == 5 and parts[4] == "retry":
        return f"the retry settings of rule '{parts[3]}'"
    return f"'{parts[-1]}'"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


# ------------------------------------------------------- JSON Schema errors -> problems


def schema_problems(
    instance: Any, validator: Draft202012Validator, base: Sequence[Any] = ()
) -> list[Problem]:
    """Every JSON Schema error of ``instance``, as problems under the path ``base``."""
    problems = []
    for error in validator.iter_errors(instance):
        problems.extend(_error_problems(error, list(base)))
    return problems


def _error_problems(error: ValidationError, base: list[Any]) -> list[Problem]:
    parts = base + list(error.absolute_path)
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    subject = _subject(parts)

    if "propertyNames" in error.relative_schema_path:
        return [
            Problem(
                pointer(parts),
                f"{_cap(_holder(parts))} has an entry named {_show(instance)}, which is "
                f"not allowed. {_value_message(error, 'A name')}",
            )
        ]
    in_params = len(parts) == 5 and parts[0] == "stages" and parts[4] == "params"
    noun = "param" if in_params else "setting"
    owner = f"rule '{parts[3]}'" if in_params else _holder(parts)
    if kind == "required":
        missing = [key for key in value if isinstance(instance, dict) and key not in instance]
        return [
            Problem(pointer(parts + [key]), f"{_cap(owner)} is missing the required {noun} '{key}'.")
            for key in missing
        ]
    if kind in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
        allowed = list(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        extras = [key for key in instance if key not in allowed and not any(p.search(key) for p in patterns)]
        problems = []
        for key in extras:
            message = f"'{key}' is not a {noun} {owner} can have."
            guess = _closest(key, allowed)
            if guess:
                message += f" Did you mean '{guess}'?"
            if allowed:
                message += f" Allowed: {', '.join(allowed)}."
            problems.append(Problem(pointer(parts + [key]), message))
        return problems or [Problem(pointer(parts), f"{subject} has settings that are not allowed here.")]
    return [Problem(pointer(parts), _value_message(error, subject))]


# ------------------------------------------------ one sentence per JSON Schema keyword

#: How one JSON Schema keyword's error reads: a sentence about ``subject``, or None to
#: fall back on the generic one.
MessageFunction = Callable[[ValidationError, str], "str | None"]


def _value_message(error: ValidationError, subject: str) -> str:
    kind = error.validator
    describe = _VALUE_MESSAGES.get(str(kind))
    message = describe(error, subject) if describe is not None else None
    if message is not None:
        return message
    if kind is None or error.validator_value is False:
        return f"{subject} is not allowed here."
    return f"{subject} is not valid here (it breaks the '{kind}' check)."


def _type_message(error: ValidationError, subject: str) -> str:
    value = error.validator_value
    types = [value] if isinstance(value, str) else list(value)
    return _wanted_types_message(subject, types, error.instance)


def _wanted_types_message(subject: str, types: Iterable[str], instance: Any) -> str:
    wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
    return f"{subject} must be {wanted}, but it is {_kind(instance)}."


def _enum_message(error: ValidationError, subject: str) -> str:
    choices, instance = error.validator_value, error.instance
    message = f"{subject} must be one of: {', '.join(_show(choice) for choice in choices)}; it is {_show(instance)}."
    if isinstance(instance, str):
        guess = _closest(instance, [c for c in choices if isinstance(c, str)])
        if guess:
            message += f" Did you mean {_show(guess)}?"
    return message


def _const_message(error: ValidationError, subject: str) -> str:
    return f"{subject} must be {_show(error.validator_value)}; it is {_show(error.instance)}."


def _compared(relation: str) -> MessageFunction:
    """The message of a numeric bound: ``relation`` is "at least", "less than"..."""

    def message(error: ValidationError, subject: str) -> str:
        return f"{subject} must be {relation} {error.validator_value}; it is {_show(error.instance)}."

    return message


def _min_length_message(error: ValidationError, subject: str) -> str:
    value = error.validator_value
    return (
        f"{subject} must not be empty."
        if value == 1
        else f"{subject} must be at least {value} characters long."
    )


def _max_length_message(error: ValidationError, subject: str) -> str:
    return f"{subject} must be at most {error.validator_value} characters long."


def _min_items_message(error: ValidationError, subject: str) -> str:
    value = error.validator_value
    return (
        f"{subject} must not be an empty list."
        if value == 1
        else f"{subject} must list at least {value} items."
    )


def _max_items_message(error: ValidationError, subject: str) -> str:
    return f"{subject} must list at most {error.validator_value} items; it lists {len(error.instance)}."


def _unique_items_message(error: ValidationError, subject: str) -> str:
    seen: list[Any] = []
    repeated = None
    for item in error.instance:
        if item in seen:
            repeated = item
            break
        seen.append(item)
    return f"{subject} lists {_show(repeated)} more than once; each entry may appear only once."


def _min_properties_message(error: ValidationError, subject: str) -> str:
    if subject == "'stages'":
        return "The pipeline must have at least one stage."
    value = error.validator_value
    return f"{subject} must have at least {value} {'entry' if value == 1 else 'entries'}."


def _max_properties_message(error: ValidationError, subject: str) -> str:
    return f"{subject} must have at most {error.validator_value} entries."


def _pattern_message(error: ValidationError, subject: str) -> str:
    return (
        f"{subject} does not have the expected form: {_show(error.instance)} does not match "
        f"the pattern {error.validator_value}."
    )


def _format_message(error: ValidationError, subject: str) -> str:
    return f"{subject} is not a valid {error.validator_value}: {_show(error.instance)}."


def _dependent_required_message(error: ValidationError, subject: str) -> str | None:
    instance = error.instance
    for key, needs in error.validator_value.items():
        if key in instance:
            for need in needs:
                if need not in instance:
                    return f"{subject}: when '{key}' is given, '{need}' must be given too."
    return None


def _alternatives_message(error: ValidationError, subject: str) -> str:
    """anyOf / oneOf: a list of wanted types when every branch is a type, else the
    message of the branch that fits best."""
    context = list(error.context or [])
    if context and all(sub.validator == "type" and not sub.relative_path for sub in context):
        types: list[str] = []
        for sub in context:
            value = sub.validator_value
            for t in [value] if isinstance(value, str) else value:
                if t not in types:
                    types.append(t)
        return _wanted_types_message(subject, types, error.instance)
    if error.validator == "oneOf" and not context:
        return f"{subject} matches more than one of the allowed forms; it must match exactly one."
    if context:
        best = best_match(context)
        inner = (
            _subject(list(error.absolute_path) + list(best.relative_path)) if best.relative_path else subject
        )
        return _value_message(best, inner)
    return f"{subject} does not match any of the allowed forms."


def _not_message(error: ValidationError, subject: str) -> str:
    return f"{subject} has a value that is not allowed here: {_show(error.instance)}."


def _contains_message(error: ValidationError, subject: str) -> str:
    return f"{subject} does not contain any entry of the expected kind."


_VALUE_MESSAGES: dict[str, MessageFunction] = {
    "type": _type_message,
    "enum": _enum_message,
    "const": _const_message,
    "minimum": _compared("at least"),
    "exclusiveMinimum": _compared("greater than"),
    "maximum": _compared("at most"),
    "exclusiveMaximum": _compared("less than"),
    "multipleOf": _compared("a multiple of"),
    "minLength": _min_length_message,
    "maxLength": _max_length_message,
    "minItems": _min_items_message,
    "maxItems": _max_items_message,
    "uniqueItems": _unique_items_message,
    "minProperties": _min_properties_message,
    "maxProperties": _max_properties_message,
    "pattern": _pattern_message,
    "format": _format_message,
    "dependentRequired": _dependent_required_message,
    "anyOf": _alternatives_message,
    "oneOf": _alternatives_message,
    "not": _not_message,
    "contains": _contains_message,
}
