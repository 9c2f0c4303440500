"""The audit trail as files: JSON Lines (the API's export) and CSV.

Each line of the JSON Lines export is one event's hashed fields plus its `hash`, as
canonical JSON; the chain is verifiable without the product (see the README's "Verify
an audit export"): an event's hash is "sha256:" + the SHA-256 of the UTF-8 bytes of
json.dumps(the line without "hash", sort_keys=True, separators=(",", ":"),
ensure_ascii=False), and its prev_hash is the hash of the event before it
(GENESIS_HASH before the first).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.core.errors import InvalidInput
from pipelines_admin.core.spreadsheet import csv_cell

FORMATS = ("jsonl", "csv")

#: The columns of the CSV export, in the order of the events' hashed fields.
FIELDS = (
    "sequence",
    "occurred_at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "pipeline",
    "environment",
    "diff",
    "reason",
    "data",
    "prev_hash",
    "hash",
)


def event_json(event: AuditEvent) -> dict:
    """An event as exported: the fields its hash covers, plus the hash, so a tool can
    verify the chain on its own."""
    return {**event.hashed_fields(), "hash": event.hash}


def event_line(event: AuditEvent) -> str:
    """One line of the JSON Lines export, newline included."""
    return json.dumps(event_json(event), ensure_ascii=False, sort_keys=True) + "\n"


def parse_since(text: str) -> datetime:
    """An ISO 8601 date (its start, in the site's time zone) or date and time (without
    an offset: the site's time zone). InvalidInput otherwise."""
    try:
        moment = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not an ISO date or time: write 2026-03-01, 2026-03-01T09:30 or "
            "2026-03-01T09:30:00+01:00.",
            {"fields": {"since": ["an ISO 8601 date or time"]}},
        ) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def audit_export_events(*, since: datetime | None = None) -> QuerySet[AuditEvent]:
    """Events oldest first (chain order), from `since` on when given."""
    events = AuditEvent.objects.order_by("sequence")
    return events.filter(occurred_at__gte=since) if since is not None else events


def audit_jsonl(events: Iterable[AuditEvent]) -> Iterator[str]:
    for event in events:
        yield event_line(event)


def audit_csv(events: Iterable[AuditEvent]) -> Iterator[str]:
    """A header, then one row per event with the JSON Lines export's fields; diff and
    data as JSON text; text that a spreadsheet would take for a formula quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(FIELDS)
    yield flush()
    for event in events:
        row = event_json(event)
        for key in ("diff", "data"):
            row[key] = json.dumps(row[key], ensure_ascii=False, sort_keys=True)
        writer.writerow([csv_cell(row[key]) for key in FIELDS])
        yield flush()
