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


#: values a result holds that are never scrubbed (their type, exactly)
_PLAIN = frozenset({int, float, bool, type(None)})
#: and that are never mappings
_NOT_MAPPING = _PLAIN | {str, list}


def _is_mapping(value: Any) -> bool:
    kind = type(value)
    return kind is dict or (kind not in _NOT_MAPPING and isinstance(value, Mapping))


class _ResultMasker:
    """Masks one result: a few hundred strings and a few dozen PII values, so the walk
    dispatches on exact types first, masks each PII value once, and scrubs each distinct
    string once."""

    def __init__(self, fields: frozenset[str]):
        self.fields = fields
        self.replacements: list[tuple[str, str]] = []
        self._masks: dict[tuple[str, str], Any] = {}
        self._texts: dict[str, str] = {}

    def mask(self, field: str, value: Any) -> Any:
        """`mask_value(field, value)`, once per text value."""
        if type(value) is not str:
            return mask_value(field, value)
        key = (field, value)
        masked = self._masks.get(key)
        if masked is None:
            masked = self._masks[key] = mask_value(field, value)
        return masked

    def collect(self, record: Mapping[str, Any], out: dict[str, str]) -> None:
        """The PII values of `record` (nested objects too), with and without surrounding
        blanks, each with its masked form."""
        for key, value in record.items():
            if _is_mapping(value):
                self.collect(value, out)
            elif key.lower() in self.fields and isinstance(value, str):
                masked = self.mask(key, value)  # mask_value strips the value first
                if len(value.strip()) >= MIN_QUOTED_LENGTH:
                    out[value.strip()] = masked
                if len(value) >= MIN_QUOTED_LENGTH:
                    out[value] = masked

    def text(self, value: str) -> str:
        scrubbed = self._texts.get(value)
        if scrubbed is None:
            scrubbed = value
            for original, masked in self.replacements:
                if original in scrubbed:
                    scrubbed = scrubbed.replace(original, masked)
            self._texts[value] = scrubbed
        return scrubbed

    def scrub(self, value: Any) -> Any:
        """`value` with every known PII value replaced inside its strings (keys kept)."""
        kind = type(value)
        if kind is str:
            return self.text(value)
        if kind is dict:
            return {k: self.scrub(v) for k, v in value.items()}
        if kind is list:
            return [self.scrub(v) for v in value]
        if kind in _PLAIN:
            return value
        if isinstance(value, Mapping):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def record(self, record: Mapping[str, Any], *, scrub: bool) -> dict:
        """`record` with its PII fields masked by name, nested objects too (as the
        engine's `mask_record`), and, when `scrub`, PII values replaced in its strings."""
        out = {}
        for key, value in record.items():
            if key.lower() in self.fields:
                out[key] = self.scrub(self.mask(key, value)) if scrub else self.mask(key, value)
            elif _is_mapping(value):
                out[key] = self.record(value, scrub=scrub)
            else:
                out[key] = self.scrub(value) if scrub else value
        return out

    def details(self, details: Any) -> Any:
        """Rule details: PII fields masked by name, a quoted `value` masked by its `field`,
        PII values masked inside every string."""
        if not _is_mapping(details):
            return self.scrub(details)
        masked = self.record(details, scrub=True)
        if str(details.get("field", "")).lower() in self.fields and "value" in details:
            masked["value"] = self.mask(details["field"], details["value"])
        return masked


def mask_input(record: Mapping[str, Any], fields: Iterable[str]) -> dict:
    return mask_record(record, frozenset(fields))


def mask_result(result: Mapping[str, Any], record: Mapping[str, Any], fields: Iterable[str]) -> dict:
    """A copy of an engine result with PII masked everywhere it could appear: the data,
    the changes, rule details, and any message quoting a PII value. The result's own
    structure (stage names, rule ids, outcomes) is left as it is."""
    masker = _ResultMasker(frozenset(f.lower() for f in fields))
    values: dict[str, str] = {}
    masker.collect(record, values)
    masker.collect(result.get("data") or {}, values)
    for change in result.get("changes") or []:
        if str(change.get("field", "")).lower() in masker.fields:
            for side in ("before", "after"):
                if isinstance(change.get(side), str) and len(change[side]) >= MIN_QUOTED_LENGTH:
                    values[change[side]] = masker.mask(change["field"], change[side])
    masker.replacements = sorted(values.items(), key=lambda kv: -len(kv[0]))  # longest first
    scrub = masker.scrub
    masked = {key: scrub(value) for key, value in result.items() if key not in ("stages", "data", "changes")}
    masked["data"] = masker.record(result.get("data") or {}, scrub=False)
    masked["changes"] = []
    for change in result.get("changes") or []:
        change = scrub(dict(change))
        if str(change.get("field", "")).lower() in masker.fields:
            change["before"] = masker.mask(change["field"], change.get("before"))
            change["after"] = masker.mask(change["field"], change.get("after"))
        masked["changes"].append(change)
    masked["stages"] = []
    for stage in result.get("stages") or []:
        stage_copy = {k: (scrub(v) if k != "rules" else v) for k, v in stage.items()}
        stage_copy["rules"] = [
            {k: (masker.details(v) if k == "details" else scrub(v)) for k, v in rule.items()}
            for rule in stage.get("rules") or []
        ]
        masked["stages"].append(stage_copy)
    return masked
