"""Hostile input through every form of the console, as a superuser (so no permission
check stops a request before the input is read).

The forms are not listed by hand: a bounded crawl from "/" finds every page a user can
reach and every form on it (try-run, batch upload, config editor, stage and rule
editors, override, release and rollback reasons, toggles, rerun, API tokens, test
cases, filters... and any form added later). Each field of each form then gets awkward
text (RTL overrides, zero-width characters, emoji, control characters, NUL, invalid
UTF-8 bytes, 20,000 characters, 5,000-digit numbers), and each text area every awkward
JSON text (10**5000, 1e400, NaN, nesting 100,000 deep, lone surrogates, NUL escapes,
a YAML alias bomb). Every answer must be a page, not a server error; a refusal (4xx)
must leave every table as it was; afterwards every page still renders and the audit
chain still verifies.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlencode

import pytest

from pipelines_admin.audit.services import audit_verify
from pipelines_admin.runs.models import Batch, Run
from tests.pipelines_admin.conftest import SMALL_PIPELINE
from tests.reliability.bad_input import nasty
from tests.reliability.bad_input.pages import crawl, page_kind
from tests.reliability.rows import changed, row_counts

pytestmark = pytest.mark.django_db

YAML_BOMB = (
    "\n".join(
        f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}" if i else '"lol"'] * 9) + "]"
        for i in range(9)
    )
    + "\nstages: {s: {rules: {r: {class: TrimWhitespaceRule, params: *i}}}}"
)
TEXT_VALUES = {
    **{name: text for name, text in nasty.AWKWARD_TEXT.items() if name not in ("empty",)},
    "nul": nasty.UNSTORABLE_TEXT["nul"],
    "5000 digits": nasty.HUGE_INT_DIGITS,
    "1e400": "1e400",
    "minus one": "-1",
    "NaN": "NaN",
}
JSON_VALUES = {
    **nasty.JSON_TEXTS,
    "yaml alias bomb": YAML_BOMB,
    "rtl and emoji": nasty.AWKWARD_TEXT["rtl override"] + nasty.EMOJI,
    # a valid pipeline whose description no PostgreSQL JSON column can hold, and one any can
    "valid config holding a NUL": json.dumps({**SMALL_PIPELINE, "description": "a\x00b"}),
    "valid config in RTL and emoji": json.dumps(
        {
            **SMALL_PIPELINE,
            "description": nasty.AWKWARD_TEXT["rtl override"] + nasty.EMOJI + nasty.ZERO_WIDTH,
        },
        ensure_ascii=False,
    ),
}
#: the JSON values that are acceptable input to every form taking JSON
ACCEPTABLE = {"awkward keys", "duplicate keys", "rtl and emoji", "valid config in RTL and emoji"}
#: the JSON values also sent through a form's htmx actions (checks while typing)
HTMX_VALUES = {
    "huge integer",
    "nested 100000 deep",
    "lone surrogate escape",
    "yaml alias bomb",
    "NaN",
    "awkward keys",
}
#: text that only reaches the server as raw, invalid UTF-8 bytes (a browser cannot send it otherwise)
RAW_VALUES = {"lone surrogate bytes": nasty.UNSTORABLE_TEXT["lone high surrogate"]}
#: forms every console must offer (by path), so a crawl that finds nothing cannot pass
EXPECTED_FORMS = [
    r"^/pipelines/onboarding/try/$",
    r"^/batches/$",
    r"^/pipelines/onboarding/edit/$",
    r"^/pipelines/onboarding/environments/\w+/$",
    r"^/pipelines/onboarding/versions/<id>/release/$",
    r"^/pipelines/onboarding/toggle/$",
    r"/environments/\w+/rollback/<id>/$",
    r"^/pipelines/onboarding/stages/\w+/edit/$",
    r"/stages/\w+/rules/\w+/edit/$",
    r"/stages/\w+/rules/add/$",
    r"^/runs/<id>/rerun/$",
    r"^/account/tokens/$",
    r"^/environments/$",
    r"^/environments/development/$",
    r"^/environments/development/bindings/$",
    r"^/environments/development/bindings/KYCService:jumio/remove/$",
]
#: longer than this for one request is a failure too (a page that hangs is as bad as a 500)
SLOW_SECONDS = 5
START = ["/", "/runs/", "/batches/", "/audit/", "/dashboards/", "/account/tokens/"]


@pytest.fixture
def console(client, admin_user, populated, settings):
    settings.BATCH_MAX_BYTES = 300_000  # oversized uploads stay small
    client.force_login(admin_user)
    return client


def send(client, form, data, *, action=None, raw=False):
    """Submit ``data`` the way the form would (GET query, urlencoded or multipart POST);
    ``raw`` sends text no browser could (invalid UTF-8) as urlencoded bytes."""
    url = action or form.action
    if form.method == "get":
        return client.get(url, data)
    if raw:
        body = urlencode(
            {k: v for k, v in data.items() if not isinstance(v, list)},
            encoding="utf-8",
            errors="surrogatepass",
        )
        return client.post(url, body, content_type="application/x-www-form-urlencoded")
    return client.post(url, data)


class Checker:
    """Sends one hostile request after another, noting every server error, hang, and
    refusal that stored something (row counts are taken again only after a request that
    may have stored something, so a refusal costs one count)."""

    def __init__(self, client):
        self.client = client
        self.failures: list[str] = []
        self.requests = 0
        self.counts = row_counts()

    def __call__(self, form, data, label, **kwargs):
        self.requests += 1
        where = f"{form.method.upper()} {kwargs.get('action') or form.action} {label}"
        started = time.monotonic()
        try:
            response = send(self.client, form, data, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the test client re-raises what the view raised: a server error
            self.failures.append(f"{where}: raised {type(exc).__name__}: {exc}"[:500])
            self.counts = row_counts()
            return None
        if time.monotonic() - started > SLOW_SECONDS:
            self.failures.append(f"{where}: took {time.monotonic() - started:.1f} s")
        assert not (response.status_code == 302 and response["Location"].startswith("/login/")), (
            f"logged out by {form.action}: the rest would test the login page only"
        )
        counts = row_counts()
        if response.status_code >= 500:
            self.failures.append(f"{where}: {response.status_code}")
        elif response.status_code >= 400 and counts != self.counts:
            self.failures.append(f"{where}: {response.status_code} but stored {changed(self.counts, counts)}")
        self.counts = counts
        return response


def _rotating(values: dict, index: int, count: int) -> dict:
    """``count`` of ``values``, a different slice for each field index."""
    labels = list(values)
    return {
        labels[(index * count + i) % len(labels)]: values[labels[(index * count + i) % len(labels)]]
        for i in range(count)
    }


def test_console__hostile_value_in_every_field_of_every_form__never_a_server_error_nor_a_partial_write(
    console,
):
    # Given every form the console shows (found by crawling it)
    statuses, forms = crawl(console, START)
    assert not [p for p, s in statuses.items() if s >= 500], statuses
    kinds = sorted({page_kind(f.action) for f in forms})
    for expected in EXPECTED_FORMS:
        assert any(re.search(expected, kind) for kind in kinds), (expected, kinds)
    check = Checker(console)
    # When each field of each form is sent hostile values (the rest as shown): every
    # awkward JSON text into the form's first text area, a few awkward texts into the others
    for form in forms:
        base = form.data()
        buttons = list(dict.fromkeys(form.buttons)) or [(None, None)]
        first_area = next((name for name, kind in sorted(form.kinds.items()) if kind == "textarea"), None)
        for index, (name, kind) in enumerate(sorted(form.kinds.items())):
            if kind == "file":
                continue
            if name == first_area:
                values, presses = JSON_VALUES, [buttons[0], buttons[-1]] if len(buttons) > 1 else buttons[:1]
            else:
                values, presses = (
                    _rotating(
                        {**TEXT_VALUES, **JSON_VALUES} if kind == "textarea" else TEXT_VALUES, index, 2
                    ),
                    buttons[:1],
                )
            for label, value in values.items():
                for button, button_value in presses:
                    data = {**base, name: value, **({button: button_value} if button else {})}
                    check(form, data, f"{name}={label} {button or ''}={button_value or ''}")
                if name == first_area and label in HTMX_VALUES:
                    for action in form.htmx_actions:
                        check(form, {**base, name: value}, f"(htmx) {name}={label}", action=action)
            if form.method == "post" and not form.multipart and index < 3:
                for label, value in RAW_VALUES.items():
                    check(form, {**base, name: value}, f"{name}={label}", raw=True)
    # Then no answer was a server error, and no refusal stored anything
    assert not check.failures, "\n".join(check.failures[:60])
    assert check.requests > 250, check.requests
    print(f"\n{check.requests} hostile requests to {len(forms)} forms")
    # and afterwards every page still renders, and the audit chain is intact
    statuses, _ = crawl(console, START)
    assert not [p for p, s in statuses.items() if s >= 500], statuses
    checked, problems = audit_verify()
    assert checked and not problems


# -------------------------------------------------------- the forms that take data
# Stronger expectations for the forms whose input is data: each test sends every value
# of its kind in turn and reports every miss at once.


def test_try_run__awkward_application_json__refused_with_400_or_run_never_500(console):
    # Given the try-run form of the released pipeline
    misses = []
    for name, text in JSON_VALUES.items():
        before = row_counts()
        # When the application text is an awkward JSON text
        response = console.post("/pipelines/onboarding/try/", {"environment": "development", "record": text})
        # Then an object every database can store is run (a redirect to the run); anything
        # else is a 400 page saying why, with nothing stored
        if response.status_code == 302 and name in ACCEPTABLE:
            run = Run.objects.order_by("-created_at").first()
            if response["Location"] != f"/runs/{run.pk}/":
                misses.append((name, response["Location"]))
        elif response.status_code != 400 or b"error" not in response.content or changed(before, row_counts()):
            misses.append((name, response.status_code, changed(before, row_counts())))
    assert not misses, misses


def test_batch_upload__unreadable_file__400_with_reason_and_no_batch(console):
    misses = []
    for name, (filename, data) in nasty.UNREADABLE_FILES.items():
        # Given a file that holds no readable application
        before = row_counts()
        # When uploaded through the batches page
        response = console.post(
            "/batches/",
            {"pipeline": "onboarding", "environment": "development", "file": _upload(filename, data)},
        )
        # Then a 400 page says why, and no batch, chunk or audit event exists
        if response.status_code != 400 or changed(before, row_counts()):
            misses.append((name, response.status_code, changed(before, row_counts())))
    assert not misses, misses


def test_batch_upload__file_with_some_bad_rows__good_rows_queued_bad_rows_listed(console):
    misses = []
    for name, (filename, data, good) in nasty.MIXED_FILES.items():
        # Given a file mixing readable rows with broken ones (or oddly encoded but readable)
        # When uploaded
        response = console.post(
            "/batches/",
            {"pipeline": "onboarding", "environment": "development", "file": _upload(filename, data)},
        )
        # Then the readable rows are queued, each broken row listed with its line
        if response.status_code != 302:
            misses.append((name, response.status_code))
            continue
        batch = Batch.objects.order_by("-created_at").first()
        if (
            batch.total != good
            or not batch.chunks.exists()
            or not all(isinstance(r["line"], int) and r["reason"] for r in batch.rejected_rows)
        ):
            misses.append((name, batch.total, batch.rejected_rows))
        if console.get(f"/batches/{batch.pk}/").status_code != 200:
            misses.append((name, "batch page"))
    assert not misses, misses


def test_batch_upload__awkward_filename__stored_safely_or_refused(console):
    misses = []
    for filename in [
        nasty.AWKWARD_TEXT["rtl override"] + ".csv",
        nasty.EMOJI + ".csv",
        "x" * 300 + ".csv",
        "../../../etc/passwd.csv",
        "C:\\Windows\\apps.csv",
        "apps.csv\x00.exe",
        "apps .CSV",
        ".csv",
    ]:
        # Given a good file under an awkward name
        before = row_counts()
        response = console.post(
            "/batches/",
            {
                "pipeline": "onboarding",
                "environment": "development",
                "file": _upload(filename, nasty.GOOD_CSV.encode()),
            },
        )
        # Then it is queued under a name that fits, or refused cleanly
        if response.status_code == 302:
            batch = Batch.objects.order_by("-created_at").first()
            if (
                len(batch.filename) > 255
                or "\x00" in batch.filename
                or "/" in batch.filename
                or console.get(f"/batches/{batch.pk}/").status_code != 200
            ):
                misses.append((filename, batch.filename))
        elif response.status_code != 400 or changed(before, row_counts()):
            misses.append((filename, response.status_code))
    assert not misses, misses


def test_batch_upload__over_the_size_limit__413_and_nothing_stored(console, settings):
    # Given a file over BATCH_MAX_BYTES
    settings.BATCH_MAX_BYTES = 50_000
    data = nasty.GOOD_CSV.encode() + b"Ann Lee,ann@example.com,1990-01-01\n" * 2000
    assert len(data) > settings.BATCH_MAX_BYTES
    before = row_counts()
    # When uploaded / Then refused as too large, nothing stored
    response = console.post(
        "/batches/",
        {"pipeline": "onboarding", "environment": "development", "file": _upload("big.csv", data)},
    )
    assert response.status_code == 413
    assert b"limit" in response.content
    assert changed(before, row_counts()) == {}


def test_override__awkward_json__refused_or_saved_whole(console):
    misses = []
    for name, text in JSON_VALUES.items():
        # Given the override editor of development
        before = row_counts()
        # When an awkward JSON text is saved as the override
        page = console.get("/pipelines/onboarding/environments/development/").content.decode()
        revision = re.search(r'name="base_revision" value="([^"]*)"', page).group(1)
        response = console.post(
            "/pipelines/onboarding/environments/development/",
            {"override": text, "reason": "fuzz", "action": "save", "base_revision": revision},
        )
        # Then it is a valid merge patch saved as a new release, or refused with nothing stored
        if (
            response.status_code not in (302, 400)
            or response.status_code == 400
            and changed(before, row_counts())
        ):
            misses.append((name, response.status_code))
        if console.get("/pipelines/onboarding/environments/development/").status_code != 200:
            misses.append((name, "page broken afterwards"))
    assert not misses, misses


def test_config_editor__awkward_text_saved__problems_listed_nothing_stored(console, populated):
    misses = []
    for fmt in ("json", "yaml"):
        for name, text in JSON_VALUES.items():
            # Given the raw config editor
            before = row_counts()
            # When an awkward text is saved as the whole config
            response = console.post(
                "/pipelines/onboarding/edit/",
                {
                    "base_version": populated["pipeline"].versions.order_by("-number").first().number,
                    "format": fmt,
                    "text": text,
                    "message": "fuzz",
                    "action": "save",
                },
            )
            # Then a valid pipeline is saved as typed; anything else is refused with its
            # problems listed, nothing stored
            if name == "valid config in RTL and emoji":  # saved once; the second time there is nothing new
                latest = populated["pipeline"].versions.order_by("-number").first()
                if response.status_code not in (302, 400) or latest.document != json.loads(text):
                    misses.append((fmt, name, response.status_code))
            elif response.status_code != 400 or changed(before, row_counts()):
                misses.append((fmt, name, response.status_code))
    assert not misses, misses


def test_release_reason__awkward_text__stored_as_typed_or_refused(console, populated):
    from pipelines_admin.configs.models import Release

    misses = []
    for label, reason in nasty.AWKWARD_TEXT.items():
        # Given a version to release to staging
        before = row_counts()
        # When released with an awkward reason
        response = console.post(
            f"/pipelines/onboarding/versions/{populated['version'].number}/release/",
            {"environment": "staging", "reason": reason},
        )
        # Then the release keeps the reason as typed (trimmed), or the form says why not
        if response.status_code == 302:
            release = Release.objects.order_by("-pk").first()
            if release.reason != reason.strip():
                misses.append((label, "reason changed"))
        elif response.status_code != 400 or changed(before, row_counts()):
            misses.append((label, response.status_code))
    assert not misses, misses
    assert console.get("/pipelines/onboarding/environments/staging/").status_code == 200


def _upload(filename: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(filename, data, content_type="application/octet-stream")


def test_json_values__are_json_texts_of_every_kind():
    # Given the values above / Then each awkward class is present (a shrunk list would test less)
    assert {"huge integer", "nested 100000 deep", "lone surrogate escape", "NUL escape", "NaN"} <= set(
        JSON_VALUES
    )
    assert json.loads(JSON_VALUES["awkward keys"])
