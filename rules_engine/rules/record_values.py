"""Reading values out of a record and the run context, the same way in every rule."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from rules_engine.rule import Verdict, newest_first


def is_missing(value: Any) -> bool:
    """None, an empty or whitespace-only string, or an empty list/dict counts as missing.

    ``0`` and ``False`` are values, not missing.
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value or value.isspace()
    if isinstance(value, (list, tuple, dict, set)):
        return not value
    return False


def shown(value: Any, limit: int = 60) -> str:
    """A value quoted for a message, shortened when long: ``'12ab'``, ``42``, ``None``."""
    text = repr(value) if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def type_name(value: Any) -> str:
    """A plain-language name of a value's JSON type."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def as_text(value: Any) -> str | None:
    """Text for strings and plain numbers (phone, ZIP, area code may arrive as numbers);
    None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def as_number(value: Any) -> float | None:
    """A finite number from a number or numeric text ("75,000" and "$3,000.50" work); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        cleaned = value.strip().replace(",", "").replace("$", "").replace("_", "")
        try:
            number = float(cleaned)
        except ValueError:
            return None
    else:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number


def run_now(run_context: Mapping[str, Any]) -> datetime:
    """The run's "now": ``run_context["now"]`` (ISO timestamp or datetime) when present,
    else the current time in UTC. A naive timestamp is taken as UTC."""
    now = run_context.get("now") if run_context else None
    if now is None:
        return datetime.now(UTC)
    if isinstance(now, datetime):
        moment = now
    elif isinstance(now, date):
        moment = datetime(now.year, now.month, now.day)
    elif isinstance(now, str):
        try:
            moment = datetime.fromisoformat(now.strip())
        except ValueError:
            raise ValueError(f"run context 'now' {now!r} is not an ISO 8601 timestamp") from None
    else:
        raise ValueError(f"run context 'now' must be an ISO 8601 timestamp, not {type_name(now)}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def network_allowed(run_context: Mapping[str, Any]) -> bool:
    """Whether this run may make network look-ups of its own (``run_context["allow_network"]``)."""
    return bool(run_context.get("allow_network")) if run_context else False


def full_name(data: Mapping[str, Any]) -> str | None:
    """The applicant's name: ``name``, else first/middle/last joined; None when absent."""
    name = data.get("name")
    if isinstance(name, str) and name.strip():
        return " ".join(name.split())
    values = [data.get(key) for key in ("first_name", "middle_name", "last_name")]
    parts = [p.strip() for p in values if isinstance(p, str) and p.strip()]
    return " ".join(parts) if parts else None


def pick(data: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The present fields of ``data`` among ``fields`` (what a rule sends to a service)."""
    get = data.get
    return {key: value for key in fields if (value := get(key)) is not None}


def latest_details(results: Mapping[str, Verdict], keys: Iterable[str]) -> dict[str, Any]:
    """For each of ``keys``, ``details[key]`` of the newest finished rule whose details
    have it (as ``ctx.find_detail`` gives it), looking through ``ctx.results`` once;
    keys no rule gave are absent."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, Any] = {}
    for verdict in newest_first(results):
        details = verdict.details
        if not details:
            continue
        for key in wanted:
            if key in details and key not in found:
                found[key] = details[key]
        if len(found) == len(wanted):
            break
    return found
