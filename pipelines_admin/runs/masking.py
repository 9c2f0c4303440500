"""Masking a run's input and result before they are stored, shown or exported.

Fields named as PII are masked where they appear (the record, the transformed data,
`changes`, rule details); and because rule messages quote values ("email 'x' is
malformed"), every PII value of the input and output is also replaced wherever it
appears inside any other string of the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rules_engine import mask_record, mask_value

MIN_QUOTED_LENGTH = 3


def _pii_values(record: Mapping[str, Any], fields: frozenset[str], out: dict[str, str]) -> None:
    for key, value in record.items():
        if isinstance(value, Mapping):
            _pii_values(value, fields, out)
        elif key.lower() in fields and isinstance(value, str):
            text = value.strip()
            if len(text) >= MIN_QUOTED_LENGTH:
                out[text] = mask_value(key, text)
            if len(value) >= MIN_QUOTED_LENGTH:
                out[value] = mask_value(key, value)


def _scrub(value: Any, replacements: list[tuple[str, str]]) -> Any:
    """`value` with every known PII value replaced inside its strings (keys kept)."""
    if isinstance(value, Mapping):
        return {k: _scrub(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, replacements) for v in value]
    if isinstance(value, str):
        for original, masked in replacements:
            if original in value:
                value = value.replace(original, masked)
    return value


def _mask_details(details: Any, replacements, fields: frozenset[str]) -> Any:
    """Rule details: PII fields masked by name, a quoted `value` masked by its `field`,
    PII values masked inside every string."""
    if not isinstance(details, Mapping):
        return _scrub(details, replacements)
    masked = _scrub(mask_record(details, fields), replacements)
    if str(details.get("field", "")).lower() in fields and "value" in details:
        masked["value"] = mask_value(details["field"], details["value"])
    return masked


def mask_input(record: Mapping[str, Any], fields: Iterable[str]) -> dict:
    return mask_record(record, frozenset(fields))


def mask_result(result: Mapping[str, Any], record: Mapping[str, Any], fields: Iterable[str]) -> dict:
    """A copy of an engine result with PII masked everywhere it could appear: the data,
    the changes, rule details, and any message quoting a PII value. The result's own
    structure (stage names, rule ids, outcomes) is left as it is."""
    fields = frozenset(f.lower() for f in fields)
    values: dict[str, str] = {}
    _pii_values(record, fields, values)
    _pii_values(result.get("data") or {}, fields, values)
    for change in result.get("changes") or []:
        if str(change.get("field", "")).lower() in fields:
            for side in ("before", "after"):
                if isinstance(change.get(side), str) and len(change[side]) >= MIN_QUOTED_LENGTH:
                    values[change[side]] = mask_value(change["field"], change[side])
    replacements = sorted(values.items(), key=lambda kv: -len(kv[0]))  # longest first
    masked = {
        key: _scrub(value, replacements)
        for key, value in result.items()
        if key not in ("stages", "data", "changes")
    }
    masked["data"] = mask_record(result.get("data") or {}, fields)
    masked["changes"] = []
    for change in result.get("changes") or []:
        change = _scrub(dict(change), replacements)
        if str(change.get("field", "")).lower() in fields:
            change["before"] = mask_value(change["field"], change.get("before"))
            change["after"] = mask_value(change["field"], change.get("after"))
        masked["changes"].append(change)
    masked["stages"] = []
    for stage in result.get("stages") or []:
        stage_copy = {k: (_scrub(v, replacements) if k != "rules" else v) for k, v in stage.items()}
        stage_copy["rules"] = [
            {
                k: (_mask_details(v, replacements, fields) if k == "details" else _scrub(v, replacements))
                for k, v in rule.items()
            }
            for rule in stage.get("rules") or []
        ]
        masked["stages"].append(stage_copy)
    return masked
