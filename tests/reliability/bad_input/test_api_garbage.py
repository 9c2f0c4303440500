"""Hostile bodies through every write operation of the REST API (runs, batches,
versions, validation, overrides, toggles, releases, rollbacks, environments, service
bindings, tokens), as a superuser
with an API token: awkward JSON spliced into each JSON field (10**5000, 1e400, NaN,
nesting 100,000 deep, lone surrogates, NUL escapes, RTL/zero-width/emoji keys), awkward
text into each text field, numbers past every edge into each number field, and whole
bodies that are not UTF-8 JSON at all (UTF-16, Latin-1, binary, a byte-order mark,
2 MB and more, the wrong content type).

Every answer is a success or a failure in the API's one error shape with a 4xx status,
never a 5xx; a failure leaves every table as it was."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from tests.reliability.bad_input import nasty
from tests.reliability.rows import changed, row_counts

pytestmark = pytest.mark.django_db

ENV = "/api/v1/pipelines/onboarding/environments/development"
#: operation -> (method, path, JSON body template); {field} marks the spliced field
OPERATIONS = {
    "submit run": (
        "post",
        "/api/v1/runs/",
        '{"pipeline": "onboarding", "environment": "development", "record": {record}}',
    ),
    "save version": (
        "post",
        "/api/v1/pipelines/onboarding/versions/",
        '{"document": {document}, "base_version": 1, "message": {message}}',
    ),
    "validate": ("post", "/api/v1/validate/", '{"document": {document}, "environment": "development"}'),
    "override": ("put", f"{ENV}/override/", '{"override": {override}, "reason": {reason}}'),
    "stage toggle": (
        "post",
        f"{ENV}/stages/data_quality/toggle/",
        '{"enabled": {enabled}, "reason": {reason}}',
    ),
    "rule toggle": (
        "post",
        f"{ENV}/rules/data_quality/email_format/toggle/",
        '{"enabled": {enabled}, "reason": {reason}}',
    ),
    "release": ("post", f"{ENV}/releases/", '{"version": {version}, "reason": {reason}}'),
    "rollback": ("post", f"{ENV}/rollback/", '{"release_id": {release_id}, "reason": {reason}}'),
    "create token": ("post", "/api/v1/tokens/", '{"name": {name}}'),
    "create environment": (
        "post",
        "/api/v1/environments/",
        '{"name": {name}, "description": {message}, "position": {position}, "protected": {enabled}}',
    ),
    "change environment": (
        "patch",
        "/api/v1/environments/development/",
        '{"description": {message}, "position": {position}, "reason": {reason}}',
    ),
    "bind service": (
        "post",
        "/api/v1/environments/development/bindings/",
        '{"interface": "KYCService", "name": {name}, "kind": "http", "url": {url}, '
        '"timeout_seconds": {timeout}, "secret_env": {secret_env}, "reason": {reason}}',
    ),
    "change binding": (
        "put",
        "/api/v1/environments/development/bindings/KYCService:jumio/",
        '{"kind": {kind}, "url": {url}, "timeout_seconds": {timeout}, "secret_env": {secret_env}, '
        '"latency_ms": {position}, "failure_rate": {timeout}, "reason": {reason}}',
    ),
}
GOOD = {
    "record": json.dumps(nasty.GOOD_ROWS[0]),
    "document": None,
    "override": "{}",
    "message": '"fuzz"',
    "reason": '"fuzz"',
    "enabled": "false",
    "version": "1",
    "release_id": "1",
    "name": '"fuzz"',
    "position": "1",
    "url": '"https://kyc.example.com/v1"',
    "timeout": "0.5",
    "secret_env": '"FUZZ_KEY"',
    "kind": '"http"',
}
JSON_FIELDS = {"record", "document", "override"}
NUMBER_FIELDS = {"version", "release_id", "enabled", "position", "timeout"}
NUMBERS = {
    "10**5000": nasty.HUGE_INT_DIGITS,
    "10**1000": str(nasty.HUGE_INT),
    "1e400": "1e400",
    "-1": "-1",
    "0": "0",
    "2**63": str(2**63),
    "NaN": "NaN",
    "-Infinity": "-Infinity",
    "1.5": "1.5",
    "text": '"1"',
    "null": "null",
    "list": "[1]",
    "object": "{}",
    "true": "true",
}


@pytest.fixture
def api(token_client, admin_user, populated, small_pipeline_document, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 300_000  # oversized bodies stay small; every JSON text fits
    settings.BATCH_MAX_BYTES = 300_000
    GOOD["document"] = json.dumps(small_pipeline_document)
    return token_client(admin_user)


def fill(template: str, **values) -> str:
    body = template
    for field, default in GOOD.items():
        body = body.replace("{" + field + "}", values.get(field, default))
    return body


class Sender:
    """Sends hostile requests one after another, noting every 5xx, every failure outside
    the error shape, and every refusal that stored something."""

    def __init__(self, api):
        self.api = api
        self.failures: list[str] = []
        self.statuses: dict[str, int] = {}
        self.counts = row_counts()

    def __call__(self, label: str, method: str, path: str, body, content_type="application/json") -> int:
        data = body.encode("utf-8") if isinstance(body, str) else body
        response = self.api.generic(
            method.upper(), path, data, content_type=content_type
        )  # the body as it is
        status = self.statuses[label] = response.status_code
        counts = row_counts()
        if status >= 500:
            self.failures.append(f"{label}: {status} {response.content[:300]!r}")
        elif status >= 400:
            try:
                data = json.loads(response.content)
                assert set(data) == {"message", "extra"} and data["message"]
            except (ValueError, AssertionError):
                self.failures.append(f"{label}: {status} not in the error shape: {response.content[:300]!r}")
            if counts != self.counts:
                self.failures.append(f"{label}: {status} but stored {changed(self.counts, counts)}")
        self.counts = counts
        return status


def hostile_bodies(template: str):
    """(label, body, content type) of every hostile variant of one operation's body."""
    for field in [f for f in GOOD if "{" + f + "}" in template]:
        if field in JSON_FIELDS:
            values = nasty.JSON_TEXTS
        elif field in NUMBER_FIELDS:
            values = NUMBERS
        else:  # json.dumps escapes lone surrogates and NUL, as a client would send them
            values = {label: json.dumps(text) for label, text in nasty.ALL_TEXT.items()}
        for label, value in values.items():
            yield f"{field}={label}", fill(template, **{field: value}), "application/json"
    for label, text in nasty.JSON_TEXTS.items():
        yield f"whole body: {label}", text, "application/json"
    accented = fill(
        template,
        reason=json.dumps("Jos\u00e9 \u00e9t\u00e9", ensure_ascii=False),
        message=json.dumps("r\u00e9vision", ensure_ascii=False),
        name=json.dumps("cl\u00e9", ensure_ascii=False),
    )
    for encoding in ("utf-16", "utf-16-le", "utf-32", "latin-1", "utf-8-sig"):
        yield f"body in {encoding}", accented.encode(encoding), "application/json"
    yield "binary body", bytes(range(256)) * 4, "application/json"
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "application/json; charset=utf-16",
        "multipart/form-data; boundary=x",
        "",
    ):
        yield f"content type {content_type!r}", fill(template).encode(), content_type
    large = fill(
        template,
        record=json.dumps({"blob": "x" * 400_000}),
        reason=json.dumps("x" * 400_000),
        name=json.dumps("x" * 400_000),
        message=json.dumps("x" * 400_000),
        document=json.dumps({"description": "x" * 400_000}),
        override=json.dumps({"x": "x" * 400_000}),
    )
    yield "body over the size limit", large, "application/json"


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_api_write__every_hostile_body__4xx_in_the_error_shape_or_accepted_never_5xx(
    api, admin_user, operation
):
    # Given one write operation of the API (tokens are made with a password or a session, not a token)
    method, path, template = OPERATIONS[operation]
    if operation == "create token":
        api = APIClient()
        api.force_authenticate(admin_user)
    send = Sender(api)
    # When every hostile variant of its body is sent
    for label, body, content_type in hostile_bodies(template):
        send(label, method, path, body, content_type)
    # Then none was a server error, every refusal was in the error shape and stored nothing
    assert not send.failures, "\n".join(send.failures[:50])
    # and what can only be refused was: whole bodies that are not a JSON object, bodies
    # that are not UTF-8, and the oversized body (413)
    for label, status in send.statuses.items():
        if (
            label.startswith("whole body")
            and not _an_object(nasty.JSON_TEXTS[label.split(": ", 1)[1]])
            or label in ("body in utf-16", "body in utf-32", "binary body")
        ):
            assert 400 <= status < 500, (label, status)
    assert send.statuses["body over the size limit"] == 413
    assert len(send.statuses) > 40


@pytest.mark.parametrize("name", sorted(nasty.UNREADABLE_FILES))
def test_api_batch_upload__unreadable_file__400_and_no_batch(api, name):
    # Given a file that holds no readable application
    filename, data = nasty.UNREADABLE_FILES[name]
    before = row_counts()
    # When uploaded through the API
    response = api.post(
        "/api/v1/batches/",
        {"pipeline": "onboarding", "environment": "development", "file": _upload(filename, data)},
        format="multipart",
    )
    # Then 400 in the error shape, nothing stored
    assert response.status_code == 400, (response.status_code, response.content[:500])
    assert set(response.json()) == {"message", "extra"}
    assert changed(before, row_counts()) == {}


@pytest.mark.parametrize("name", sorted(nasty.MIXED_FILES))
def test_api_batch_upload__some_bad_rows__202_with_good_rows_and_bad_rows_listed(api, name):
    # Given a file mixing readable and broken rows
    filename, data, good = nasty.MIXED_FILES[name]
    # When uploaded / Then accepted with the readable rows, each broken one listed by line
    response = api.post(
        "/api/v1/batches/",
        {"pipeline": "onboarding", "environment": "development", "file": _upload(filename, data)},
        format="multipart",
    )
    assert response.status_code == 202, response.content[:1000]
    body = response.json()
    assert body["total"] == good
    assert all(isinstance(row["line"], int) for row in body["rejected_rows"])


def test_api_batch_upload__over_the_size_limit__413_and_no_batch(api, settings):
    settings.BATCH_MAX_BYTES = 10_000
    before = row_counts()
    response = api.post(
        "/api/v1/batches/",
        {
            "pipeline": "onboarding",
            "environment": "development",
            "file": _upload("big.csv", nasty.GOOD_CSV.encode() * 400),
        },
        format="multipart",
    )
    assert response.status_code == 413 and set(response.json()) == {"message", "extra"}
    assert changed(before, row_counts()) == {}


def _an_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
        return False


def _upload(filename: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(filename, data, content_type="application/octet-stream")
