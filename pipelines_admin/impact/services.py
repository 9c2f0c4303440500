"""Impact analysis: replay past applications against the live config and a candidate.

`impact_start` picks the window (the latest finished runs of the pipeline in the
environment), stores the report and its chunks of run ids, and enqueues one task per
chunk after commit. `impact_chunk_process` claims a chunk (core.jobs), replays it
outside any transaction, then adds its tallies and flipped samples to the report in one
transaction while the claim is its own; a chunk done twice (a redelivered task, a worker
given up on that wakes up) is counted once. The last chunk completes the report.
"""

from __future__ import annotations

import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from pipelines_admin.accounts.permissions import RUN_SUBMIT, require
from pipelines_admin.audit.services import audit_record
from pipelines_admin.configs.candidates import candidate_resolve
from pipelines_admin.configs.engine import compiled_pipeline
from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline
from pipelines_admin.configs.overrides import apply_override
from pipelines_admin.core import jobs
from pipelines_admin.core.errors import InvalidInput, NotFound
from pipelines_admin.impact import tasks
from pipelines_admin.impact.models import ImpactChunk, ImpactReport
from pipelines_admin.impact.tally import ImpactTally
from pipelines_admin.runs.metrics import recovery_count
from pipelines_admin.runs.models import Run, SweepRecovery
from pipelines_admin.runs.records import record_decrypt, result_mask
from pipelines_admin.runs.services import execute_record

logger = logging.getLogger(__name__)

IMPACT_CHUNK_WORK = jobs.WorkKind(
    model=ImpactChunk,
    task=tasks.process_impact_chunk,
    count_recovery=partial(recovery_count, SweepRecovery.Kind.IMPACT_CHUNK),
    created="report__created_at",
    related=("report",),
    sweep_filter=Q(report__status__in=[ImpactReport.Status.QUEUED, ImpactReport.Status.RUNNING]),
)


def replay_window(pipeline: Pipeline, environment: Environment, last: int) -> list[str]:
    """Ids of the latest `last` finished runs of the whole pipeline (not of chosen stages), newest first."""
    return [
        str(pk)
        for pk in Run.objects.filter(
            pipeline=pipeline,
            environment=environment,
            status__in=Run.FINISHED,
            stages__isnull=True,
        )
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)[:last]
    ]


def _create(*, pipeline, environment, actor, version, override, last) -> ImpactReport:
    require(actor, RUN_SUBMIT)
    if not isinstance(last, int) or not 1 <= last <= settings.IMPACT_MAX_RUNS:
        raise InvalidInput(
            f"Replay between 1 and {settings.IMPACT_MAX_RUNS:,} past runs.",
            {"fields": {"last": [f"1 to {settings.IMPACT_MAX_RUNS}"]}},
        )
    candidate = candidate_resolve(pipeline, environment, version=version, override=override)
    live = candidate.live
    if live is None:
        raise NotFound(
            f"{pipeline.slug} has not been released to {environment.name}: there is nothing live "
            "to compare with.",
            {"pipeline": pipeline.slug, "environment": environment.name},
        )
    if candidate.is_live:
        raise InvalidInput(
            f"That is exactly what runs in {environment.name} now: pick another version or "
            "change the override."
        )
    ids = replay_window(pipeline, environment, last)
    if not ids:
        raise InvalidInput(f"{pipeline.name} has no finished runs in {environment.name} to replay yet.")
    report = ImpactReport.objects.create(
        pipeline=pipeline,
        environment=environment,
        baseline_release=live,
        baseline_hash=live.effective_hash,
        candidate_version=candidate.version,
        candidate_override=candidate.override,
        candidate_hash=candidate.effective_hash,
        window=last,
        total=len(ids),
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    size = settings.IMPACT_CHUNK_SIZE
    ImpactChunk.objects.bulk_create(
        [
            ImpactChunk(report=report, index=i // size, run_ids=ids[i : i + size])
            for i in range(0, len(ids), size)
        ]
    )
    audit_record(
        actor=actor,
        action="impact.started",
        object_type="impact_report",
        object_id=report.pk,
        object_repr=f"impact report #{report.pk}",
        pipeline=pipeline.slug,
        environment=environment.name,
        data={
            "candidate_version": candidate.version.number,
            "candidate_hash": candidate.effective_hash,
            "baseline_hash": live.effective_hash,
            "runs": len(ids),
        },
    )
    return report


@transaction.atomic
def impact_start(
    *,
    pipeline: Pipeline,
    environment: Environment,
    actor,
    last: int,
    version: ConfigVersion | None = None,
    override: dict | None = None,
) -> ImpactReport:
    """Queue an analysis of `version` (default: live) with `override` (default: the
    environment's) against what is live, over the latest `last` runs there."""
    report = _create(
        pipeline=pipeline, environment=environment, actor=actor, version=version, override=override, last=last
    )
    jobs.send_on_commit(chunk_enqueue, list(report.chunks.values_list("pk", flat=True)))
    return report


def impact_run_now(
    *,
    pipeline: Pipeline,
    environment: Environment,
    actor,
    last: int,
    version: ConfigVersion | None = None,
    override: dict | None = None,
) -> ImpactReport:
    """Run the whole analysis in this process (the command line's way)."""
    with transaction.atomic():
        report = _create(
            pipeline=pipeline,
            environment=environment,
            actor=actor,
            version=version,
            override=override,
            last=last,
        )
    for chunk_id in report.chunks.values_list("pk", flat=True):
        impact_chunk_process(chunk_id)
    report.refresh_from_db()
    return report


def chunk_enqueue(chunk_id: int, recovery: str | None = None) -> bool:
    """Hand the chunk to the broker (core.jobs.work_send)."""
    return jobs.work_send(IMPACT_CHUNK_WORK, chunk_id, recovery=recovery)


def impact_chunk_process(chunk_id: int) -> int:
    """Replay one chunk; returns how many applications it counted (0: nothing to do, or
    this worker's claim was taken over meanwhile)."""
    claim = jobs.work_claim(IMPACT_CHUNK_WORK, chunk_id)
    if claim is None:
        return 0
    report = ImpactReport.objects.select_related(
        "pipeline", "environment", "baseline_release__version", "candidate_version"
    ).get(pk=claim.work.report_id)
    tally = ImpactTally()
    samples: list[dict] = []
    if claim.out_of_attempts or report.status == ImpactReport.Status.CANCELLED:
        return _chunk_write(claim, report.pk, tally, samples)
    with claim.lease_kept():
        _replay(claim.work, report, tally, samples)
    return _chunk_write(claim, report.pk, tally, samples)


def _replay(chunk: ImpactChunk, report: ImpactReport, tally: ImpactTally, samples: list) -> None:
    """Replay the chunk's runs against both configs, into `tally` and `samples`."""
    baseline_document = apply_override(
        report.baseline_release.version.document, report.baseline_release.override
    )
    candidate_document = apply_override(report.candidate_version.document, report.candidate_override)
    baseline = compiled_pipeline(baseline_document, report.environment)
    candidate = compiled_pipeline(candidate_document, report.environment)
    fields = report.pipeline.masked_fields_for(baseline_document, candidate_document)
    context = {"impact_report": report.pk}
    runs = Run.objects.filter(pk__in=chunk.run_ids).only("id", "input_encrypted", "input_masked")
    warmed = False
    for run in runs.iterator(chunk_size=500):
        record = record_decrypt(run.input_encrypted)
        if not warmed:  # first calls load libraries' data: keep that out of either side's latency
            execute_record(baseline, record, stages=None, context=context)
            execute_record(candidate, record, stages=None, context=context)
            warmed = True
        before_status, before, before_ms, _ = execute_record(baseline, record, stages=None, context=context)
        after_status, after, after_ms, _ = execute_record(candidate, record, stages=None, context=context)
        direction = tally.add(before_status, before, before_ms, after_status, after, after_ms)
        if direction and len(samples) < settings.IMPACT_SAMPLE_SIZE:
            samples.append(
                {
                    "run": str(run.pk),
                    "direction": direction,
                    "before_status": before_status,
                    "after_status": after_status,
                    "input": run.input_masked,
                    "before": result_mask(before, record, fields) if before else None,
                    "after": result_mask(after, record, fields) if after else None,
                }
            )


def _chunk_write(claim: jobs.Claim, report_id: int, tally: ImpactTally, samples: list) -> int:
    """Add the chunk's tallies to the report in one transaction, while the claim is this
    worker's; a cancelled report's chunk is cancelled instead."""
    now = timezone.now()
    with transaction.atomic():
        report = ImpactReport.objects.select_for_update().get(
            pk=report_id
        )  # chunks of a report add up in turn
        chunk = jobs.work_owned(claim)
        if chunk is None:
            return 0
        if report.status == ImpactReport.Status.CANCELLED:
            jobs.work_done(chunk, ImpactChunk.Status.CANCELLED, now=now)
            return 0
        jobs.work_done(chunk, ImpactChunk.Status.DONE, now=now)
        report.tally = ImpactTally(report.tally).merge(tally.data).data
        report.samples = (report.samples + samples)[: settings.IMPACT_SAMPLE_SIZE]
        counted = tally.data["replayed"]
        report.processed += len(chunk.run_ids)
        if (
            claim.out_of_attempts
        ):  # the worker died on this chunk every time: say so instead of trying forever
            report.tally["skipped"] = report.tally.get("skipped", 0) + len(chunk.run_ids)
            recovery_count(SweepRecovery.Kind.IMPACT_CHUNK, SweepRecovery.Action.GAVE_UP)
        report.status = ImpactReport.Status.RUNNING
        report.started_at = report.started_at or chunk.started_at or now
        if not ImpactChunk.objects.filter(report_id=report_id, status=ImpactChunk.Status.QUEUED).exists():
            report.status, report.finished_at = ImpactReport.Status.COMPLETED, now
        report.save()
        if report.status == ImpactReport.Status.COMPLETED:
            _report_completed(report)
    return counted


def _report_completed(report: ImpactReport) -> None:
    flips = report.tally.get("flips", {})
    audit_record(
        actor=report.requested_by,
        action="impact.completed",
        object_type="impact_report",
        object_id=report.pk,
        object_repr=f"impact report #{report.pk}",
        pipeline=report.pipeline.slug,
        environment=report.environment.name,
        data={
            "candidate_version": report.candidate_version.number,
            "candidate_hash": report.candidate_hash,
            "replayed": report.tally.get("replayed", 0),
            "flips_to_fail": flips.get("to_fail", 0),
            "flips_to_pass": flips.get("to_pass", 0),
            "flips_to_review": flips.get("to_review", 0),
            "flips_from_review": flips.get("from_review", 0),
        },
    )


@transaction.atomic
def impact_cancel(*, report: ImpactReport, actor) -> ImpactReport:
    require(actor, RUN_SUBMIT)
    report = ImpactReport.objects.select_for_update().get(pk=report.pk)
    if report.finished:
        raise InvalidInput(f"The analysis is already {report.status}.")
    report.status, report.finished_at = ImpactReport.Status.CANCELLED, timezone.now()
    report.save(update_fields=["status", "finished_at"])
    report.chunks.filter(status=ImpactChunk.Status.QUEUED).update(status=ImpactChunk.Status.CANCELLED)
    audit_record(
        actor=actor,
        action="impact.cancelled",
        object_type="impact_report",
        object_id=report.pk,
        object_repr=f"impact report #{report.pk}",
        pipeline=report.pipeline.slug,
        environment=report.environment.name,
        data={"processed": report.processed, "total": report.total},
    )
    return report


def impact_sweep(now=None) -> dict[str, int]:
    """Re-send chunks that never reached the broker, were lost by it, or whose worker died
    (core.jobs); how many."""
    counts = jobs.work_sweep(
        IMPACT_CHUNK_WORK, send=lambda pk, recovery: chunk_enqueue(pk, recovery=recovery), now=now
    )
    return {"impact_chunks_requeued": sum(counts.values())}
