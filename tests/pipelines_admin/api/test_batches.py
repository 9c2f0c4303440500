"""Batches: upload (202, 413 over the limit), progress, results as CSV and JSONL, cancel."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pipelines_admin.runs.batches import batch_chunk_process
from pipelines_admin.runs.models import Batch
from tests.pipelines_admin.api.conftest import assert_error

pytestmark = pytest.mark.django_db

GOOD = {"name": "Maria Garcia", "email": "maria.garcia@example.com", "date_of_birth": "1990-04-12"}
LINES = [GOOD, {"name": "No Email"}, GOOD]


def upload(client, content: bytes, filename="apps.jsonl", **fields):
    data = {
        "pipeline": "onboarding",
        "environment": "development",
        "file": SimpleUploadedFile(filename, content),
        **fields,
    }
    return client.post("/api/v1/batches/", data, format="multipart")


def jsonl(records) -> bytes:
    return "\n".join(json.dumps(r) for r in records).encode()


def test_batch_upload__jsonl__202_with_location_and_progress(token_client, editor, released):
    # Given an editor and a file of three applications plus an unreadable line
    content = jsonl(LINES) + b"\n{broken"
    # When uploaded
    response = upload(token_client(editor), content)
    # Then 202 with the queued batch, its progress and where its results will be
    assert response.status_code == 202
    body = response.json()
    assert response["Location"] == body["url"]
    assert (body["status"], body["total"], body["processed"], body["source"]) == ("queued", 3, 0, "api")
    assert body["rejected_rows"][0]["line"] == 4
    assert body["progress"] == {
        "percent": 0.0,
        "rate_per_second": None,
        "seconds_left": None,
        "finished": False,
    }
    assert body["results"]["csv"].endswith(f"/api/v1/batches/{body['id']}/results.csv")


def test_batch_upload__over_limit__413(token_client, editor, released, settings):
    # Given a 100-byte limit / When a larger file is uploaded / Then 413, no batch
    settings.BATCH_MAX_BYTES = 100
    body = assert_error(upload(token_client(editor), jsonl(LINES * 5)), 413)
    assert body["extra"] == {"limit_bytes": 100}
    assert not Batch.objects.exists()


def test_batch_upload__unreadable_file__400(token_client, editor, released):
    # Given a file with no readable line / When uploaded / Then 400
    assert_error(upload(token_client(editor), b"{nope\n{nope"), 400)


def test_batch_upload__json_body__415(token_client, editor, released):
    # Given a JSON body instead of a multipart upload / When posted / Then 415
    response = token_client(editor).post("/api/v1/batches/", {"pipeline": "onboarding"}, format="json")
    assert_error(response, 415)


def test_batch_upload__viewer__403(token_client, viewer, released):
    # Given a viewer / When they upload / Then 403 from the service
    assert_error(upload(token_client(viewer), jsonl(LINES)), 403)


def test_batch_results__processed__csv_and_jsonl_in_file_order(token_client, editor, viewer, released):
    # Given a batch the workers' service has processed
    batch_id = upload(token_client(editor), jsonl(LINES)).json()["id"]
    for chunk in Batch.objects.get(pk=batch_id).chunks.all():
        batch_chunk_process(chunk.pk)
    client = token_client(viewer)
    # When its progress and results are asked for (whatever the client accepts)
    detail = client.get(f"/api/v1/batches/{batch_id}/").json()
    csv_response = client.get(f"/api/v1/batches/{batch_id}/results.csv", HTTP_ACCEPT="text/csv")
    jsonl_response = client.get(f"/api/v1/batches/{batch_id}/results.jsonl")
    # Then it is completed, and both downloads list the applications in file order, masked
    assert (detail["status"], detail["processed"], detail["passed"], detail["failed"]) == (
        "completed",
        3,
        2,
        1,
    )
    assert detail["progress"]["finished"] is True
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    csv_text = b"".join(csv_response.streaming_content).decode()
    assert csv_text.splitlines()[0].startswith("line,run_id,status")
    assert len(csv_text.splitlines()) == 4
    rows = [json.loads(line) for line in b"".join(jsonl_response.streaming_content).decode().splitlines()]
    assert [(r["line"], r["status"]) for r in rows] == [(1, "passed"), (2, "failed"), (3, "passed")]
    assert "maria.garcia" not in csv_text + str(rows)


def test_batch_results__unknown_batch__404_json_even_for_csv(token_client, viewer, environments):
    # Given no such batch / When its CSV is asked for / Then a JSON 404
    response = token_client(viewer).get(
        "/api/v1/batches/00000000-0000-0000-0000-000000000000/results.csv", HTTP_ACCEPT="text/csv"
    )
    assert_error(response, 404)


def test_batch_cancel__queued__cancelled_then_400(token_client, editor, released):
    # Given a queued batch
    client = token_client(editor)
    batch_id = upload(client, jsonl(LINES)).json()["id"]
    # When cancelled / Then it is, and cancelling again is refused
    assert client.post(f"/api/v1/batches/{batch_id}/cancel/").json()["status"] == "cancelled"
    assert (
        "already cancelled"
        in assert_error(client.post(f"/api/v1/batches/{batch_id}/cancel/"), 400)["message"]
    )


def test_batches_list__viewer__newest_first(token_client, editor, viewer, released):
    # Given two uploads / When a viewer lists batches / Then newest first
    client = token_client(editor)
    first, second = (upload(client, jsonl(LINES), filename=f"{n}.jsonl").json()["id"] for n in ("a", "b"))
    results = token_client(viewer).get("/api/v1/batches/").json()["results"]
    assert [b["id"] for b in results] == [second, first]
