"""Runs and batches through the configured broker and a real worker process."""

import json
import time
from itertools import pairwise

import pytest

from pipelines_admin.runs import batches, services
from pipelines_admin.runs.models import Batch, BatchChunk, Run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

APPLICANT = {"name": "Maria Garcia", "email": "maria.garcia@example.com", "date_of_birth": "1990-04-12"}


def wait_for(predicate, worker, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail("the worker did not finish in time; its log:\n" + worker.log()[-4000:])


def test_run_submit__real_worker__run_finishes_with_result(
    celery_worker_process, released, environments, editor
):
    # Given a worker / When an application is submitted
    run = services.run_submit(
        pipeline=released, environment=environments["development"], record=APPLICANT, actor=editor
    )
    # Then the worker picks it up after commit and stores the decision
    done = wait_for(
        lambda: Run.objects.filter(pk=run.pk, status__in=Run.FINISHED).first(), celery_worker_process
    )
    assert done.status == "passed", done.result
    assert done.enqueued_at is not None and done.started_at is not None and done.attempts == 1


def test_batch_create__real_worker__every_chunk_processed(
    celery_worker_process, released, environments, editor, settings
):
    # Given a 30-application file in chunks of 7
    settings.BATCH_CHUNK_SIZE = 7
    records = [{**APPLICANT, "name": f"Applicant {i}"} for i in range(29)] + [{"name": "No Email"}]
    data = "\n".join(json.dumps(r) for r in records).encode()
    # When uploaded
    batch = batches.batch_create(
        pipeline=released,
        environment=environments["development"],
        filename="day.jsonl",
        data=data,
        actor=editor,
    )
    # Then the worker processes all five chunks and the counts add up
    done = wait_for(
        lambda: Batch.objects.filter(pk=batch.pk, status="completed").first(), celery_worker_process
    )
    assert (done.total, done.processed, done.passed, done.failed) == (30, 30, 29, 1)
    assert Run.objects.filter(batch=done).count() == 30


def test_submit_batch_command__wait__prints_final_counts(
    celery_worker_process, released, editor, tmp_path, capsys
):
    # Given a worker and a JSONL file of three applications, one without email
    from django.core.management import call_command

    path = tmp_path / "apps.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [APPLICANT, APPLICANT, {"name": "No Email"}]))
    # When submitted with --wait
    call_command(
        "submit_batch",
        "onboarding",
        "--env",
        "development",
        "--input",
        str(path),
        "--wait",
        "--user",
        editor.username,
        "--timeout",
        "90",
    )
    # Then the command returns once the worker is done, with the counts
    assert (
        "total=3 processed=3 passed=2 failed=1 review=0 undecided=0 error=0 rejected=0 status=completed"
        in capsys.readouterr().out
    )


def test_batch_create__real_worker__next_chunk_taken_without_waiting(
    celery_prefork_worker_process, released, environments, editor, settings
):
    # Given a file of eight applications in chunks of one, each done in a few milliseconds
    settings.BATCH_CHUNK_SIZE = 1
    data = "\n".join(json.dumps({**APPLICANT, "name": f"Applicant {i}"}) for i in range(8)).encode()
    # When uploaded to an idle worker of two processes
    batch = batches.batch_create(
        pipeline=released,
        environment=environments["development"],
        filename="day.jsonl",
        data=data,
        actor=editor,
    )
    wait_for(
        lambda: Batch.objects.filter(pk=batch.pk, status="completed").exists(), celery_prefork_worker_process
    )
    # Then each process starts a chunk soon after finishing the one before: it does not
    # sit idle between chunks while more wait in the broker
    gaps = []
    for process in set(BatchChunk.objects.filter(batch=batch).values_list("worker", flat=True)):
        chunks = list(BatchChunk.objects.filter(batch=batch, worker=process).order_by("started_at"))
        gaps += [(b.started_at - a.finished_at).total_seconds() for a, b in pairwise(chunks)]
    assert len(gaps) >= 6 and sorted(gaps)[len(gaps) // 2] < 0.4, gaps
