"""Reading uploaded batch files: CSV with a header row, or JSON Lines (one object per line).

Rows that cannot be read are reported with their line numbers and a reason that
quotes no content (it may be personal data); every good row is kept.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field

from pipelines_admin.core.json_data import unstorable

MAX_REJECTED_LISTED = 1000


@dataclass
class ParsedFile:
    records: list[tuple[int, dict]] = field(default_factory=list)  # (line number, record)
    rejected: list[dict] = field(default_factory=list)  # {"line": n, "reason": "..."}
    rejected_count: int = 0

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTED_LISTED:
            self.rejected.append({"line": line, "reason": reason})


class UnreadableFile(ValueError):
    """The file as a whole cannot be read (wrong type, no header, ...)."""


def file_format(filename: str) -> str:
    name = filename.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    raise UnreadableFile(
        "Upload a .csv file (with a header row) or a .jsonl file (one JSON object per line)."
    )


def _decoded_lines(data: bytes, parsed: ParsedFile) -> list[tuple[int, str]]:
    """Lines decoded as UTF-8 (a byte-order mark is allowed); undecodable lines are rejected."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            parsed.reject(number, f"not UTF-8 text (byte {exc.start + 1} cannot be decoded)")
            continue
        if "\x00" in text:
            parsed.reject(number, "contains a NUL character")
            continue
        lines.append((number, text))
    return lines


def parse_jsonl(data: bytes) -> ParsedFile:
    parsed = ParsedFile()
    for number, text in _decoded_lines(data, parsed):
        if not text.strip():
            continue
        try:
            record = json.loads(text, parse_constant=lambda name: float("nan"))
        except json.JSONDecodeError as exc:
            parsed.reject(number, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except RecursionError:
            parsed.reject(number, "nested too deeply")
            continue
        except ValueError:  # Python refuses integers of more than 4,300 digits
            parsed.reject(number, "holds a number with too many digits")
            continue
        if not isinstance(record, dict):
            parsed.reject(number, f"expected a JSON object, found {type(record).__name__}")
        elif problem := unstorable(record):
            parsed.reject(number, f"cannot be stored: {problem}")
        else:
            parsed.records.append((number, record))
    return parsed


def parse_csv(data: bytes) -> ParsedFile:
    parsed = ParsedFile()
    lines = _decoded_lines(data, parsed)
    numbers = [number for number, _ in lines]
    reader = csv.reader((text + "\n" for _, text in lines), strict=True)
    header: list[str] | None = None
    consumed = 0  # lines the reader had consumed before the current row
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.reject(numbers[consumed], f"not valid CSV ({exc})")
            consumed = reader.line_num
            continue
        start, consumed = numbers[consumed], reader.line_num
        if not any(value.strip() for value in row):
            continue
        if header is None:
            header = [h.strip() for h in row]
            if "" in header or len(set(header)) != len(header):
                raise UnreadableFile(f"Line {start}: the header row must name every column once.")
            continue
        if len(row) != len(header):
            parsed.reject(
                start,
                f"has {len(row)} value{'s' if len(row) != 1 else ''}; the header has {len(header)} columns",
            )
            continue
        parsed.records.append((start, {k: v for k, v in zip(header, row, strict=True) if v != ""}))
    if header is None:
        raise UnreadableFile("The CSV file is empty: it needs a header row naming the fields.")
    return parsed


def parse_batch_file(filename: str, data: bytes) -> ParsedFile:
    fmt = file_format(filename)
    parsed = parse_csv(data) if fmt == "csv" else parse_jsonl(data)
    parsed.rejected.sort(key=lambda r: r["line"])
    return parsed
