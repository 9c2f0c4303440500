"""A worker killed with SIGKILL in the middle of a batch: no shutdown handler runs, the
chunk it was running is neither written nor acknowledged. A new worker starts (as a
supervisor would start one), the sweep re-sends what was lost, and every line of the
batch ends with exactly one run: nothing lost, nothing run twice, counters, metrics and
audit in agreement. Then every chunk is delivered once more (a broker redelivering
everything it ever sent) and nothing changes."""

from __future__ import annotations

import time

import pytest

from pipelines_admin.runs import batches
from pipelines_admin.runs.models import Batch, BatchChunk, Run
from tests.reliability.faults.conftest import (
    applicants,
    check_batch_exactly_once,
    jsonl,
    sweep_as_if_later,
    wait_for,
)

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHUNK_SIZE = 4
LINES = 24  # six chunks
LATENCY_MS = 60  # per application: a chunk takes about a quarter of a second


def test_worker_sigkill_mid_batch__new_worker_and_sweep__every_line_exactly_once(
    workers, slow_pipeline, environments, editor, settings, record_property
):
    # Given a batch of 24 applications in chunks of 4, each application waiting 60 ms for the vendor
    settings.BATCH_CHUNK_SIZE = CHUNK_SIZE
    slow_pipeline.latency(LATENCY_MS)
    batch = batches.batch_create(
        pipeline=slow_pipeline,
        environment=environments["development"],
        filename="day.jsonl",
        data=jsonl(applicants(LINES)),
        actor=editor,
    )
    first = workers.first

    # When the worker is killed while it is running a chunk, after it finished at least one
    def mid_chunk():
        chunks = BatchChunk.objects.filter(batch=batch)
        done = chunks.filter(status=BatchChunk.Status.DONE).count()
        running = chunks.filter(status=BatchChunk.Status.QUEUED, started_at__isnull=False).first()
        return running if done >= 1 and running else None

    victim = wait_for(mid_chunk, timeout=90, what="a chunk in progress", workers=workers, interval=0.02)
    workers.kill(first)
    killed_at = time.monotonic()
    # (it really died mid-chunk: the chunk was claimed, nothing of it was written)
    victim.refresh_from_db()
    assert victim.status == BatchChunk.Status.QUEUED and victim.attempts == 1
    assert not Run.objects.filter(
        batch=batch, line_number__gte=victim.first_line, line_number__lt=victim.first_line + victim.size
    ).exists()
    done_before = BatchChunk.objects.filter(batch=batch, status=BatchChunk.Status.DONE).count()
    assert done_before < LINES // CHUNK_SIZE

    # and a new worker starts, and the sweep runs as beat would once the chunk counts as lost
    workers.start()
    sweeps = 0

    def completed():
        nonlocal sweeps
        if Batch.objects.filter(pk=batch.pk, status=Batch.Status.COMPLETED).exists():
            return True
        sweeps += 1
        sweep_as_if_later()
        time.sleep(0.5)
        return False

    wait_for(completed, timeout=90, what="the batch to complete after the kill", workers=workers)
    recovered_s = time.monotonic() - killed_at

    # Then every line has exactly one run, and the counters, metrics and audit agree
    figures = check_batch_exactly_once(batch, lines=[n for n in range(1, LINES + 1)])
    victim.refresh_from_db()
    assert victim.status == BatchChunk.Status.DONE and victim.attempts == 2  # run again, written once

    # When every chunk is delivered once more (a broker redelivering what it sent)
    delivered = workers.succeeded("runs.process_batch_chunk")
    for chunk_id in BatchChunk.objects.filter(batch=batch).values_list("pk", flat=True):
        batches.chunk_enqueue(chunk_id)
    wait_for(
        lambda: workers.succeeded("runs.process_batch_chunk") >= delivered + LINES // CHUNK_SIZE,
        timeout=60,
        what="the redelivered chunks",
        workers=workers,
    )
    # Then nothing changes
    assert check_batch_exactly_once(batch, lines=[n for n in range(1, LINES + 1)]) == figures

    record_property("recovery_seconds", round(recovered_s, 1))
    record_property("figures", {**figures, "sweeps": sweeps, "chunks_done_before_kill": done_before})
    print(
        f"\nSIGKILL mid-batch: recovered in {recovered_s:.1f} s (new worker start included), "
        f"{sweeps} sweep(s), runs={figures['runs']} lost={figures['lost']} duplicates={figures['duplicates']}, "
        f"chunk attempts {figures['chunk_attempts']}"
    )
