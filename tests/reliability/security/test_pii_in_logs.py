"""Personal data never reaches the logs. Applications full of personal data go through the
real paths (the console's try-run and batch upload, the API, the worker's task bodies,
a broker that is down, refused input, a rejected row) with every logger at DEBUG, SQL
statements and their parameters logged too; then the captured log is searched for
every personal value. A real worker process at DEBUG level is searched the same way."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from pipelines_admin.configs import services as config_services
from pipelines_admin.demo.pipelines import example_document
from pipelines_admin.releases import services as release_services
from pipelines_admin.runs.models import Batch, BatchChunk, Run
from pipelines_admin.tokens.services import token_create
from tests.conftest import REPO, database_url
from tests.reliability.security.conftest import PII_APPLICANT

# Every personal value of PII_APPLICANT, and the forms the rules turn them into
NEEDLES = [
    "Quentin",
    "Zabriskie",
    "Oyelaran",
    "quentin.zabriskie",
    "523-71-8846",
    "523718846",
    "1979-11-23",
    "4155550199",
    "555-0199",
    "Evergreen",
]
SECOND = {
    **PII_APPLICANT,
    "name": "Quentin Zabriskie",
    "date_of_birth": "23/11/1979",
    "phone": "415 555 0199x",
}


def leaks(text: str) -> list[str]:
    return [needle for needle in NEEDLES if needle.lower() in text.lower()]


@pytest.fixture
def onboarding(editor, environments):
    """The shipped customer-onboarding config (every kind of rule), live in development."""
    pipeline = config_services.pipeline_create(
        slug="customer-onboarding",
        name="Customer onboarding",
        document=example_document("customer_onboarding.json"),
        author=editor,
    )
    release_services.release_create(
        pipeline=pipeline,
        environment=environments["development"],
        version=pipeline.versions.get(),
        actor=editor,
    )
    return pipeline


@pytest.fixture
def everything_logged(caplog):
    """Every logger at DEBUG, SQL statements with their parameters included."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level not in (logging.NOTSET, logging.DEBUG):
            caplog.set_level(logging.DEBUG, logger=name)  # "django" is at INFO by default
    connection.force_debug_cursor = True
    yield caplog
    connection.force_debug_cursor = False


@pytest.mark.django_db
def test_runs_batches_and_errors__every_logger_at_debug__no_personal_value_logged(
    onboarding, editor, everything_logged, dead_broker, django_capture_on_commit_callbacks
):
    from pipelines_admin.runs.tasks import execute_run, process_batch_chunk

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=editor, name='pii').secret}")
    console = Client()
    console.force_login(editor)
    # Given applications full of personal data, sent through the API and the console
    with django_capture_on_commit_callbacks(execute=True):  # enqueued for real: the broker is down
        response = api.post(
            "/api/v1/runs/",
            {"pipeline": "customer-onboarding", "environment": "development", "record": PII_APPLICANT},
            format="json",
        )
        assert response.status_code == 202, response.content
    with django_capture_on_commit_callbacks(execute=False):  # the tasks' bodies run below instead
        response = console.post(
            "/pipelines/customer-onboarding/try/",
            {"environment": "development", "record": json.dumps(SECOND)},
        )
        assert response.status_code == 302
        rows = "\n".join(
            [json.dumps(PII_APPLICANT), json.dumps(SECOND), '{"name": "Quentin Zabriskie", broken']
        )
        response = console.post(
            "/batches/",
            {
                "pipeline": "customer-onboarding",
                "environment": "development",
                "file": SimpleUploadedFile("day.jsonl", rows.encode()),
            },
        )
        assert response.status_code == 302
        csv_rows = "name,email,ssn,date_of_birth\nQuentin Zabriskie,quentin.zabriskie@example.org,523-71-8846,1979-11-23\n"
        response = api.post(
            "/api/v1/batches/",
            {
                "pipeline": "customer-onboarding",
                "environment": "development",
                "file": SimpleUploadedFile("day.csv", csv_rows.encode()),
            },
            format="multipart",
        )
        assert response.status_code == 202, response.content
    # And refused input: not an object, too large, not JSON, an unknown stage
    assert (
        api.post(
            "/api/v1/runs/",
            {
                "pipeline": "customer-onboarding",
                "environment": "development",
                "record": list(PII_APPLICANT.values()),
            },
            format="json",
        ).status_code
        == 400
    )
    huge = {**PII_APPLICANT, "notes": "Quentin Zabriskie " * 5000}
    assert api.post(
        "/api/v1/runs/",
        {"pipeline": "customer-onboarding", "environment": "development", "record": huge},
        format="json",
    ).status_code in (400, 413)
    assert (
        api.generic(
            "POST", "/api/v1/runs/", '{"record": {"ssn": "523-71-8846"', content_type="application/json"
        ).status_code
        == 400
    )
    assert (
        api.post(
            "/api/v1/runs/",
            {
                "pipeline": "customer-onboarding",
                "environment": "development",
                "record": PII_APPLICANT,
                "stages": ["Quentin Zabriskie"],
            },
            format="json",
        ).status_code
        == 400
    )
    # When the worker's tasks run them (their bodies, here)
    for run_id in Run.objects.filter(batch__isnull=True).values_list("pk", flat=True):
        execute_run(str(run_id))
    for chunk_id in BatchChunk.objects.values_list("pk", flat=True):
        process_batch_chunk(chunk_id)
    # And the results are read back, pages and exports
    batch = Batch.objects.get(filename="day.jsonl")
    for path in [
        "/runs/",
        f"/runs/{Run.objects.filter(batch__isnull=True).first().pk}/",
        f"/batches/{batch.pk}/",
        f"/batches/{batch.pk}/results.csv",
        "/audit/",
    ]:
        assert console.get(path).status_code == 200
    # Then everything ran and was logged (the broker warnings included), and no personal value is in the log
    assert Run.objects.filter(status__in=Run.FINISHED).count() == 5
    assert batch.rejected_rows and Batch.objects.get(filename="day.csv").total == 1
    records = everything_logged.records
    assert any(r.name == "pipelines_admin.core.jobs" and "stays queued" in r.getMessage() for r in records)
    assert any(r.name == "django.db.backends" for r in records)
    logged = "\n".join(everything_logged.text.splitlines() + [str(getattr(r, "params", "")) for r in records])
    assert leaks(logged) == [], [line for line in logged.splitlines() if leaks(line)][:5]


# -- a real worker process at DEBUG --------------------------------------------------------


@pytest.fixture
def debug_worker(tmp_path, django_db_setup, django_db_blocker):
    """A Celery worker at DEBUG level on a private queue, pointed at the test database."""
    from pipelines_admin.celery import app

    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ, CELERY_TASK_DEFAULT_QUEUE=queue, LOG_LEVEL="DEBUG")
    with django_db_blocker.unblock():
        env["DATABASE_URL"] = database_url(connection.settings_dict)
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "pipelines_admin",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--loglevel=DEBUG",
                "-Q",
                queue,
                "--hostname",
                f"pii-{queue}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield log_path
    finally:
        app.conf.task_default_queue = previous
        process.send_signal(signal.SIGQUIT)  # cold shutdown: its work is done and its log read
        try:
            process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_process__runs_and_batch_at_debug__no_personal_value_in_its_log(
    debug_worker: Path, onboarding, editor, everything_logged
):
    caplog = everything_logged
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=editor, name='pii').secret}")
    # Given applications with personal data submitted to a real worker
    assert (
        api.post(
            "/api/v1/runs/",
            {"pipeline": "customer-onboarding", "environment": "development", "record": PII_APPLICANT},
            format="json",
        ).status_code
        == 202
    )
    rows = "\n".join([json.dumps(PII_APPLICANT), json.dumps(SECOND), '{"name": "Quentin Zabriskie", broken'])
    assert (
        api.post(
            "/api/v1/batches/",
            {
                "pipeline": "customer-onboarding",
                "environment": "development",
                "file": SimpleUploadedFile("day.jsonl", rows.encode()),
            },
            format="multipart",
        ).status_code
        == 202
    )
    # When it has processed them (bounded wait)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (
            Run.objects.filter(status__in=Run.FINISHED).count() == 3
            and Batch.objects.filter(status="completed").exists()
        ):
            break
        time.sleep(0.2)
    log = debug_worker.read_text(errors="replace")
    assert Run.objects.filter(status__in=Run.FINISHED).count() == 3, log[-3000:]
    # Then its DEBUG log tells what it did, and holds no personal value; nor does ours
    assert "runs.execute" in log and "runs.process_batch_chunk" in log and "succeeded" in log
    assert leaks(log) == [], [line for line in log.splitlines() if leaks(line)][:5]
    assert leaks(caplog.text) == []
