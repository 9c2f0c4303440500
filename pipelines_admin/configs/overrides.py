"""Environment overrides: RFC 7396 JSON Merge Patches over a released version.

A null in the patch removes a key, objects merge, everything else (arrays included)
replaces. The effective config is merge(version, override); `provenance` tells, for
every value of it, whether it came from the version or from the override.
"""

from __future__ import annotations

import copy
from typing import Any

import json_merge_patch

from rules_engine import escape_token


def apply_override(document: dict, override: dict | None) -> dict:
    """The effective config: the document with the override merged in (inputs untouched)."""
    if not override:
        return copy.deepcopy(document)
    return json_merge_patch.merge(copy.deepcopy(document), copy.deepcopy(override))


def override_between(document: dict, effective: dict) -> dict:
    """The smallest merge patch that turns `document` into `effective`."""
    return json_merge_patch.create_patch(document, effective) or {}


def provenance(document: dict, override: dict | None) -> dict[str, str]:
    """JSON pointer of every leaf of the effective config -> "override" (the override
    set it, or it exists only because of the override) or "base"; plus the pointers the
    override removed -> "removed"."""
    result: dict[str, str] = {}
    _missing = object()

    def walk(value: Any, base: Any, patch: Any, pointer: str, overridden: bool) -> None:
        if isinstance(value, dict) and value:
            for key, child in value.items():
                child_patch = patch.get(key) if isinstance(patch, dict) else None
                child_base = base.get(key, _missing) if isinstance(base, dict) else _missing
                # the override set this value, or replaced a non-object with an object
                replaced = (
                    isinstance(patch, dict)
                    and key in patch
                    and (not isinstance(child_patch, dict) or not isinstance(child_base, dict))
                )
                walk(
                    child,
                    child_base,
                    child_patch,
                    f"{pointer}/{escape_token(key)}",
                    overridden or replaced,
                )
            if isinstance(patch, dict):
                for key, child_patch in patch.items():
                    if child_patch is None and key not in value and isinstance(base, dict) and key in base:
                        result[f"{pointer}/{escape_token(key)}"] = "removed"
            return
        result[pointer] = "override" if overridden or base is _missing else "base"

    walk(apply_override(document, override), document, override or {}, "", False)
    return result


def set_at(document: dict, path: list[str], value: Any) -> dict:
    """A copy of `document` with the value at `path` (keys) set, creating objects on the way."""
    result = copy.deepcopy(document)
    node = result
    for key in path[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise KeyError("/".join(path))
    node[path[-1]] = value
    return result
