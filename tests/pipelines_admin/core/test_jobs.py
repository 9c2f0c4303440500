"""The queued-work lifecycle (pipelines_admin.core.jobs), through runs and batch chunks:
a claim under a live lease is refused, an expired lease is sent again, the attempt cap
gives up with a clear error, the heartbeat keeps a lease alive, and a worker whose claim
was taken over writes nothing (exactly once)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.core import jobs
from pipelines_admin.runs import batches, services
from pipelines_admin.runs.models import BatchChunk, MetricRollup, Run, SweepRecovery
from tests.pipelines_admin.conftest import ADULT

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Runs and chunks handed to the broker, recorded instead of sent."""
    ids: list = []

    def record(pk, recovery=None) -> bool:
        ids.append((pk, recovery))
        return True

    monkeypatch.setattr(services, "run_enqueue", record)
    monkeypatch.setattr(batches, "chunk_enqueue", record)
    return ids


@pytest.fixture
def queued(released, environments, editor, sent):
    def submit() -> Run:
        return services.run_submit(
            pipeline=released, environment=environments["development"], record=ADULT, actor=editor
        )

    return submit


def _expire(claim: jobs.Claim) -> None:
    """The claim's worker stopped renewing its lease a while ago."""
    type(claim.work).objects.filter(pk=claim.work.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def _counted_once(run: Run) -> None:
    assert AuditEvent.objects.filter(action="run.completed", object_id=str(run.pk)).count() == 1
    whole_runs = MetricRollup.objects.filter(
        pipeline=run.pipeline, grain=MetricRollup.Grain.FIVE_MINUTES, stage="", rule=""
    )
    assert sum(row.total for row in whole_runs) == 1


def test_work_claim__live_lease_held_by_another_worker__refused(queued):
    # Given a run a worker has claimed (its lease is live)
    run = queued()
    first = jobs.work_claim(services.RUN_WORK, run.pk)
    assert first is not None and first.work.attempts == 1
    # When the run is delivered again (a duplicate message) / Then nobody else claims it
    assert jobs.work_claim(services.RUN_WORK, run.pk) is None
    assert services.run_execute(run.pk) is None
    run.refresh_from_db()
    assert (run.status, run.attempts, run.claim_token) == ("running", 1, first.token)


def test_work_sweep__expired_lease__sent_again_and_claimed_anew(queued, sent):
    # Given a claimed run: while its lease is live, the sweep leaves it alone
    run = queued()
    first = jobs.work_claim(services.RUN_WORK, run.pk)
    assert services.runs_sweep() == {"enqueued": 0, "requeued": 0} and sent == []
    # When its lease runs out (the worker died) and the sweep runs
    _expire(first)
    assert services.runs_sweep() == {"enqueued": 0, "requeued": 1}
    # Then it is back in the queue and sent again, and the next claim is a new attempt
    assert sent == [(run.pk, "requeued")]
    run.refresh_from_db()
    assert run.status == "queued" and run.lease_expires_at is None
    second = jobs.work_claim(services.RUN_WORK, run.pk)
    assert second.work.attempts == 2 and second.token != first.token


def test_work_claim__attempts_used_up__gives_up_with_a_clear_error(queued, settings):
    # Given a run whose worker died on every attempt
    run = queued()
    Run.objects.filter(pk=run.pk).update(attempts=settings.RUN_MAX_ATTEMPTS)
    # When it is delivered once more
    done = services.run_execute(run.pk)
    # Then it is not run again but recorded as an error saying why, and counted as given up
    assert done.status == "error" and done.result is None and done.attempts == settings.RUN_MAX_ATTEMPTS
    assert done.error_message == "gave up after 3 attempts (the worker stopped each time)"
    assert SweepRecovery.objects.get(kind="run", action="gave_up").count == 1
    _counted_once(done)


def test_run_execute__claim_taken_over_while_running__late_worker_writes_nothing(queued, monkeypatch):
    # Given a worker running a run whose lease runs out meanwhile (it hung), so that the
    # sweep sends the run again and another worker claims it and is working on it
    run = queued()
    original = services.execute_record
    others = []

    def hang_then_run(*args, **kwargs):
        if not others:
            _expire(jobs.Claim(services.RUN_WORK, Run.objects.get(pk=run.pk), token=None))
            services.runs_sweep()
            others.append(jobs.work_claim(services.RUN_WORK, run.pk))
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "execute_record", hang_then_run)
    # When the first worker wakes up and finishes
    assert services.run_execute(run.pk) is None
    # Then its outcome is refused: the run is still the other worker's, nothing written
    run.refresh_from_db()
    assert (run.status, run.attempts, run.claim_token) == ("running", 2, others[0].token)
    assert run.result is None and not AuditEvent.objects.filter(action="run.completed").exists()
    assert not MetricRollup.objects.exists()
    # When the other worker's lease runs out too and the run is delivered again / Then it is written once
    _expire(others[0])
    services.runs_sweep()
    assert services.run_execute(run.pk).attempts == 3
    _counted_once(run)


def test_batch_chunk_process__claim_taken_over__late_worker_writes_nothing(
    released, environments, editor, sent, monkeypatch
):
    # Given a chunk of two applications whose first worker hangs mid-chunk and is given up
    # on: another worker claims it and is working on it
    batch = batches.batch_create(
        pipeline=released,
        environment=environments["development"],
        filename="two.jsonl",
        data="\n".join(json.dumps(ADULT) for _ in range(2)).encode(),
        actor=editor,
    )
    chunk = batch.chunks.get()
    original = batches.execute_record
    others = []

    def hang_then_run(*args, **kwargs):
        if not others:
            _expire(jobs.Claim(batches.CHUNK_WORK, BatchChunk.objects.get(pk=chunk.pk), token=None))
            batches.chunks_sweep()
            others.append(jobs.work_claim(batches.CHUNK_WORK, chunk.pk))
        return original(*args, **kwargs)

    monkeypatch.setattr(batches, "execute_record", hang_then_run)
    # When the first worker wakes up and writes its chunk / Then nothing is written
    assert batches.batch_chunk_process(chunk.pk) == 0
    chunk.refresh_from_db()
    assert (chunk.status, chunk.attempts, chunk.claim_token) == ("queued", 2, others[0].token)
    assert not Run.objects.filter(batch=batch).exists()
    # When the other worker's lease runs out and the chunk is delivered again / Then it is written once
    _expire(others[0])
    batches.chunks_sweep()
    assert batches.batch_chunk_process(chunk.pk) == 2
    batch.refresh_from_db()
    assert (batch.processed, batch.status, Run.objects.filter(batch=batch).count()) == (2, "completed", 2)


@pytest.mark.django_db(transaction=True)
def test_lease_kept__while_the_work_runs__renewed_by_the_heartbeat(queued, settings):
    # Given leases of 1 s renewed every 0.1 s, and a claimed run
    settings.JOB_LEASE_SECONDS, settings.JOB_HEARTBEAT_SECONDS = 1, 0.1
    run = queued()
    claim = jobs.work_claim(services.RUN_WORK, run.pk)
    # When its worker works for 1.5 s, longer than the lease, with the heartbeat on
    with claim.lease_kept() as keeper:
        time.sleep(1.5)
    # Then the lease is still live, and the sweep does not send the run again
    run.refresh_from_db()
    assert run.lease_expires_at > timezone.now() and not keeper.lost
    assert services.runs_sweep()["requeued"] == 0
