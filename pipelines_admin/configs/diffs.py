"""Differences between two pipeline configs: semantic (what a rules person changed)
and textual (a unified diff of the pretty-printed JSON)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from typing import Any

RULE_STRUCTURE_KEYS = {"class", "params", "dependencies", "cross_stage_dependencies"}


MISSING = object()


def _fmt(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _change_text(path: str, before: Any, after: Any) -> str:
    """ "minimum_score 650 → 700", "timeout_seconds set to 5", "when removed (was "x")"."""
    if before is MISSING:
        return f"{path} set to {_fmt(after)}"
    if after is MISSING:
        return f"{path} removed (was {_fmt(before)})"
    return f"{path} {_fmt(before)} → {_fmt(after)}"


def _plain(value: Any) -> Any:
    return None if value is MISSING else value


def _leaf_changes(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, before, after) for each changed leaf; a missing side is MISSING."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for key in list(before) + [k for k in after if k not in before]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in after:
                changes.append((sub, before[key], MISSING))
            elif key not in before:
                changes.append((sub, MISSING, after[key]))
            elif before[key] != after[key]:
                changes.extend(_leaf_changes(before[key], after[key], sub))
        return changes
    return [(path, before, after)] if before != after else []


def _stages(doc: dict) -> dict:
    stages = doc.get("stages") if isinstance(doc, dict) else None
    return stages if isinstance(stages, dict) else {}


def _rules(stage: Any) -> dict:
    rules = stage.get("rules") if isinstance(stage, dict) else None
    return rules if isinstance(rules, dict) else {}


def semantic_diff(before: dict, after: dict) -> list[dict]:
    """Each change as {"kind", "summary", ...}: stages and rules added or removed,
    rules moved between stages, params, dependencies, class and settings changed,
    stage settings and execution settings changed, stage order changed."""
    old_stages, new_stages = _stages(before), _stages(after)
    return [
        *_stages_added(old_stages, new_stages),
        *_stages_removed(old_stages, new_stages),
        *_stage_order_changed(old_stages, new_stages),
        *_stage_settings_changed(old_stages, new_stages),
        *_rules_added_or_moved(old_stages, new_stages),
        *_rules_removed(old_stages, new_stages),
        *_rules_changed(old_stages, new_stages),
        *_execution_settings_changed(before, after),
        *_document_settings_changed(before, after),
    ]


def _rule_stages(stages: dict) -> dict[str, str]:
    """Rule id -> the stage holding it (the last, for an id used twice)."""
    return {rid: s for s, st in stages.items() for rid in _rules(st)}


def _stages_added(old_stages: dict, new_stages: dict) -> Iterator[dict]:
    for name in new_stages:
        if name not in old_stages:
            yield {"kind": "stage_added", "stage": name, "summary": f"Stage {name} added."}


def _stages_removed(old_stages: dict, new_stages: dict) -> Iterator[dict]:
    for name in old_stages:
        if name not in new_stages:
            yield {"kind": "stage_removed", "stage": name, "summary": f"Stage {name} removed."}


def _stage_order_changed(old_stages: dict, new_stages: dict) -> Iterator[dict]:
    kept = [s for s in new_stages if s in old_stages]
    if [s for s in old_stages if s in new_stages] != kept:
        yield {"kind": "stage_order_changed", "summary": f"Stages reordered: {' → '.join(kept)}."}


def _stage_settings_changed(old_stages: dict, new_stages: dict) -> Iterator[dict]:
    for name in (s for s in old_stages if s in new_stages):
        old_settings = {k: v for k, v in old_stages[name].items() if k != "rules"}
        new_settings = {k: v for k, v in new_stages[name].items() if k != "rules"}
        for path, b, a in _leaf_changes(old_settings, new_settings):
            yield {
                "kind": "stage_setting_changed",
                "stage": name,
                "setting": path,
                "before": _plain(b),
                "after": _plain(a),
                "summary": f"Stage {name}: {_change_text(path, b, a)}.",
            }


def _rules_added_or_moved(old_stages: dict, new_stages: dict) -> Iterator[dict]:
    old_rule_stage = _rule_stages(old_stages)
    for rid, stage in _rule_stages(new_stages).items():
        if rid not in old_rule_stage:
            rule = _rules(new_stages[stage])[rid]
            cls = rule.get("class") if isinstance(rule, dict) else None
            yield {
                "kind": "rule_added",
                "stage": stage,
                "rule": rid,
                "class": cls,
                "summary": f"Rule {rid} ({cls}) added to {stage}.",
            }
        elif old_rule_stage[rid] != stage:
            yield {
                "kind": "rule_moved",
                "rule": rid,
                "from": old_rule_stage[rid],
                "to": stage,
                "summary": f"Rule {rid} moved from {old_rule_stage[rid]} to {stage}.",
            }


def _rules_removed(old_stages: dict, new_stages: dict) -> Iterator[dict]:
    new_rule_stage = _rule_stages(new_stages)
    for rid, stage in _rule_stages(old_stages).items():
        if rid not in new_rule_stage:
            yield {
                "kind": "rule_removed",
                "stage": stage,
                "rule": rid,
                "summary": f"Rule {rid} removed from {stage}.",
            }


def _rules_changed(old_stages: dict, new_stages: dict) -> Iterator[dict]:
    """What changed inside each rule both configs hold (where it is now)."""
    old_rule_stage = _rule_stages(old_stages)
    for rid, stage in _rule_stages(new_stages).items():
        if rid not in old_rule_stage:
            continue
        old_rule = _rules(old_stages[old_rule_stage[rid]])[rid]
        new_rule = _rules(new_stages[stage])[rid]
        if not isinstance(old_rule, dict) or not isinstance(new_rule, dict) or old_rule == new_rule:
            continue
        yield from _rule_class_changed(stage, rid, old_rule, new_rule)
        yield from _params_changed(stage, rid, old_rule, new_rule)
        yield from _dependencies_changed(stage, rid, old_rule, new_rule)
        yield from _rule_settings_changed(stage, rid, old_rule, new_rule)


def _execution_settings_changed(before: dict, after: dict) -> Iterator[dict]:
    old_exec = before.get("execution_settings", {}) if isinstance(before, dict) else {}
    new_exec = after.get("execution_settings", {}) if isinstance(after, dict) else {}
    for path, b, a in _leaf_changes(old_exec or {}, new_exec or {}):
        yield {
            "kind": "execution_setting_changed",
            "setting": path,
            "before": _plain(b),
            "after": _plain(a),
            "summary": f"Execution setting {_change_text(path, b, a)}.",
        }


def _document_settings_changed(before: dict, after: dict) -> Iterator[dict]:
    for key in sorted(set(before or {}) | set(after or {})):
        b, a = (before or {}).get(key, MISSING), (after or {}).get(key, MISSING)
        if key not in ("stages", "execution_settings") and b != a:
            yield {
                "kind": "document_setting_changed",
                "setting": key,
                "before": _plain(b),
                "after": _plain(a),
                "summary": f"{_change_text(key, b, a)}.",
            }


def _rule_class_changed(stage: str, rid: str, old: dict, new: dict) -> Iterator[dict]:
    if old.get("class") != new.get("class"):
        yield {
            "kind": "rule_class_changed",
            "stage": stage,
            "rule": rid,
            "before": old.get("class"),
            "after": new.get("class"),
            "summary": f"Rule {rid}: class {old.get('class')} → {new.get('class')}.",
        }


def _params_changed(stage: str, rid: str, old: dict, new: dict) -> Iterator[dict]:
    for path, b, a in _leaf_changes(old.get("params") or {}, new.get("params") or {}):
        yield {
            "kind": "param_changed",
            "stage": stage,
            "rule": rid,
            "param": path,
            "before": _plain(b),
            "after": _plain(a),
            "summary": f"Rule {rid}: {_change_text(path, b, a)}.",
        }


def _dependencies_changed(stage: str, rid: str, old: dict, new: dict) -> Iterator[dict]:
    for key in ("dependencies", "cross_stage_dependencies"):
        b, a = old.get(key) or [], new.get(key) or []
        if b == a:
            continue
        added = [d for d in a if d not in b]
        removed = [d for d in b if d not in a]
        label = "depends on" if key == "dependencies" else "depends across stages on"
        parts = ([f"now {label} {', '.join(added)}"] if added else []) + (
            [f"no longer {label} {', '.join(removed)}"] if removed else []
        )
        yield {
            "kind": "dependencies_changed",
            "stage": stage,
            "rule": rid,
            "field": key,
            "added": added,
            "removed": removed,
            "summary": f"Rule {rid}: {'; '.join(parts) or 'dependency order changed'}.",
        }


def _rule_settings_changed(stage: str, rid: str, old: dict, new: dict) -> Iterator[dict]:
    old_settings = {k: v for k, v in old.items() if k not in RULE_STRUCTURE_KEYS}
    new_settings = {k: v for k, v in new.items() if k not in RULE_STRUCTURE_KEYS}
    for path, b, a in _leaf_changes(old_settings, new_settings):
        yield {
            "kind": "rule_setting_changed",
            "stage": stage,
            "rule": rid,
            "setting": path,
            "before": _plain(b),
            "after": _plain(a),
            "summary": f"Rule {rid}: {_change_text(path, b, a)}.",
        }


def text_diff(before: dict, after: dict, before_label: str = "before", after_label: str = "after") -> str:
    """A unified diff of the two documents pretty-printed in their own key order."""
    a = json.dumps(before, indent=2, ensure_ascii=False).splitlines(keepends=True)
    b = json.dumps(after, indent=2, ensure_ascii=False).splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, fromfile=before_label, tofile=after_label))
