"""Batch results as CSV or JSON Lines, streamed, masked.

CSV columns: line, run_id, status, failed_rules, checks_not_run, duration_ms, error,
input, then the decision's reason_codes, customer_messages and next_steps (several in
one cell are joined by " | "). JSON Lines: line, run_id, status, input, result, error
and decision (the result's decision block, null for runs recorded before decisions were).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from pipelines_admin.core.spreadsheet import csv_cell
from pipelines_admin.runs.batches import batch_results
from pipelines_admin.runs.decisions import decision_json, decision_of
from pipelines_admin.runs.models import Batch

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}

CSV_COLUMNS = (
    "line",
    "run_id",
    "status",
    "failed_rules",
    "checks_not_run",
    "duration_ms",
    "error",
    "input",
    "reason_codes",
    "customer_messages",
    "next_steps",
)
#: how several reason codes, messages or next steps share one CSV cell
JOIN = " | "


def failed_rules(result: dict | None) -> list[str]:
    return [
        r["id"]
        for s in (result or {}).get("stages", [])
        for r in s.get("rules", [])
        if r.get("outcome") in ("fail", "error", "timeout")
    ]


def checks_not_run(result: dict | None) -> list[str]:
    """What an undecided run did not check: rule ids, or stage names for whole stages."""
    return [entry.get("rule") or entry.get("stage", "") for entry in (result or {}).get("undecided", [])]


def decision_cells(result: dict | None) -> list[str]:
    """The reason_codes, customer_messages and next_steps cells of a run's row (empty
    when its result records no decision)."""
    decision = decision_of(result)
    if decision is None:
        return ["", "", ""]
    return [
        JOIN.join(decision.reason_codes),
        JOIN.join(decision.customer_messages),
        JOIN.join(decision.next_steps),
    ]


def _csv_rows(batch: Batch) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def row(values: list) -> None:
        writer.writerow([csv_cell(v) for v in values])

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for run in batch_results(batch):
        row(
            [
                run.line_number,
                run.pk,
                run.status,
                " ".join(failed_rules(run.result)),
                " ".join(checks_not_run(run.result)),
                f"{run.duration_ms:.3f}" if run.duration_ms is not None else "",
                run.error_message,
                json.dumps(run.input_masked, ensure_ascii=False, sort_keys=True),
                *decision_cells(run.result),
            ]
        )
        yield flush()
    for rejected in batch.rejected_rows:
        row([rejected["line"], "", "rejected", "", "", "", rejected["reason"], "", "", "", ""])
        yield flush()


def _jsonl_rows(batch: Batch) -> Iterator[str]:
    for run in batch_results(batch):
        yield (
            json.dumps(
                {
                    "line": run.line_number,
                    "run_id": str(run.pk),
                    "status": run.status,
                    "input": run.input_masked,
                    "result": run.result,
                    "error": run.error_message or None,
                    "decision": decision_json(run.result),
                },
                ensure_ascii=False,
            )
            + "\n"
        )
    for row in batch.rejected_rows:
        yield json.dumps({"line": row["line"], "status": "rejected", "error": row["reason"]}) + "\n"


def batch_results_stream(batch: Batch, fmt: str) -> tuple[Iterator[str], str]:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt}")
    return (_csv_rows(batch) if fmt == "csv" else _jsonl_rows(batch)), FORMATS[fmt]
