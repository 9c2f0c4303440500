"""Batches: an uploaded file of applications run in chunks by the workers.

`batch_create` reads the file (bad rows reported with their line numbers, good rows
kept), stores the records encrypted in chunks and enqueues one task per chunk after
commit. `batch_chunk_process` runs a chunk's records outside any transaction, then
writes all its runs, their metric rollups and the batch counters in one transaction;
a chunk done twice (a redelivered task) is written once. Cancelling stops the chunks
not yet written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from pipelines_admin.accounts.permissions import RUN_SUBMIT, require
from pipelines_admin.audit.services import audit_record
from pipelines_admin.configs.engine import compiled_pipeline, document_hash
from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.configs.overrides import apply_override
from pipelines_admin.core import jobs
from pipelines_admin.core.errors import InvalidInput, TooLarge
from pipelines_admin.runs import tasks
from pipelines_admin.runs.batch_files import UnreadableFile, parse_batch_file
from pipelines_admin.runs.crypto import decrypt_json, encrypt_json
from pipelines_admin.runs.masking import mask_input, mask_result
from pipelines_admin.runs.metrics import RollupAccumulator, recovery_count
from pipelines_admin.runs.models import Batch, BatchChunk, Run, SweepRecovery
from pipelines_admin.runs.services import (
    alerts_record,
    execute_record,
    resolve_config,
    review_needed_publish,
)
from pipelines_admin.webhooks.events import BATCH_FINISHED
from pipelines_admin.webhooks.services import event_publish

logger = logging.getLogger(__name__)

CHUNK_WORK = jobs.WorkKind(
    model=BatchChunk,
    task=tasks.process_batch_chunk,
    count_recovery=partial(recovery_count, SweepRecovery.Kind.BATCH_CHUNK),
    created="batch__created_at",
    related=("batch",),
    sweep_filter=Q(batch__status__in=[Batch.Status.QUEUED, Batch.Status.RUNNING]),
)


@transaction.atomic
def batch_create(
    *,
    pipeline: Pipeline,
    environment: Environment,
    filename: str,
    data: bytes,
    actor,
    source: str = Run.Source.BROWSER,
) -> Batch:
    require(actor, RUN_SUBMIT)
    if len(data) > settings.BATCH_MAX_BYTES:
        raise TooLarge(
            f"The file is {len(data):,} bytes; the limit is {settings.BATCH_MAX_BYTES:,}.",
            {"limit_bytes": settings.BATCH_MAX_BYTES},
        )
    try:
        parsed = parse_batch_file(filename, data)
    except UnreadableFile as exc:
        raise InvalidInput(str(exc)) from None
    if not parsed.records:
        raise InvalidInput(
            "The file holds no application that could be read.",
            {"rejected_rows": parsed.rejected, "rejected_count": parsed.rejected_count},
        )
    release, version, document = resolve_config(pipeline, environment, None)
    batch = Batch.objects.create(
        pipeline=pipeline,
        environment=environment,
        release=release,  # type: ignore[misc]  # without a version, the live release (or NotFound)
        effective_hash=document_hash(document),
        filename=filename[:255],
        source=source,
        submitted_by=actor if getattr(actor, "pk", None) else None,
        total=len(parsed.records),
        rejected_rows=parsed.rejected,
    )
    size = settings.BATCH_CHUNK_SIZE
    chunks = [
        BatchChunk(
            batch=batch,
            index=i // size,
            first_line=parsed.records[i][0],
            records_encrypted=encrypt_json(parsed.records[i : i + size]),
            size=len(parsed.records[i : i + size]),
        )
        for i in range(0, len(parsed.records), size)
    ]
    BatchChunk.objects.bulk_create(chunks)
    audit_record(
        actor=actor,
        action="batch.submitted",
        object_type="batch",
        object_id=batch.pk,
        object_repr=batch.filename,
        pipeline=pipeline.slug,
        environment=environment.name,
        data={
            "total": batch.total,
            "rejected_rows": parsed.rejected_count,
            "chunks": len(chunks),
            "config_version": version.number,
            "effective_hash": batch.effective_hash,
        },
    )
    jobs.send_on_commit(chunk_enqueue, list(batch.chunks.values_list("pk", flat=True)))
    return batch


def chunk_enqueue(chunk_id: int, recovery: str | None = None) -> bool:
    """Hand the chunk to the broker (core.jobs.work_send)."""
    return jobs.work_send(CHUNK_WORK, chunk_id, recovery=recovery)


def batch_chunk_process(chunk_id: int) -> int:
    """Run one chunk; returns how many runs it wrote (0 when there was nothing to do, or
    when this worker's claim was taken over meanwhile)."""
    claim = jobs.work_claim(CHUNK_WORK, chunk_id)
    if claim is None:
        return 0
    chunk = claim.work
    batch = Batch.objects.select_related("pipeline", "environment", "release__version").get(pk=chunk.batch_id)
    records = decrypt_json(chunk.records_encrypted)
    document = apply_override(batch.release.version.document, batch.release.override)
    fields = batch.pipeline.masked_fields_for(document)
    if batch.status == Batch.Status.CANCELLED:
        return _chunk_write(claim, batch, [])
    if claim.out_of_attempts:  # the worker died on this chunk every time: say so instead of trying forever
        error = claim.give_up_message
        return _chunk_write(
            claim,
            batch,
            _chunk_runs(
                batch, [(line, rec, Run.Status.ERROR, None, None, error) for line, rec in records], fields
            ),
        )
    outcomes = []
    with claim.lease_kept():
        engine = compiled_pipeline(document, batch.environment)
        for line, record in records:
            status, result, ms, error = execute_record(
                engine, record, stages=None, context={"batch_id": str(batch.pk), "line": line}
            )
            outcomes.append(
                (line, record, status, mask_result(result, record, fields) if result else None, ms, error)
            )
        runs = _chunk_runs(batch, outcomes, fields)
    return _chunk_write(claim, batch, runs)


def _chunk_runs(batch: Batch, outcomes: list, fields: frozenset[str]) -> list[Run]:
    """The chunk's runs, their inputs encrypted and masked, not yet saved: built before the
    write transaction, so the chunks of one batch wait on each other only for the write."""
    return [
        Run(
            pipeline_id=batch.pipeline_id,
            environment_id=batch.environment_id,
            config_version_id=batch.release.version_id,
            release_id=batch.release_id,
            effective_hash=batch.effective_hash,
            source=Run.Source.BATCH,
            submitted_by_id=batch.submitted_by_id,
            status=status,
            input_encrypted=encrypt_json(record),
            input_masked=mask_input(record, fields),
            result=result,
            duration_ms=ms,
            error_message=error,
            attempts=1,
            batch_id=batch.pk,
            line_number=line,
        )
        for line, record, status, result, ms, error in outcomes
    ]


class _NotWritten(Exception):
    """The optimistic write found the batch cancelled or the claim taken over: roll it back."""


def _chunk_write(claim: jobs.Claim, batch: Batch, runs: list[Run]) -> int:
    """Write the chunk's runs, metrics and counters in one transaction, while the claim is
    this worker's; a cancelled batch's chunk is cancelled instead.

    The runs, alerts and rollups are written first and the batch's row is locked last (by
    the counters' UPDATE), so the chunks of one batch write their runs side by side and
    wait on each other only for the rollups and the counters. The locks are taken in the
    order batch_cancel takes them (the batch, then the chunk). Should the batch have been
    cancelled or the claim taken over meanwhile, all of it is rolled back, and the chunk is
    settled under the batch's lock as before."""
    if runs and batch.status != Batch.Status.CANCELLED:
        try:
            with transaction.atomic():
                return _chunk_write_runs(claim, batch, runs)
        except _NotWritten:
            pass
    return _chunk_write_locked(claim, batch, runs)


def _chunk_write_runs(claim: jobs.Claim, batch: Batch, runs: list[Run]) -> int:
    """The optimistic write (inside the caller's transaction); raises _NotWritten."""
    now = timezone.now()
    started_at = claim.work.started_at
    for run in runs:
        run.enqueued_at, run.started_at, run.finished_at = claim.work.enqueued_at, started_at, now
    Run.objects.bulk_create(runs, batch_size=500)
    _runs_announce(batch, runs)
    _rollups_write(runs, now)
    counters = {
        field: F(field) + sum(1 for r in runs if r.status == status)
        for status, field in Batch.COUNTERS.items()
    }
    # the batch's row lock, taken here and held until commit: chunks finish in turn
    updated = Batch.objects.filter(
        pk=batch.pk, status__in=[Batch.Status.QUEUED, Batch.Status.RUNNING]
    ).update(
        processed=F("processed") + len(runs),
        **counters,
        status=Batch.Status.RUNNING,
        started_at=Coalesce(F("started_at"), Value(started_at or now)),
    )
    if not updated:
        raise _NotWritten
    chunk = jobs.work_owned(claim)
    if chunk is None:
        raise _NotWritten
    _chunk_done(claim, chunk, batch.pk, now)
    return len(runs)


def _chunk_write_locked(claim: jobs.Claim, batch: Batch, runs: list[Run]) -> int:
    """The chunk's write under the batch's row lock from the start: a cancelled batch's
    chunk, or a write the optimistic one could not do."""
    now = timezone.now()
    with transaction.atomic():
        locked_batch = Batch.objects.select_for_update().get(pk=batch.pk)
        chunk = jobs.work_owned(claim)
        if chunk is None:
            return 0
        if locked_batch.status == Batch.Status.CANCELLED:
            jobs.work_done(chunk, BatchChunk.Status.CANCELLED, now=now)
            return 0
        for run in runs:
            run.enqueued_at, run.started_at, run.finished_at = chunk.enqueued_at, chunk.started_at, now
        Run.objects.bulk_create(runs, batch_size=500)
        _runs_announce(batch, runs)
        _rollups_write(runs, now)
        counters = {
            field: F(field) + sum(1 for r in runs if r.status == status)
            for status, field in Batch.COUNTERS.items()
        }
        Batch.objects.filter(pk=batch.pk).update(
            processed=F("processed") + len(runs),
            **counters,
            status=Batch.Status.RUNNING,
            started_at=locked_batch.started_at or chunk.started_at or now,
        )
        _chunk_done(claim, chunk, batch.pk, now)
    return len(runs)


def _runs_announce(batch: Batch, runs: list[Run]) -> None:
    """The chunk's alerts, and the webhook events of them and of its runs sent to review."""
    alerts_record(runs, pipeline=batch.pipeline, environment=batch.environment)
    review_needed_publish(runs, pipeline=batch.pipeline, environment=batch.environment, batch_id=batch.pk)


def _batch_finished_publish(batch: Batch) -> None:
    """The `batch.finished` webhook event: the batch's id, file name, status and counts."""
    event_publish(
        event=BATCH_FINISHED,
        pipeline=batch.pipeline,
        environment=batch.environment,
        data={
            "batch_id": str(batch.pk),
            "filename": batch.filename,
            "status": batch.status,
            "submitted_by": batch.submitted_by.get_username() if batch.submitted_by else None,
            "total": batch.total,
            "processed": batch.processed,
            **{field: getattr(batch, field) for field in Batch.COUNTERS.values()},
        },
    )


def _rollups_write(runs: list[Run], now) -> None:
    metrics = RollupAccumulator()
    for run in runs:
        metrics.add_run(
            pipeline_id=run.pipeline_id,
            environment_id=run.environment_id,
            finished_at=now,
            status=run.status,
            result=run.result,
            duration_ms=run.duration_ms,
        )
    metrics.flush()


def _chunk_done(claim: jobs.Claim, chunk: BatchChunk, batch_id, now) -> None:
    """The chunk done, and the batch completed by the chunk that finds no other left (under
    the batch's row lock, so exactly one does)."""
    jobs.work_done(chunk, BatchChunk.Status.DONE, now=now)
    if claim.out_of_attempts:
        recovery_count(SweepRecovery.Kind.BATCH_CHUNK, SweepRecovery.Action.GAVE_UP)
    if not BatchChunk.objects.filter(batch_id=batch_id, status=BatchChunk.Status.QUEUED).exists():
        _batch_complete(batch_id, now)


def _batch_complete(batch_id, now) -> None:
    Batch.objects.filter(pk=batch_id).update(status=Batch.Status.COMPLETED, finished_at=now)
    batch = Batch.objects.select_related("pipeline", "environment", "submitted_by").get(pk=batch_id)
    audit_record(
        actor=batch.submitted_by,
        action="batch.completed",
        object_type="batch",
        object_id=batch.pk,
        object_repr=batch.filename,
        pipeline=batch.pipeline.slug,
        environment=batch.environment.name,
        data={"total": batch.total, **{field: getattr(batch, field) for field in Batch.COUNTERS.values()}},
    )
    _batch_finished_publish(batch)


@transaction.atomic
def batch_cancel(*, batch: Batch, actor) -> Batch:
    require(actor, RUN_SUBMIT)
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
    if batch.status in (Batch.Status.COMPLETED, Batch.Status.CANCELLED):
        raise InvalidInput(f"The batch is already {batch.status}.")
    batch.status, batch.finished_at = Batch.Status.CANCELLED, timezone.now()
    batch.save(update_fields=["status", "finished_at"])
    cancelled = batch.chunks.filter(status=BatchChunk.Status.QUEUED).update(
        status=BatchChunk.Status.CANCELLED
    )
    audit_record(
        actor=actor,
        action="batch.cancelled",
        object_type="batch",
        object_id=batch.pk,
        object_repr=batch.filename,
        pipeline=batch.pipeline.slug,
        environment=batch.environment.name,
        data={"processed": batch.processed, "total": batch.total, "chunks_cancelled": cancelled},
    )
    _batch_finished_publish(batch)
    return batch


def chunks_sweep(now=None) -> dict[str, int]:
    """Re-send chunks that never reached the broker, were lost by it, or whose worker died
    (core.jobs); how many."""
    counts = jobs.work_sweep(
        CHUNK_WORK, send=lambda pk, recovery: chunk_enqueue(pk, recovery=recovery), now=now
    )
    return {"chunks_requeued": sum(counts.values())}


def batch_results(batch: Batch) -> Iterator[Run]:
    """The batch's runs in file order (masked input and result only)."""
    return (
        batch.runs.order_by("line_number")
        .only("id", "line_number", "status", "input_masked", "result", "error_message", "duration_ms")
        .iterator(chunk_size=500)
    )
