"""manage.py export_audit: the API's JSON Lines, verifiable without the product, and CSV."""

import csv
import hashlib
import io
import json
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.configs import services as config_services

pytestmark = pytest.mark.django_db

ZERO_HASH = "sha256:" + "0" * 64


def run(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("export_audit", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def verify_outside(lines: list[str]) -> list[str]:
    """The README's recipe, written again here from the documented rule and not the
    product's code: each line's hash is sha256 of its canonical JSON without "hash";
    each prev_hash is the hash of the line before (the first continues the chain)."""
    problems, previous, sequence = [], None, None
    for line in lines:
        event = json.loads(line)
        body = {key: value for key, value in event.items() if key != "hash"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if event["hash"] != "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest():
            problems.append(f"{event['sequence']}: content does not match its hash")
        if previous is not None and event["prev_hash"] != previous:
            problems.append(f"{event['sequence']}: does not follow the line before")
        if sequence is not None and event["sequence"] != sequence + 1:
            problems.append(f"{event['sequence']}: events missing before it")
        previous, sequence = event["hash"], event["sequence"]
    return problems


@pytest.fixture
def trail(released, editor, small_pipeline_document):
    """A few events, one holding non-ASCII text and one a reason starting like a formula."""
    document = {**small_pipeline_document, "description": "Vérification d’identité — 本人確認"}
    config_services.config_version_create(
        pipeline=released,
        document=document,
        base_version=released.versions.get(),
        author=editor,
        message='=HYPERLINK("http://example.com")',
    )
    return AuditEvent.objects.order_by("sequence")


def test_export_audit__jsonl__exactly_the_api_export(trail, client, viewer):
    # Given the trail, and the API's export of it
    client.force_login(viewer)
    response = client.get("/api/v1/audit/export.jsonl")
    api = b"".join(response.streaming_content).decode("utf-8")
    # When exported from the command line / Then byte for byte the same lines
    code, out, _ = run()
    assert code == 0 and out == api and out.count("\n") == trail.count()


def test_export_audit__output_file__verified_by_an_independent_hash(trail, tmp_path):
    # Given the whole trail written to a file
    path = tmp_path / "audit.jsonl"
    code, out, _ = run("--output", str(path))
    assert code == 0 and f"{trail.count()} audit events written to {path}" in out
    lines = path.read_text(encoding="utf-8").splitlines()
    # When checked with a re-implementation of the hash / Then the chain holds from the genesis hash
    assert json.loads(lines[0])["prev_hash"] == ZERO_HASH
    assert [json.loads(line)["sequence"] for line in lines] == list(range(1, trail.count() + 1))
    assert verify_outside(lines) == []
    # and an edited line is found out
    edited = json.loads(lines[1])
    edited["reason"] = "nothing to see"
    assert verify_outside([lines[0], json.dumps(edited, ensure_ascii=False), *lines[2:]]) == [
        "2: content does not match its hash"
    ]


def test_export_audit__since__later_events_only_chain_continues(trail):
    # Given the trail, and the time of its third event
    events = list(trail)
    since = events[2].occurred_at.isoformat()
    # When exported since then
    code, out, _ = run("--since", since)
    lines = out.splitlines()
    # Then only the third event on, the first continuing from the hash of the one before
    assert code == 0 and [json.loads(line)["sequence"] for line in lines] == [e.sequence for e in events[2:]]
    assert json.loads(lines[0])["prev_hash"] == events[1].hash
    assert verify_outside(lines) == []


@pytest.mark.parametrize(
    "since", ["2026-03-01", "2026-03-01T09:30", "2026-03-01T09:30:00+01:00", "2026-03-01T08:30:00Z"]
)
def test_export_audit__iso_since__accepted(trail, since):
    code, out, _ = run("--since", since)
    assert code == 0 and out.count("\n") == trail.count()


def test_export_audit__since_in_the_future__no_events(trail):
    code, out, _ = run("--since", (timezone.now() + timedelta(days=1)).date().isoformat())
    assert code == 0 and out == ""


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "01/03/2026", ""])
def test_export_audit__bad_since__exit_2(db, since):
    code, out, err = run("--since", since)
    assert code == 2 and "is not an ISO date or time" in err and out == ""


def test_export_audit__csv__one_row_per_event_same_fields_formulas_quoted(trail):
    # Given the trail / When exported as CSV
    code, out, _ = run("--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    # Then a row per event with the JSON Lines fields, nested data as JSON text
    assert code == 0 and len(rows) == trail.count()
    assert list(rows[0]) == [
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
    ]
    last = trail.last()
    row = rows[-1]
    assert (row["sequence"], row["hash"], row["prev_hash"]) == (str(last.sequence), last.hash, last.prev_hash)
    assert json.loads(row["data"]) == last.data and json.loads(row["diff"]) == last.diff
    assert "本人確認" in row["diff"]
    # and the reason a spreadsheet would run as a formula stays text
    assert row["reason"] == '\'=HYPERLINK("http://example.com")'


def test_export_audit__unwritable_output__exit_2(trail, tmp_path):
    code, _, err = run("--output", str(tmp_path / "absent" / "audit.jsonl"))
    assert code == 2 and "Cannot write" in err


def readme_recipe() -> str:
    """The Python snippet of the README's "Verify an audit export"."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Verify an audit export") :]
    return section[section.index("```python\n") + len("```python\n") : section.index("\n```\n")]


def test_export_audit__readme_recipe__passes_an_export_fails_an_edited_one(trail, tmp_path):
    # Given an export, an edited copy of it, and the README's recipe as a script
    path, edited = tmp_path / "audit.jsonl", tmp_path / "edited.jsonl"
    run("--output", str(path))
    edited.write_text(
        path.read_text(encoding="utf-8").replace('"pipeline.created"', '"pipeline.renamed"'), encoding="utf-8"
    )
    script = tmp_path / "verify.py"
    script.write_text(readme_recipe(), encoding="utf-8")
    # When it runs on each, outside the product / Then it passes the export and catches the edit
    good = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True)
    bad = subprocess.run([sys.executable, str(script), str(edited)], capture_output=True, text=True)
    assert good.returncode == 0 and "chain intact up to sha256:" in good.stdout
    assert bad.returncode != 0 and "AssertionError" in bad.stderr
