"""Reading pipeline configs (JSON or YAML) and input records (JSON, JSONL, CSV).

Every problem with a file becomes an :class:`InputError` whose message names the file
and, where it helps, the line: never a traceback. A key given twice in the same object
is an error too (JSON and YAML parsers would otherwise keep the last one silently,
and a rule would vanish without a word). JSON Lines and CSV records are read one at a
time (:func:`load_records`), so an input of any length runs in constant memory.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

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


def _open(path: str | Path, mode: str, **options: Any) -> IO[Any]:
    try:
        return open(path, mode, **options)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file.") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror or error}).") from None


def _read_text(path: str | Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    with _open(path, "r", encoding="utf-8-sig") as handle:
        try:
            return str(handle.read())
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


@contextmanager
def load_records(path: str | Path) -> Iterator[tuple[Iterator[dict[str, Any]], bool]]:
    """The records in ``path``, read one at a time, and whether the input was a single
    object; a context manager that closes the file::

        with load_records("applications.jsonl") as (records, single):
            for record in records: ...

    ``.jsonl``/``.ndjson`` (and ``-``, stdin): one object per line, blank lines ignored;
    ``.csv``: one record per row, keyed by the header, values as text. Both are read as
    they are iterated, so memory does not grow with the number of records, and a bad
    line raises :class:`InputError` (naming the line) only when iteration reaches it,
    after the records before it were handed out. ``.json``: one object (single) or an
    array of objects, read and checked whole before the first record is handed out.
    Every record must be an object. A file that cannot be opened raises InputError on
    entering the ``with``.
    """
    name = str(path)
    lower = name.lower()
    if lower.endswith(".csv"):
        with _open(path, "r", encoding="utf-8-sig", newline="") as text:
            yield _csv_records(text, name), False
    elif name == "-":
        yield _jsonl_records(sys.stdin.buffer, name), False
    elif lower.endswith((".jsonl", ".ndjson")):
        with _open(path, "rb") as lines:
            yield _jsonl_records(lines, name), False
    else:
        records, single = _json_records(_read_text(path), name)
        yield iter(records), single


def _json_records(text: str, name: str) -> tuple[list[dict[str, Any]], bool]:
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


def _jsonl_records(lines: Iterable[bytes], name: str) -> Iterator[dict[str, Any]]:
    """One record per line of ``lines`` (bytes, split at newlines), as each is read."""
    try:
        for lineno, raw in enumerate(lines, start=1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{name}: line {lineno} is not UTF-8 text.", line=lineno) from None
            if not line.strip():
                continue
            yield _jsonl_record(line, lineno, name)
    except OSError as error:
        raise InputError(f"{name}: cannot be read ({error.strerror or error}).") from None


def _jsonl_record(line: str, lineno: int, name: str) -> dict[str, Any]:
    try:
        record = json.loads(line, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{name}: line {lineno} is not valid JSON (column {error.colno}: {error.msg}).",
            line=lineno,
            column=error.colno,
        ) from None
    except _DuplicateKeyError as error:
        raise InputError(f"{name}: line {lineno} has the key {error.key!r} twice.", line=lineno) from None
    except (ValueError, RecursionError) as error:
        raise InputError(
            f"{name}: line {lineno} is not valid JSON: {_unparsable(error)}.", line=lineno
        ) from None
    if not isinstance(record, dict):
        raise InputError(f"{name}: line {lineno} is {_kind(record)}, not an object.", line=lineno)
    problem = record_problem(record)
    if problem:
        raise InputError(f"{name}: line {lineno} cannot be used: {problem}.", line=lineno)
    return record


def _csv_records(text: IO[str], name: str) -> Iterator[dict[str, Any]]:
    """One record per row of ``text`` (opened with newline=""), as each is read."""
    reader = csv.DictReader(text)
    try:
        if not reader.fieldnames:
            return
        if len(set(reader.fieldnames)) != len(reader.fieldnames):
            raise InputError(f"{name}: the header names a column twice.", line=1)
        for row in reader:
            if None in row:
                raise InputError(
                    f"{name}: line {reader.line_num} has more values than the header has columns.",
                    line=reader.line_num,
                )
            yield {key: ("" if value is None else value) for key, value in row.items()}
    except csv.Error as error:
        raise InputError(
            f"{name}: line {reader.line_num} is not valid CSV ({error}).", line=reader.line_num
        ) from None
    except UnicodeDecodeError:
        # Text is decoded ahead in blocks: every line up to line_num was UTF-8.
        after = f" (after line {reader.line_num})" if reader.line_num else ""
        raise InputError(f"{name}: is not UTF-8 text{after}.") from None
    except OSError as error:
        raise InputError(f"{name}: cannot be read ({error.strerror or error}).") from None


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
