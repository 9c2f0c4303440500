"""The whole config as text in the editor: shown as YAML or JSON, read back strictly
(no duplicate keys, nothing that is not JSON data, within the document's size limits),
and checked as a whole."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from pipelines_admin.configs.engine import DOCUMENT_MAX_DEPTH, DOCUMENT_MAX_VALUES, document_problems

FORMATS = ("yaml", "json")


class _StrictLoader(yaml.SafeLoader):
    """YAML as data: a key given twice is an error (rather than the last one silently
    winning), and dates stay text (a config holds JSON values only)."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            duplicate = False
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"found the key {key!r} twice",
                key_node.start_mark,
            )
        try:
            seen[key] = key_node
        except TypeError:
            pass
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def document_text(document: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def _not_json(value: Any, path: str = "") -> dict | None:
    """The first place where ``value`` holds something JSON cannot (non-text keys,
    binary, sets, ...), or a document no config is (nested past DOCUMENT_MAX_DEPTH, or
    holding more than DOCUMENT_MAX_VALUES values: YAML aliases count once per use, so a
    1 KB "billion laughs" text is refused instead of walked for hours). Iterative."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    visited = 0
    while stack:
        item, where, depth = stack.pop()
        visited += 1
        if visited > DOCUMENT_MAX_VALUES:
            return {
                "path": "",
                "message": f"The document holds more than {DOCUMENT_MAX_VALUES:,} values (YAML "
                "aliases count each time they are used); a config is never that large.",
            }
        if isinstance(item, (dict, list)) and depth >= DOCUMENT_MAX_DEPTH:
            return {
                "path": where,
                "message": f"This value nests lists and objects more than {DOCUMENT_MAX_DEPTH} "
                "levels deep; a config is never that deep.",
            }
        if isinstance(item, dict):
            children = []
            for key, child in item.items():
                if not isinstance(key, str):
                    return {"path": where, "message": f"The key {key!r} must be text: put it in quotes."}
                if not _is_unicode(key):
                    return {
                        "path": where,
                        "message": "A key here is not valid Unicode text (a lone surrogate).",
                    }
                children.append((child, f"{where}/{key.replace('~', '~0').replace('/', '~1')}", depth + 1))
            stack.extend(reversed(children))  # the first problem in document order is the one reported
        elif isinstance(item, list):
            stack.extend(reversed([(child, f"{where}/{i}", depth + 1) for i, child in enumerate(item)]))
        elif isinstance(item, str):
            if not _is_unicode(item):
                return {
                    "path": where,
                    "message": "This text is not valid Unicode (it holds a lone surrogate).",
                }
        elif item is None or isinstance(item, (bool, int)):
            continue
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return {"path": where, "message": "Numbers must be finite (no .nan or .inf)."}
        else:
            return {
                "path": where,
                "message": f"This value ({type(item).__name__}) is not JSON data: put it in quotes.",
            }
    return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_document(text: str, fmt: str) -> tuple[Any, list[dict]]:
    """The document a text holds, or the reason it cannot be read: a problem with the
    line and column where reading stopped."""
    if fmt == "json":
        try:
            return json.loads(text), []
        except json.JSONDecodeError as exc:
            return None, [
                {
                    "path": "",
                    "line": exc.lineno,
                    "column": exc.colno,
                    "message": f"Not valid JSON: {exc.msg}.",
                }
            ]
        except RecursionError:
            return None, [{"path": "", "message": "Not valid JSON: it is nested too deeply."}]
        except ValueError:  # Python refuses integers of more than 4,300 digits
            return None, [{"path": "", "message": "Not valid JSON: it holds a number with too many digits."}]
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        return None, [{"path": "", "message": "Not valid YAML: it is nested too deeply."}]
    except ValueError as exc:  # e.g. Python refuses integers of more than 4,300 digits
        reason = "it holds a number with too many digits" if "digits" in str(exc) else str(exc).rstrip(".")
        return None, [{"path": "", "message": f"Not valid YAML: {reason}."}]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        reason = " ".join(
            str(part) for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part
        ) or str(exc)
        problem = {"path": "", "message": f"Not valid YAML: {reason}."}
        if mark is not None:
            problem.update(line=mark.line + 1, column=mark.column + 1)
        return None, [problem]
    found = _not_json(document)
    if found:
        return None, [found]
    return document, []


@dataclass
class RawCheck:
    document: Any
    problems: list[dict]
    readable: bool

    @property
    def valid(self) -> bool:
        return self.readable and not self.problems


def check_text(text: str, fmt: str) -> RawCheck:
    """Read the text and validate the document it holds, listing every problem."""
    document, problems = parse_document(text, fmt)
    if problems:
        return RawCheck(None, problems, readable=False)
    return RawCheck(document, document_problems(document), readable=True)
