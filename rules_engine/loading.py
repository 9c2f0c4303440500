"""Reading pipeline configs (JSON or YAML) and input records (JSON, JSONL, CSV).

Every problem with a file becomes an :class:`InputError` whose message names the file
and, where it helps, the line: never a traceback. A key given twice in the same object
is an error too (JSON and YAML parsers would otherwise keep the last one silently,
and a rule would vanish without a word).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any

import yaml

YAML_SUFFIXES = (".yaml", ".yml")


class InputError(Exception):
    """A file or text that cannot be read as what was expected; ``line`` and ``column``
    (from 1) say where reading stopped, when that is known."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line = line
        self.column = column


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def parse_json(text: str, source: str) -> Any:
    """``text`` parsed as JSON; InputError naming ``source`` and the line on failure."""
    try:
        return _parse_json(text)
    except InputError as error:
        raise InputError(f"{source}: {error}", line=error.line, column=error.column) from None


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as error:
        raise InputError(
            f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}.",
            line=error.lineno,
            column=error.colno,
        ) from None
    except _DuplicateKeyError as error:
        raise InputError(f"the key {error.key!r} appears twice in the same object.") from None
    except (ValueError, RecursionError) as error:
        raise InputError(f"not valid JSON: {_unparsable(error)}.") from None


def _unparsable(error: Exception) -> str:
    """Why Python's JSON parser gave up on a text that is JSON on paper."""
    if isinstance(error, RecursionError):
        return "it is nested too deeply"
    if "digits" in str(error):  # int() refuses more than sys.get_int_max_str_digits() digits
        return "it holds a number with too many digits"
    return str(error).rstrip(".") or type(error).__name__


#: How deeply a record may nest lists and objects (real records use two or three levels).
MAX_RECORD_DEPTH = 64


def record_problem(record: Any) -> str | None:
    """Why a record cannot be run and printed as JSON (nested past MAX_RECORD_DEPTH, or
    holding text that is not valid Unicode); None when it can. Iterative: any depth."""
    stack = [(record, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)) and depth >= MAX_RECORD_DEPTH:
            return f"it nests lists and objects more than {MAX_RECORD_DEPTH} levels deep"
        if isinstance(value, dict):
            for key, child in value.items():
                stack.append((key, depth + 1))
                stack.append((child, depth + 1))
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)
        elif isinstance(value, str) and not _is_unicode(value):
            return "it holds text that is not valid Unicode (a lone surrogate)"
    return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _StrictYamlLoader(yaml.SafeLoader):
    """yaml.safe_load, except that a key given twice in one mapping is an error (rather
    than the last one silently winning), and dates stay text (a config holds JSON
    values only)."""


def _mapping_without_duplicates(
    loader: _StrictYamlLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Hashable, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: construct_mapping reports it
            duplicate = False
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} appears twice in the same mapping", key_node.start_mark
            )
    return loader.construct_mapping(node, deep=deep)


_StrictYamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _timestamp_as_text(loader: _StrictYamlLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_StrictYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def parse_yaml(text: str, source: str) -> Any:
    """``text`` parsed as YAML; InputError naming ``source`` and the line on failure."""
    try:
        return _parse_yaml(text)
    except InputError as error:
        raise InputError(f"{source}: {error}", line=error.line, column=error.column) from None


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = " ".join(
            str(part) for part in (getattr(error, "context", None), getattr(error, "problem", None)) if part
        ) or str(error)
        raise InputError(
            f"not valid YAML{where}: {what}.",
            line=mark.line + 1 if mark is not None else None,
            column=mark.column + 1 if mark is not None else None,
        ) from None
    except (ValueError, RecursionError) as error:
        raise InputError(f"not valid YAML: {_unparsable(error)}.") from None


CONFIG_TEXT_FORMATS = ("yaml", "json")


def parse_config_text(text: str, fmt: str) -> Any:
    """The document a config text holds, ``fmt`` "yaml" or "json", read as
    :func:`load_config` reads files (a key given twice is refused). Not validated.
    InputError ("not valid YAML at line 4, column 1: ...") when it cannot be read."""
    if fmt not in CONFIG_TEXT_FORMATS:
        raise ValueError(f"fmt is one of {CONFIG_TEXT_FORMATS}, not {fmt!r}")
    return _parse_yaml(text) if fmt == "yaml" else _parse_json(text)


def _read_text(path: str | Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file.") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: is not UTF-8 text.") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror or error}).") from None


def load_config(path: str | Path) -> Any:
    """The config document in ``path``: YAML for .yaml/.yml, JSON otherwise.
    Not validated here: pass the result to ``validate_config`` or ``compile_pipeline``."""
    text = _read_text(path)
    if str(path).lower().endswith(YAML_SUFFIXES):
        return parse_yaml(text, str(path))
    return parse_json(text, str(path))


def load_records(path: str | Path) -> tuple[list[dict[str, Any]], bool]:
    """The records in ``path`` and whether the input was a single object.

    ``.json``: one object (single) or an array of objects; ``.jsonl`` (and ``-``, stdin):
    one object per line, blank lines ignored; ``.csv``: one record per row, keyed by the
    header, values as text. Every record must be an object.
    """
    name = str(path)
    text = _read_text(path)
    lower = name.lower()
    if lower.endswith(".csv"):
        return _csv_records(text, name), False
    if lower.endswith(".jsonl") or lower.endswith(".ndjson") or name == "-":
        return list(_jsonl_records(text, name)), False
    document = parse_json(text, name)
    if isinstance(document, dict):
        _check_record(document, f"{name}: the record")
        return [document], True
    if isinstance(document, list):
        for i, item in enumerate(document, start=1):
            if not isinstance(item, dict):
                raise InputError(f"{name}: record {i} is {_kind(item)}, not an object.")
            _check_record(item, f"{name}: record {i}")
        return document, False
    raise InputError(f"{name}: expected an object or an array of objects, found {_kind(document)}.")


def _check_record(record: Any, where: str) -> None:
    problem = record_problem(record)
    if problem:
        raise InputError(f"{where} cannot be used: {problem}.")


def _jsonl_records(text: str, name: str) -> Iterator[dict[str, Any]]:
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=_reject_duplicate_keys)
        except json.JSONDecodeError as error:
            raise InputError(
                f"{name}: line {lineno} is not valid JSON (column {error.colno}: {error.msg})."
            ) from None
        except _DuplicateKeyError as error:
            raise InputError(f"{name}: line {lineno} has the key {error.key!r} twice.") from None
        except (ValueError, RecursionError) as error:
            raise InputError(f"{name}: line {lineno} is not valid JSON: {_unparsable(error)}.") from None
        if not isinstance(record, dict):
            raise InputError(f"{name}: line {lineno} is {_kind(record)}, not an object.")
        _check_record(record, f"{name}: line {lineno}")
        yield record


def _csv_records(text: str, name: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        return []
    if len(set(reader.fieldnames)) != len(reader.fieldnames):
        raise InputError(f"{name}: the header names a column twice.")
    records = []
    try:
        for row in reader:
            if None in row:
                raise InputError(
                    f"{name}: line {reader.line_num} has more values than the header has columns."
                )
            records.append({key: ("" if value is None else value) for key, value in row.items()})
    except csv.Error as error:
        raise InputError(f"{name}: line {reader.line_num} is not valid CSV ({error}).") from None
    return records


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "an array"
    return "an object"
