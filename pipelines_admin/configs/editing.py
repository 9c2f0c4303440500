"""Changing one part of a pipeline document: pure functions that return a changed
copy and never touch their input.

They only reshape the document; whether the result is a valid pipeline is for
``configs.engine.document_problems`` (and the service that saves it) to say. They
raise :class:`DocumentEditError` when the change cannot even be expressed (a stage or
rule that does not exist, a rule id already taken).

Key order is kept: the stages and the rules of a stage run and are shown in document
order, so a changed setting stays where it was and a new one is added at the end.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = [
    "DocumentEditError",
    "RULE_SETTINGS",
    "STAGE_SETTINGS",
    "rule_get",
    "stage_get",
    "rule_ids",
    "set_rule_params",
    "set_rule_settings",
    "add_rule",
    "remove_rule",
    "move_rule",
    "set_stage_settings",
    "merge_changes",
]

#: the keys of a rule besides ``class`` and ``params``
RULE_SETTINGS = (
    "description",
    "enabled",
    "severity",
    "timeout_seconds",
    "when",
    "dependencies",
    "cross_stage_dependencies",
    "retry",
    "on_fail",
    "on_error",
    "on_flag",
    "review",
    "reason_code",
    "customer_message",
    "next_step",
)
#: the keys of a stage besides ``rules``
STAGE_SETTINGS = (
    "description",
    "enabled",
    "fail_fast",
    "parallel_execution",
    "max_parallel_rules",
    "timeout_seconds",
    "when",
    "reason_code",
    "customer_message",
    "next_step",
)


class DocumentEditError(ValueError):
    """The change does not fit the document (unknown stage or rule, id taken, ...)."""


def _stages(document: Mapping[str, Any]) -> dict:
    stages = document.get("stages") if isinstance(document, Mapping) else None
    if not isinstance(stages, dict):
        raise DocumentEditError("The config has no stages.")
    return stages


def stage_get(document: Mapping[str, Any], stage: str) -> dict:
    """The stage named ``stage`` (the document's own object: do not change it)."""
    found = _stages(document).get(stage)
    if not isinstance(found, dict):
        raise DocumentEditError(f"There is no stage {stage!r}.")
    return found


def _rules(stage_doc: Mapping[str, Any]) -> dict:
    rules = stage_doc.get("rules")
    return rules if isinstance(rules, dict) else {}


def rule_get(document: Mapping[str, Any], stage: str, rule: str) -> dict:
    """The rule ``rule`` of ``stage`` (the document's own object: do not change it)."""
    found = _rules(stage_get(document, stage)).get(rule)
    if not isinstance(found, dict):
        raise DocumentEditError(f"Stage {stage!r} has no rule {rule!r}.")
    return found


def rule_ids(document: Mapping[str, Any]) -> dict[str, str]:
    """Every rule id of the document with the stage holding it, in document order."""
    try:
        stages = _stages(document)
    except DocumentEditError:
        return {}
    return {rid: name for name, st in stages.items() if isinstance(st, dict) for rid in _rules(st)}


def _replace_keys(current: Mapping[str, Any], values: Mapping[str, Any], allowed: tuple[str, ...]) -> dict:
    """``current`` with every key of ``allowed`` replaced by ``values`` (a key missing
    from ``values`` is removed); other keys stay, in their places."""
    unknown = set(values) - set(allowed)
    if unknown:
        raise DocumentEditError(f"Not a setting that can be set here: {', '.join(sorted(unknown))}.")
    result: dict[str, Any] = {}
    for key, value in current.items():
        if key in allowed:
            if key in values:
                result[key] = copy.deepcopy(values[key])
        else:
            result[key] = copy.deepcopy(value)
    for key in allowed:
        if key in values and key not in result:
            result[key] = copy.deepcopy(values[key])
    return result


def set_rule_params(document: Mapping[str, Any], stage: str, rule: str, params: Mapping[str, Any]) -> dict:
    """The document with the rule's ``params`` replaced by ``params``."""
    rule_get(document, stage, rule)
    changed = copy.deepcopy(dict(document))
    target = changed["stages"][stage]["rules"][rule]
    if "params" in target:
        target["params"] = copy.deepcopy(dict(params))
    else:
        changed["stages"][stage]["rules"][rule] = _insert_after(
            target, "class", "params", copy.deepcopy(dict(params))
        )
    return changed


def _insert_after(mapping: Mapping[str, Any], after: str, key: str, value: Any) -> dict:
    result: dict[str, Any] = {}
    for k, v in mapping.items():
        result[k] = v
        if k == after:
            result[key] = value
    if key not in result:
        result[key] = value
    return result


def set_rule_settings(
    document: Mapping[str, Any], stage: str, rule: str, settings: Mapping[str, Any]
) -> dict:
    """The document with the rule's settings (every key of :data:`RULE_SETTINGS`)
    replaced by ``settings``: a setting missing from ``settings`` is removed."""
    current = rule_get(document, stage, rule)
    changed = copy.deepcopy(dict(document))
    changed["stages"][stage]["rules"][rule] = _replace_keys(current, settings, RULE_SETTINGS)
    return changed


def add_rule(
    document: Mapping[str, Any],
    stage: str,
    rule_id: str,
    rule: Mapping[str, Any],
    position: int | None = None,
) -> dict:
    """The document with ``rule`` added to ``stage`` as ``rule_id``, at ``position``
    among the stage's rules (at the end when None). Rule ids are unique across the
    pipeline (cross-stage dependencies name them)."""
    stage_get(document, stage)
    if not rule_id:
        raise DocumentEditError("A rule needs an id.")
    taken = rule_ids(document)
    if rule_id in taken:
        raise DocumentEditError(f"There is already a rule {rule_id!r} (in stage {taken[rule_id]!r}).")
    changed = copy.deepcopy(dict(document))
    stage_doc = changed["stages"][stage]
    items = list(_rules(stage_doc).items())
    index = len(items) if position is None else max(0, min(position, len(items)))
    items.insert(index, (rule_id, copy.deepcopy(dict(rule))))
    stage_doc["rules"] = dict(items)
    return changed


def remove_rule(document: Mapping[str, Any], stage: str, rule: str) -> dict:
    """The document without the rule. Rules that depend on it are left as they are:
    validation reports them."""
    rule_get(document, stage, rule)
    changed = copy.deepcopy(dict(document))
    del changed["stages"][stage]["rules"][rule]
    return changed


def move_rule(document: Mapping[str, Any], stage: str, rule: str, offset: int) -> dict:
    """The document with the rule moved ``offset`` places within its stage (negative:
    earlier); moves past either end stop there."""
    rule_get(document, stage, rule)
    changed = copy.deepcopy(dict(document))
    stage_doc = changed["stages"][stage]
    items = list(stage_doc["rules"].items())
    index = [rid for rid, _ in items].index(rule)
    item = items.pop(index)
    items.insert(max(0, min(index + offset, len(items))), item)
    stage_doc["rules"] = dict(items)
    return changed


def set_stage_settings(document: Mapping[str, Any], stage: str, settings: Mapping[str, Any]) -> dict:
    """The document with the stage's settings (every key of :data:`STAGE_SETTINGS`)
    replaced by ``settings``: a setting missing from ``settings`` is removed."""
    current = stage_get(document, stage)
    changed = copy.deepcopy(dict(document))
    changed["stages"][stage] = _replace_keys(current, settings, STAGE_SETTINGS)
    return changed


_ABSENT = object()


def merge_changes(base: Mapping[str, Any], mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict:
    """A three-way merge of objects: ``mine`` and ``theirs`` both started from ``base``.

    Each key takes the side that changed it; a key both sides changed differently takes
    ``mine`` (the person merging sees what the other changed and decides). Objects
    changed on both sides are merged key by key. A key removed by one side and left
    alone by the other is removed. Keys keep ``theirs``' order, with ``mine``'s new keys
    after them."""
    result: dict[str, Any] = {}
    for key in list(theirs) + [k for k in mine if k not in theirs]:
        b, m, t = base.get(key, _ABSENT), mine.get(key, _ABSENT), theirs.get(key, _ABSENT)
        if m == b:
            chosen = t
        elif t == b or t == m:
            chosen = m
        elif isinstance(b, Mapping) and isinstance(m, Mapping) and isinstance(t, Mapping):
            chosen = merge_changes(b, m, t)
        else:
            chosen = m
        if chosen is not _ABSENT:
            result[key] = copy.deepcopy(chosen)
    return result
