"""A worker killed with SIGKILL, or hung with SIGSTOP, in the middle of a batch, in real
time: no simulated clock, no sweep called by the test. Beat sends the sweeps as in
production; the claimed chunk's lease runs out once its worker's heartbeat stops, the
sweep sends it again, and a new worker (started as a supervisor would) does it. Every
line of the batch ends with exactly one run: nothing lost, nothing run twice, counters,
metrics and audit in agreement, even when the hung worker wakes up and finishes the
chunk it had. And a healthy chunk that takes longer than its lease is never sent again
while its heartbeat lives."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from pipelines_admin.runs import batches
from pipelines_admin.runs.models import Batch, BatchChunk, Run, SweepRecovery
from tests.reliability.faults.conftest import applicants, check_batch_exactly_once, jsonl, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHUNK_SIZE = 4
LINES = 24  # six chunks
LATENCY_MS = 60  # per application: a chunk takes about a quarter of a second
#: from the kill to the batch complete, with the default lease (15 s), heartbeat (5 s) and sweep (5 s)
RECOVERY_LIMIT_S = 45


def _batch_with_a_chunk_in_progress(workers, slow_pipeline, environments, editor, settings):
    """A batch of 24 applications in chunks of 4 (60 ms each), once the worker finished a
    chunk and is running another: (batch, that chunk)."""
    settings.BATCH_CHUNK_SIZE = CHUNK_SIZE
    slow_pipeline.latency(LATENCY_MS)
    batch = batches.batch_create(
        pipeline=slow_pipeline,
        environment=environments["development"],
        filename="day.jsonl",
        data=jsonl(applicants(LINES)),
        actor=editor,
    )

    def mid_chunk():
        chunks = BatchChunk.objects.filter(batch=batch)
        done = chunks.filter(status=BatchChunk.Status.DONE).count()
        running = chunks.filter(status=BatchChunk.Status.QUEUED, lease_expires_at__isnull=False).first()
        return running if done >= 1 and running else None

    return batch, wait_for(mid_chunk, timeout=90, what="a chunk in progress", workers=workers, interval=0.02)


def _nothing_written(batch, chunk) -> bool:
    lines = (chunk.first_line, chunk.first_line + chunk.size)
    return not Run.objects.filter(batch=batch, line_number__gte=lines[0], line_number__lt=lines[1]).exists()


def _completed(batch):
    return lambda: Batch.objects.filter(pk=batch.pk, status=Batch.Status.COMPLETED).exists()


def test_worker_sigkill_mid_batch__new_worker__every_line_exactly_once_within_45_s(
    workers, slow_pipeline, environments, editor, settings, record_property
):
    # Given a batch being worked on, a chunk in progress
    batch, victim = _batch_with_a_chunk_in_progress(workers, slow_pipeline, environments, editor, settings)

    # When the worker is killed, and a new worker starts at once
    workers.kill(workers.first)
    killed_at = time.monotonic()
    workers.start()
    # (it really died mid-chunk: the chunk was claimed, nothing of it was written)
    victim.refresh_from_db()
    assert victim.status == BatchChunk.Status.QUEUED and victim.attempts == 1
    assert _nothing_written(batch, victim)
    done_before = BatchChunk.objects.filter(batch=batch, status=BatchChunk.Status.DONE).count()
    assert done_before < LINES // CHUNK_SIZE

    # Then the batch completes within 45 s, beat's sweep having re-sent the chunk once its lease ran out
    wait_for(_completed(batch), timeout=RECOVERY_LIMIT_S, what="the batch after the kill", workers=workers)
    recovered_s = time.monotonic() - killed_at
    # and every line has exactly one run, and the counters, metrics and audit agree
    figures = check_batch_exactly_once(batch, lines=list(range(1, LINES + 1)))
    victim.refresh_from_db()
    assert victim.status == BatchChunk.Status.DONE and victim.attempts == 2  # run again, written once
    assert SweepRecovery.objects.get(kind="batch_chunk", action="requeued").count >= 1

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
    assert check_batch_exactly_once(batch, lines=list(range(1, LINES + 1))) == figures

    record_property("recovery_seconds", round(recovered_s, 1))
    record_property("figures", {**figures, "chunks_done_before_kill": done_before})
    print(
        f"\nSIGKILL mid-batch: recovered in {recovered_s:.1f} s (real time, new worker start included), "
        f"runs={figures['runs']} lost={figures['lost']} duplicates={figures['duplicates']}, "
        f"chunk attempts {figures['chunk_attempts']}"
    )


def test_worker_hung_mid_batch__chunk_redone_elsewhere__late_worker_writes_nothing(
    workers, slow_pipeline, environments, editor, settings, record_property
):
    # Given a batch being worked on, a chunk in progress
    batch, victim = _batch_with_a_chunk_in_progress(workers, slow_pipeline, environments, editor, settings)
    hung = workers.first

    # When the worker hangs (SIGSTOP, heartbeat included), and a new worker starts
    workers.freeze(hung)
    frozen_at = time.monotonic()
    workers.start()
    # Then the batch completes without it, its chunk done by the new worker
    wait_for(
        _completed(batch), timeout=RECOVERY_LIMIT_S, what="the batch without the hung worker", workers=workers
    )
    recovered_s = time.monotonic() - frozen_at
    figures = check_batch_exactly_once(batch, lines=list(range(1, LINES + 1)))
    victim.refresh_from_db()
    assert victim.attempts == 2

    # When the hung worker wakes up and finishes the chunk it had
    written = workers.succeeded("runs.process_batch_chunk")
    workers.thaw(hung)
    wait_for(
        lambda: workers.succeeded("runs.process_batch_chunk") > written,
        timeout=30,
        what="the woken worker's chunk",
        workers=workers,
    )
    # Then its claim was taken over: it wrote nothing, every line still has exactly one run
    assert "Task runs.process_batch_chunk[" in hung.log() and "succeeded in" in hung.log()
    assert check_batch_exactly_once(batch, lines=list(range(1, LINES + 1))) == figures

    record_property("recovery_seconds", round(recovered_s, 1))
    print(f"\nSIGSTOP mid-batch: recovered in {recovered_s:.1f} s; the woken worker wrote nothing")


@pytest.fixture
def short_lease(monkeypatch):
    """Workers and beat started after this hold leases of 2 s, renewed every 0.5 s, swept every second."""
    monkeypatch.setenv("JOB_LEASE_SECONDS", "2")
    monkeypatch.setenv("JOB_HEARTBEAT_SECONDS", "0.5")
    monkeypatch.setenv("RUN_SWEEP_SECONDS", "1")


def test_chunk_longer_than_its_lease__heartbeat_alive__never_sent_again(
    short_lease, workers, slow_pipeline, environments, editor, settings
):
    # Given leases of 2 s, and a batch of one chunk of 20 applications taking 0.4 s each (8 s)
    settings.BATCH_CHUNK_SIZE = 20
    slow_pipeline.latency(400)
    batch = batches.batch_create(
        pipeline=slow_pipeline,
        environment=environments["development"],
        filename="long.jsonl",
        data=jsonl(applicants(20)),
        actor=editor,
    )
    # When the worker runs it, with a second worker idle beside it and beat sweeping every second
    workers.start()
    wait_for(_completed(batch), timeout=60, what="the long chunk", workers=workers)
    # Then the chunk was claimed once and never sent again, and its runs are written once
    chunk = batch.chunks.get()
    assert chunk.attempts == 1
    assert chunk.finished_at - chunk.started_at > timedelta(seconds=4)  # two leases and more
    assert not SweepRecovery.objects.filter(kind="batch_chunk", count__gt=0).exists()
    check_batch_exactly_once(batch, lines=list(range(1, 21)))
