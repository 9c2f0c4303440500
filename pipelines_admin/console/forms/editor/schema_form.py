"""Forms generated from a JSON Schema: a rule class's params schema, or the settings
of a rule or stage described the same way.

``SchemaForm(schema, initial, data=None, prefix="p")`` turns the schema and the
current values into a tree of :class:`SchemaField` descriptors the templates render
(``console/_schema_field.html``), reads a submitted form back into a value
(:meth:`SchemaForm.parse`: types coerced, empty optional fields left out) and puts
validation problems beside the field they belong to (:meth:`SchemaForm.attach_problems`).

Kinds of field:

=========  ===============================================================
text       a string (an ``input``; a textarea when the value has line breaks)
number     a number; ``integer`` a whole number (both typed as text, so what
           was typed stays even when it is not a number)
select     a string (or number) with an ``enum``
checkbox   a boolean
choices    a list of enum values: one checkbox each, ticked ones first in
           their current order (the browser submits them in that order)
list       a list of strings or numbers: one item per line
map        an object of strings by free-form names: one ``name: text`` per line
object     an object with named properties: a fieldset of fields
json       anything else (lists of objects, ...): JSON in a textarea
=========  ===============================================================

A field the user did not touch keeps its current value exactly (an absent optional
setting stays absent even if its default is shown), so saving a form changes only
what was changed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from pipelines_admin.core.json_data import UnreadableJSON, parse_json_text
from rules_engine import unescape_token


class _Missing:
    """The value of a field that is left out of the result."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass
class Choice:
    value: str  # as submitted by the form
    label: str
    selected: bool


@dataclass
class SchemaField:
    key: str
    path: tuple[str, ...]
    name: str
    id: str
    kind: str
    label: str
    help: str
    required: bool
    schema: dict
    value: Any = MISSING  # the current value (MISSING when absent)
    default: Any = MISSING
    raw: str = ""  # what a text-like input shows
    checked: bool = False  # checkbox
    choices: list[Choice] = dc_field(default_factory=list)
    children: list[SchemaField] = dc_field(default_factory=list)
    item_kind: str = ""  # list: string / number / integer
    errors: list[str] = dc_field(default_factory=list)
    placeholder: str = ""
    bounds: str = ""
    empty_label: str = ""  # select: the label of the "not set" option
    rows: int = 3
    multiline: bool = False  # text: shown in a textarea (its value has line breaks an input would drop)

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING

    @property
    def any_selected(self) -> bool:
        return any(c.selected for c in self.choices)

    @property
    def hint(self) -> str:
        """How to write the value, and what an empty field means."""
        how = {"list": "One per line.", "map": "One per line, as name: text.", "json": "Written as JSON."}
        parts = [how.get(self.kind, "")]
        if self.has_default and self.kind not in ("select", "checkbox", "object", "choices"):
            shown = (
                f" ({self.placeholder})"
                if self.kind in ("text", "number", "integer") and self.placeholder
                else ""
            )
            parts.append(f"Empty: the default applies{shown}.")
        return " ".join(p for p in parts if p)

    @property
    def example(self) -> Any:
        """A value to show how to write this field's value (numbers: one its bounds allow)."""
        if self.kind in ("number", "integer"):
            schema = self.schema if self.default is MISSING else {**self.schema, "default": self.default}
            return number_example(schema, integer=self.kind == "integer")
        if self.kind == "list" and self.item_kind in ("number", "integer"):
            return number_example(self.schema.get("items") or {}, integer=self.item_kind == "integer")
        return example_value(self.schema)

    @property
    def error_id(self) -> str:
        return f"err-{self.id}"

    @property
    def help_id(self) -> str:
        return f"help-{self.id}"

    @property
    def all_errors(self) -> list[str]:
        """This field's errors and its children's (for a collapsed summary)."""
        found = list(self.errors)
        for child in self.children:
            found.extend(child.all_errors)
        return found


# ----------------------------------------------------------------------- rendering


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _number_text(value: Any) -> str:
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(value)
    return "" if value is MISSING or value is None else str(value)


def _choice_key(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _humanize(key: str) -> str:
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _type_of(schema: Mapping[str, Any]) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, str):
        return declared
    if declared is None:
        if "properties" in schema:
            return "object"
        return None
    return None  # a list of types: edited as JSON


def kind_of(schema: Mapping[str, Any]) -> tuple[str, str]:
    """The field kind for a schema, and for lists the kind of their items."""
    declared = _type_of(schema)
    if isinstance(schema.get("enum"), list) and declared in ("string", "integer", "number", None):
        if all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in schema["enum"]):
            return "select", ""
    if declared == "string":
        return "text", ""
    if declared == "integer":
        return "integer", ""
    if declared == "number":
        return "number", ""
    if declared == "boolean":
        return "checkbox", ""
    if declared == "array":
        items = schema.get("items")
        if isinstance(items, Mapping):
            item_kind, _ = kind_of(items)
            if item_kind == "select":
                return "choices", ""
            if item_kind in ("text", "number", "integer"):
                return "list", {"text": "string"}.get(item_kind, item_kind)
        return "json", ""
    if declared == "object":
        extra = schema.get("additionalProperties")
        if schema.get("properties") and extra in (None, False):
            return "object", ""
        if (
            not schema.get("properties")
            and isinstance(extra, Mapping)
            and extra.get("type") == "string"
            and "enum" not in extra
        ):
            return "map", ""
        return "json", ""
    return "json", ""


def _bounds(schema: Mapping[str, Any]) -> str:
    low = schema.get("minimum")
    high = schema.get("maximum")
    low_x = schema.get("exclusiveMinimum")
    high_x = schema.get("exclusiveMaximum")
    fmt = _number_text
    if low is not None and high is not None:
        return f"{fmt(low)} to {fmt(high)}"
    parts = []
    if low is not None:
        parts.append(f"at least {fmt(low)}")
    if low_x is not None:
        parts.append(f"more than {fmt(low_x)}")
    if high is not None:
        parts.append(f"at most {fmt(high)}")
    if high_x is not None:
        parts.append(f"less than {fmt(high_x)}")
    return ", ".join(parts)


def _list_text(values: Any, item_kind: str) -> str:
    if not isinstance(values, list):
        return "" if values is MISSING else _json_text(values)
    return "\n".join(_number_text(v) if item_kind in ("number", "integer") else str(v) for v in values)


def _map_text(value: Any) -> str:
    if not isinstance(value, Mapping):
        return ""
    return "\n".join(f"{k}: {v}" for k, v in value.items())


def _is_map_friendly(value: Any) -> bool:
    """Whether ``name: text`` lines can carry the value exactly."""
    if value is MISSING:
        return True
    if not isinstance(value, Mapping):
        return False
    for k, v in value.items():
        if (
            not isinstance(v, str)
            or ":" in k
            or "\n" in k
            or "\n" in v
            or k != k.strip()
            or v != v.strip()
            or not k
        ):
            return False
    return True


def _is_list_friendly(value: Any, item_kind: str) -> bool:
    """Whether one-item-per-line can carry the value exactly."""
    if value is MISSING:
        return True
    if not isinstance(value, list):
        return False
    for item in value:
        if item_kind == "string":
            if not isinstance(item, str) or not item.strip() or item != item.strip() or "\n" in item:
                return False
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            return False
    return True


def _rendered(f: SchemaField, value: Any) -> Any:
    """What the input of ``f`` shows for ``value`` (text, checked state, or the
    list of ticked choices)."""
    if f.kind == "checkbox":
        effective = value if value is not MISSING else (f.default if f.default is not MISSING else False)
        return bool(effective) if isinstance(effective, bool) else False
    if f.kind == "choices":
        return [_choice_key(v) for v in value] if isinstance(value, list) else []
    if f.kind == "select":
        return "" if value is MISSING else _choice_key(value)
    if f.kind in ("number", "integer"):
        return _number_text(value)
    if f.kind == "text":
        return "" if value is MISSING else (value if isinstance(value, str) else json.dumps(value))
    if f.kind == "list":
        return _list_text(value, f.item_kind)
    if f.kind == "map":
        return _map_text(value)
    if f.kind == "json":
        return "" if value is MISSING else _json_text(value)
    return None


def _submitted(f: SchemaField, data) -> Any:
    """What the form submitted for ``f``, in the shape :func:`_rendered` gives."""
    if f.kind == "checkbox":
        return f.name in data
    if f.kind == "choices":
        return [v for v in data.getlist(f.name) if v != ""]
    return _normalise_newlines(data.get(f.name, ""))


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def build_field(
    schema: Mapping[str, Any],
    value: Any,
    *,
    key: str,
    path: tuple[str, ...],
    prefix: str,
    required: bool,
    data=None,
) -> SchemaField:
    kind, item_kind = kind_of(schema)
    if kind == "map" and not _is_map_friendly(value):
        kind = "json"
    if kind == "list" and not _is_list_friendly(value, item_kind):
        kind = "json"
    name = ".".join((prefix,) + path)
    f = SchemaField(
        key=key,
        path=path,
        name=name,
        id="f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name.replace(".", "-")),
        kind=kind,
        item_kind=item_kind,
        label=str(schema.get("title") or _humanize(key)),
        help=str(schema.get("description") or ""),
        required=required,
        schema=dict(schema),
        value=value,
        default=schema.get("default", MISSING),
        bounds=_bounds(schema),
    )
    if kind == "list":
        f.bounds = _bounds(schema.get("items") or {})
    if kind == "object":
        properties = schema.get("properties") or {}
        needed = set(schema.get("required") or [])
        current = value if isinstance(value, Mapping) else {}
        shown_default = f.default if isinstance(f.default, Mapping) and value is MISSING else {}
        for child_key, child_schema in properties.items():
            child_value = current.get(child_key, MISSING)
            child = build_field(
                child_schema if isinstance(child_schema, Mapping) else {},
                child_value,
                key=child_key,
                path=path + (child_key,),
                prefix=prefix,
                required=child_key in needed,
                data=data,
            )
            if child_value is MISSING and child_key in shown_default and child.default is MISSING:
                child.default = shown_default[child_key]
            _describe_default(child)
            f.children.append(child)
        return f
    shown = _submitted(f, data) if data is not None else _rendered(f, value)
    f.multiline = kind == "text" and isinstance(value, str) and "\n" in value
    if kind == "checkbox":
        f.checked = bool(shown)
    elif kind in ("select", "choices"):
        _fill_choices(f, shown)
    else:
        f.raw = shown
    _describe_default(f)
    lines = f.raw.count("\n") + 1 if f.raw else f.placeholder.count("\n") + 1
    f.rows = min(
        max(lines + 1, 3 if kind in ("list", "map") or f.multiline else 6 if kind == "json" else 1), 24
    )
    return f


def example_value(schema: Mapping[str, Any]) -> Any:
    """A value of the right shape for ``schema``, to show how to write one."""
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    declared = _type_of(schema)
    if declared == "object":
        return {
            k: example_value(v) for k, v in (schema.get("properties") or {}).items() if isinstance(v, Mapping)
        }
    if declared == "array":
        items = schema.get("items")
        count = max(1, min(int(schema.get("minItems") or 1), 3))
        return [example_value(items) for _ in range(count)] if isinstance(items, Mapping) else []
    if declared in ("integer", "number"):
        return number_example(schema, integer=declared == "integer")
    if declared == "boolean":
        return False
    return "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number_allowed(schema: Mapping[str, Any], value: Any, *, integer: bool = False) -> bool:
    """Whether ``schema``'s bounds (and type) allow the number ``value``."""
    if not _is_number(value) or (integer and value != int(value)):
        return False
    checks = (
        ("minimum", lambda b: value >= b),
        ("maximum", lambda b: value <= b),
        ("exclusiveMinimum", lambda b: value > b),
        ("exclusiveMaximum", lambda b: value < b),
    )
    return all(check(schema[key]) for key, check in checks if _is_number(schema.get(key)))


def number_example(schema: Mapping[str, Any], *, integer: bool = False) -> int | float:
    """A number to show as an example for ``schema``: its first usable ``examples``
    entry, else its ``default``, else a value its bounds allow."""
    examples = schema.get("examples")
    for candidate in (*(examples if isinstance(examples, list) else ()), schema.get("default")):
        if number_allowed(schema, candidate, integer=integer):
            return int(candidate) if integer else candidate
    low, high = schema.get("minimum"), schema.get("maximum")
    low_x, high_x = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    low = low if _is_number(low) else None
    high = high if _is_number(high) else None
    low_x = low_x if _is_number(low_x) else None
    high_x = high_x if _is_number(high_x) else None
    if integer:
        lows = [math.ceil(low)] if low is not None else []
        lows += [math.floor(low_x) + 1] if low_x is not None else []
        highs = [math.floor(high)] if high is not None else []
        highs += [math.ceil(high_x) - 1] if high_x is not None else []
        value: float = 10
        if lows:
            value = max(value, max(lows))
        if highs:
            value = min(value, min(highs))
        return value
    floor, floor_open = (low_x, True) if low_x is not None and (low is None or low_x >= low) else (low, False)
    ceiling, ceiling_open = (
        (high_x, True) if high_x is not None and (high is None or high_x <= high) else (high, False)
    )
    if floor is not None and ceiling is not None:
        return (floor + ceiling) / 2
    value = 2.5
    if floor is not None and (value < floor or (floor_open and value == floor)):
        value = floor + 1 if floor_open else floor
    if ceiling is not None and (value > ceiling or (ceiling_open and value == ceiling)):
        value = ceiling - 1 if ceiling_open else ceiling
    return value


def _describe_default(f: SchemaField) -> None:
    if f.default is MISSING:
        f.empty_label = "(not set)"
        examples = f.schema.get("examples")
        if f.kind == "text" and isinstance(examples, list) and examples and isinstance(examples[0], str):
            f.placeholder = f"for example {examples[0]}"
        elif f.kind in ("number", "integer") and isinstance(examples, list) and examples:
            f.placeholder = f"for example {_number_text(f.example)}"
        elif f.kind == "json" and _type_of(f.schema) in ("array", "object"):
            f.placeholder = "for example " + _json_text(example_value(f.schema))
        return
    if f.kind in ("text", "number", "integer"):
        f.placeholder = _number_text(f.default) if f.kind != "text" else str(f.default)
    elif f.kind == "list" and isinstance(f.default, list):
        f.placeholder = _list_text(f.default, f.item_kind)
    elif f.kind == "map" and isinstance(f.default, Mapping):
        f.placeholder = _map_text(f.default)
    elif f.kind == "json":
        f.placeholder = _json_text(f.default)
    f.empty_label = f"(default: {f.default})" if f.kind == "select" else "(not set)"


def _fill_choices(f: SchemaField, shown: Any) -> None:
    options = f.schema.get("enum") if f.kind == "select" else (f.schema.get("items") or {}).get("enum")
    options = list(options or [])
    keys = [_choice_key(v) for v in options]
    if f.kind == "select":
        selected = shown if isinstance(shown, str) else ""
        if selected and selected not in keys:
            f.choices.append(Choice(selected, f"{selected} (not allowed)", True))
        f.choices.extend(Choice(k, k, k == selected) for k in keys)
        return
    ticked = [k for k in (shown or []) if isinstance(k, str)]
    seen = set()
    for k in ticked:  # ticked first, in their order: the browser submits in document order
        if k not in seen:
            seen.add(k)
            f.choices.append(Choice(k, k if k in keys else f"{k} (not allowed)", True))
    f.choices.extend(Choice(k, k, False) for k in keys if k not in seen)


# ------------------------------------------------------------------------- parsing


class _ParseError(ValueError):
    pass


def _parse_number(text: str, kind: str, example: Any) -> int | float:
    text = text.strip()
    if _INTEGER.match(text):
        try:
            return int(text)
        except ValueError:  # Python refuses integers of more than 4,300 digits
            raise _ParseError("Enter a number with fewer digits.") from None
    if kind == "integer":
        try:
            number = float(text)
        except ValueError:
            raise _ParseError(f"Enter a whole number, like {_number_text(example)} (not {text!r}).") from None
        if math.isfinite(number) and number == int(number):
            return int(number)
        raise _ParseError(f"Enter a whole number, like {_number_text(example)} (not {text!r}).")
    try:
        number = float(text)
    except ValueError:
        raise _ParseError(f"Enter a number, like {_number_text(example)} (not {text!r}).") from None
    if not math.isfinite(number):
        raise _ParseError("Enter a finite number.")
    return number


def _parse_leaf(f: SchemaField, submitted: Any) -> Any:
    if f.kind == "checkbox":
        return bool(submitted)
    if f.kind == "choices":
        lookup = {_choice_key(v): v for v in ((f.schema.get("items") or {}).get("enum") or [])}
        return [lookup.get(k, k) for k in submitted] if submitted else MISSING
    if f.kind == "select":
        if submitted == "":
            return MISSING
        lookup = {_choice_key(v): v for v in (f.schema.get("enum") or [])}
        return lookup.get(submitted, submitted)
    text = submitted
    if f.kind == "text":
        text = text.strip()
        return text if text else MISSING
    if f.kind in ("number", "integer"):
        return _parse_number(text, f.kind, f.example) if text.strip() else MISSING
    if f.kind == "list":
        items = []
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.strip()
            if not line:
                continue
            if f.item_kind in ("number", "integer"):
                try:
                    items.append(_parse_number(line, f.item_kind, f.example))
                except _ParseError as exc:
                    raise _ParseError(f"Line {number}: {exc}") from None
            else:
                items.append(line)
        return items if items else MISSING
    if f.kind == "map":
        result: dict[str, str] = {}
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            name, sep, rest = line.partition(":")
            if not sep or not name.strip():
                raise _ParseError(f"Line {number}: write one entry per line as name: text.")
            name = name.strip()
            if name in result:
                raise _ParseError(f"Line {number}: {name!r} is given twice.")
            result[name] = rest.strip()
        return result if result else MISSING
    if f.kind == "json":
        if not text.strip():
            return MISSING
        try:
            return parse_json_text(text)
        except UnreadableJSON as exc:
            raise _ParseError(str(exc)) from None
    raise AssertionError(f"unknown kind {f.kind}")  # pragma: no cover


def _parse(f: SchemaField, data) -> tuple[Any, bool]:
    """The field's value from ``data`` and whether the user left it as it was."""
    if f.kind == "object":
        values: dict[str, Any] = {}
        untouched = True
        for child in f.children:
            child_value, child_untouched = _parse(child, data)
            untouched = untouched and child_untouched
            if child_value is not MISSING:
                values[child.key] = child_value
        if untouched:
            return f.value, True
        if isinstance(f.value, Mapping):  # keep the current key order; new keys after
            ordered = {k: values[k] for k in f.value if k in values}
            ordered.update((k, v) for k, v in values.items() if k not in ordered)
            values = ordered
        if not values and not f.required:
            return MISSING, False
        return values, False
    submitted = _submitted(f, data)
    if submitted == _rendered(f, f.value):
        return f.value, True
    try:
        return _parse_leaf(f, submitted), False
    except _ParseError as exc:
        f.errors.append(str(exc))
        return MISSING, False


# -------------------------------------------------------------------------- the form


class SchemaForm:
    """The fields of one schema (an object schema), optionally bound to submitted data."""

    def __init__(self, schema: Mapping[str, Any], initial: Any = MISSING, data=None, prefix: str = "p"):
        self.schema = schema
        self.prefix = prefix
        self.data = data
        self.initial = initial if initial is not None else MISSING
        self.root = build_field(
            schema, self.initial, key="", path=(), prefix=prefix, required=True, data=data
        )
        self._parsed = False
        self._value: Any = MISSING

    @property
    def fields(self) -> list[SchemaField]:
        """The top-level fields (a schema that is not an object of named properties is
        one field: JSON)."""
        return self.root.children if self.root.kind == "object" else [self.root]

    def walk(self) -> Iterator[SchemaField]:
        """Every field, containers before their children."""
        stack = list(reversed(self.fields))
        while stack:
            f = stack.pop()
            yield f
            stack.extend(reversed(f.children))

    def parse(self) -> Any:
        """The submitted value: a dict (``{}`` when every field is empty). Fields that
        could not be read get an error and are left out."""
        if self.data is None:
            return self.initial if self.initial is not MISSING else {}
        if not self._parsed:
            value, _ = _parse(self.root, self.data)
            self._value = value if isinstance(value, dict) else {}
            self._parsed = True
        return self._value

    @property
    def has_errors(self) -> bool:
        return any(f.errors for f in self.walk())

    def field_at(self, segments: list[str]) -> SchemaField | None:
        """The deepest field whose path starts ``segments``."""
        if self.root.kind != "object":
            return self.root
        found = None
        fields = self.fields
        for segment in segments:
            match = next((f for f in fields if f.key == segment), None)
            if match is None:
                break
            found = match
            fields = match.children
        return found

    def _siblings(self, target: SchemaField) -> list[SchemaField]:
        """The fields beside ``target`` (its parent's children), ``target`` included."""
        fields = self.fields
        for key in target.path[:-1]:
            fields = next((f.children for f in fields if f.key == key), [])
        return fields

    def attach_problems(self, problems: list[dict], base: str) -> list[dict]:
        """Put each problem under the JSON pointer ``base`` beside its field, worded with
        the labels the form shows (see :func:`worded`); return the others. A field that
        could not be read keeps only its own error."""
        unread = {f.id for f in self.walk() if f.errors}
        others = []
        for problem in problems:
            path = problem.get("path", "")
            if not path.startswith(base + "/") and not (path == base and self.root.kind != "object"):
                others.append(problem)
                continue
            segments = [unescape_token(s) for s in path[len(base) :].split("/")[1:]]
            target = self.field_at(segments)
            if target is None:
                others.append(problem)
                continue
            labels = {f.key: f.label for f in self._siblings(target) + target.children if f.key}
            message = worded(problem["message"], target, segments[len(target.path) :], labels)
            if target.id not in unread and message not in target.errors:
                target.errors.append(message)
        return others


def worded(message: str, target: SchemaField, rest: list[str], labels: Mapping[str, str]) -> str:
    """A validation message about ``target`` (``rest``: the path below it) with the
    field's label for its key: "'minimum_age' must be at least 0" becomes "Minimum age
    must be at least 0", and other settings it names ('key' in quotes, from ``labels``)
    are named by their labels too."""
    key = target.key
    if key:
        if not rest:
            if re.fullmatch(rf".* is missing the required (param|setting) '{re.escape(key)}'\.", message):
                return f"{target.label} is required."
            if message.startswith(f"'{key}'"):
                message = target.label + message[len(key) + 2 :]
        elif len(rest) == 1 and rest[0].isdigit():
            item = f"Item {int(rest[0]) + 1} of '{key}'"
            if message.startswith(item):
                message = f"{target.label}: item {int(rest[0]) + 1}" + message[len(item) :]
    for name, label in labels.items():
        message = message.replace(f"'{name}'", label)
    return message
