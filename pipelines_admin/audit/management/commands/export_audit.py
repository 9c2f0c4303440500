from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pipelines_admin.audit.exports import FORMATS, audit_csv, audit_export_events, audit_jsonl, parse_since
from pipelines_admin.core.commands import EXIT_INVALID, command_error
from pipelines_admin.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Write the audit trail, oldest first: JSON Lines exactly as the API's export (each event with "
        "sequence, prev_hash and hash, verifiable without the product; see the README) or CSV (the same fields, "
        "diff and data as JSON text). Exit 0: written; 2: a bad --since or an output that cannot be written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=FORMATS, default="jsonl", help="jsonl (default) or csv")
        parser.add_argument(
            "--since",
            help="only events at or after this ISO date or time (2026-03-01, "
            "2026-03-01T09:30, 2026-03-01T09:30:00+01:00; no offset: the site's "
            "time zone)",
        )
        parser.add_argument("--output", type=Path, help="write to this file instead of printing")

    def handle(self, *args, **options):
        try:
            since = parse_since(options["since"]) if options["since"] is not None else None
        except ServiceError as exc:
            raise command_error(exc) from None
        events = audit_export_events(since=since).iterator(chunk_size=1000)
        chunks = audit_csv(events) if options["format"] == "csv" else audit_jsonl(events)
        output: Path | None = options["output"]
        if output is None:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        count = 0
        try:
            with output.open("w", encoding="utf-8", newline="") as file:
                for chunk in chunks:
                    file.write(chunk)
                    count += 1
        except OSError as exc:
            raise CommandError(
                f"Cannot write {output}: {exc.strerror or exc}.", returncode=EXIT_INVALID
            ) from None
        events_written = count - 1 if options["format"] == "csv" else count
        self.stdout.write(
            f"{events_written} audit event{'s' if events_written != 1 else ''} written to {output}"
        )
