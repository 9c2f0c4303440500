"""Submitting and executing runs, and the sweep that makes sure none is lost.

Lifecycle (pipelines_admin.core.jobs): `run_submit` stores the run (queued) and sends
its id once the transaction commits. The worker's `run_execute` claims it (running,
under a lease its heartbeat renews), runs the engine outside any transaction, then
stores the masked result, the metric rollups and the audit event in one transaction,
only while the claim is still its own. A broker that is down at submit time leaves the
run queued; a worker that dies stops renewing its lease; `runs_sweep` re-sends both,
and the claim gives up (status error) after RUN_MAX_ATTEMPTS attempts. Each recovery
is counted (SweepRecovery, runs.metrics.recovery_count) in the transaction that
records it.
"""

from __future__ import annotations

import json
import logging
import time
from functools import partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pipelines_admin.accounts.permissions import RUN_SUBMIT, require
from pipelines_admin.audit.services import audit_record
from pipelines_admin.configs.engine import compiled_pipeline, document_hash
from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline, Release
from pipelines_admin.configs.overrides import apply_override
from pipelines_admin.configs.selectors import release_live
from pipelines_admin.core import jobs
from pipelines_admin.core.errors import InvalidInput, NotFound
from pipelines_admin.core.json_data import unstorable
from pipelines_admin.runs import tasks
from pipelines_admin.runs.crypto import decrypt_json, encrypt_json
from pipelines_admin.runs.masking import mask_input, mask_result
from pipelines_admin.runs.metrics import RollupAccumulator, recovery_count
from pipelines_admin.runs.models import Alert, Run, SweepRecovery
from pipelines_admin.webhooks.events import ALERT_FIRED, REVIEW_NEEDED
from pipelines_admin.webhooks.services import event_publish

logger = logging.getLogger(__name__)

#: what one webhook event lists at most (its count says how many there were)
ALERTS_PER_EVENT = 50
RUN_IDS_PER_EVENT = 500

RUN_WORK = jobs.WorkKind(
    model=Run,
    task=tasks.execute_run,
    count_recovery=partial(recovery_count, SweepRecovery.Kind.RUN),
    related=("pipeline", "environment"),
)


def runs_audited(document: dict) -> bool:
    """`execution_settings.enable_audit_logging` (default true): whether each run of the
    config writes an audit event. Changes to configs are audited whatever it says."""
    settings_ = document.get("execution_settings") if isinstance(document, dict) else None
    return not (isinstance(settings_, dict) and settings_.get("enable_audit_logging") is False)


def alerts_record(
    runs: list[Run], *, pipeline: Pipeline | None = None, environment: Environment | None = None
) -> int:
    """An Alert for each alert in the runs' results (the config's
    performance_monitoring.alert_on_timeout), in the caller's transaction, and the
    `alert.fired` webhook event of them. `pipeline`, `environment`: the runs' (all the
    same), when the caller has them already."""
    alerts = [
        Alert(
            pipeline_id=run.pipeline_id,
            environment_id=run.environment_id,
            run_id=run.pk,
            kind=str(entry.get("kind", "")),
            stage=str(entry.get("stage", "")),
            rule=str(entry.get("rule", "")),
            message=str(entry.get("message", ""))[:1000],
        )
        for run in runs
        for entry in (run.result or {}).get("alerts", [])
        if isinstance(entry, dict)
    ]
    Alert.objects.bulk_create(alerts)
    if alerts:
        first = runs[0]
        event_publish(
            event=ALERT_FIRED,
            pipeline=pipeline or first.pipeline,
            environment=environment or first.environment,
            data={
                "count": len(alerts),
                "batch_id": str(first.batch_id) if first.batch_id else None,
                # the alert's kind and where: never the application's values
                "alerts": [
                    {"run_id": str(a.run_id), "kind": a.kind, "stage": a.stage, "rule": a.rule}
                    for a in alerts[:ALERTS_PER_EVENT]
                ],
            },
        )
    return len(alerts)


def review_needed_publish(
    runs: list[Run], *, pipeline: Pipeline, environment: Environment, batch_id=None
) -> int:
    """The `review.needed` webhook event of the runs a rule sent to review (in the
    caller's transaction): their ids and how many, never their applications."""
    waiting = [str(run.pk) for run in runs if run.status == Run.Status.REVIEW]
    if not waiting:
        return 0
    return event_publish(
        event=REVIEW_NEEDED,
        pipeline=pipeline,
        environment=environment,
        data={
            "count": len(waiting),
            "batch_id": str(batch_id) if batch_id else None,
            "run_ids": waiting[:RUN_IDS_PER_EVENT],
        },
    )


def run_document(run: Run) -> dict:
    """The config a run executes: its release's effective config, or the pinned version."""
    if run.release is not None:
        return apply_override(run.release.version.document, run.release.override)
    return run.config_version.document


def resolve_config(
    pipeline: Pipeline, environment: Environment, version: ConfigVersion | None
) -> tuple[Release | None, ConfigVersion, dict]:
    """(release, version, document) a new run of `pipeline` in `environment` executes."""
    if version is not None:
        if version.pipeline_id != pipeline.pk:
            raise NotFound(f"Version {version.number} does not belong to {pipeline.slug}.")
        return None, version, version.document
    release = release_live(pipeline, environment)
    if release is None:
        raise NotFound(
            f"{pipeline.slug} has not been released to {environment.name}: release a version or "
            "choose one to run.",
            {"pipeline": pipeline.slug, "environment": environment.name},
        )
    return release, release.version, apply_override(release.version.document, release.override)


def validate_record(record: Any, *, where: str = "The application") -> dict:
    if not isinstance(record, dict):
        raise InvalidInput(
            f"{where} must be a JSON object of field names and values.",
            {"problems": [{"path": "", "message": "expected an object"}]},
        )
    problem = unstorable(record)  # before encoding: it also guards the encoder against deep nesting
    if problem:
        raise InvalidInput(f"{where} is not valid JSON data: {problem}.")
    try:
        size = len(json.dumps(record, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{where} is not valid JSON data: {exc}.") from None
    if size > settings.RUN_INPUT_MAX_BYTES:
        raise InvalidInput(f"{where} is {size} bytes; the limit is {settings.RUN_INPUT_MAX_BYTES}.")
    return record


def validate_stages(stages: list[str] | None, document: dict) -> list[str] | None:
    """The chosen stages of a partial run, or None for a whole run (nothing chosen, or
    every enabled stage chosen)."""
    if not stages:
        return None
    known = document.get("stages", {})
    unknown = [s for s in stages if s not in known]
    if unknown:
        raise InvalidInput(
            f"Unknown stage{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} "
            f"(the pipeline has {', '.join(known)}).",
            {"stages": unknown},
        )
    enabled = [
        name for name, stage in known.items() if not isinstance(stage, dict) or stage.get("enabled", True)
    ]
    if set(enabled) <= set(stages):
        return None
    return list(dict.fromkeys(stages))


@transaction.atomic
def run_submit(
    *,
    pipeline: Pipeline,
    environment: Environment,
    record: Any,
    actor,
    source: str = Run.Source.BROWSER,
    version: ConfigVersion | None = None,
    stages: list[str] | None = None,
) -> Run:
    """Store a run of `record` and enqueue it once this transaction commits."""
    require(actor, RUN_SUBMIT)
    record = validate_record(record)
    release, version, document = resolve_config(pipeline, environment, version)
    run = Run.objects.create(
        pipeline=pipeline,
        environment=environment,
        config_version=version,
        release=release,
        effective_hash=document_hash(document),
        source=source,
        submitted_by=actor if getattr(actor, "pk", None) else None,
        stages=validate_stages(stages, document),
        input_encrypted=encrypt_json(record),
        input_masked=mask_input(record, pipeline.masked_fields_for(document)),
    )
    jobs.send_on_commit(run_enqueue, [run.pk])
    return run


def run_enqueue(run_id, recovery: str | None = None) -> bool:
    """Hand the run to the broker (core.jobs.work_send): a broker that is down leaves it
    queued for the sweep."""
    return jobs.work_send(RUN_WORK, run_id, recovery=recovery)


def execute_record(
    pipeline_engine, record: dict, *, stages, context: dict
) -> tuple[str, dict | None, float, str]:
    """Run one record; (status, result dict, wall ms, error message). Never raises."""
    started = time.perf_counter()
    try:
        result = pipeline_engine.run(record, stages=stages, context=context).to_dict()
    except Exception as exc:  # noqa: BLE001 - whatever the engine raises is the run's error
        return (
            Run.Status.ERROR,
            None,
            (time.perf_counter() - started) * 1000,
            f"internal error: {type(exc).__name__}",
        )
    return result["status"], result, (time.perf_counter() - started) * 1000, ""


def run_execute(run_id) -> Run | None:
    """Execute a queued run (the worker's task body). Idempotent: a finished run, or one
    another worker holds, is left alone; a worker that lost its claim writes nothing."""
    claim = jobs.work_claim(RUN_WORK, run_id)
    if claim is None:
        return None
    if claim.out_of_attempts:
        return _finish_owned(claim, status=Run.Status.ERROR, error=claim.give_up_message, gave_up=True)
    try:
        with claim.lease_kept():
            outcome = _run_claimed(claim.work)
    except SoftTimeLimitExceeded:
        return run_time_limit_exceeded(run_id, claim=claim)
    return _finish_owned(claim, **outcome)


def _run_claimed(run: Run) -> dict:
    """Run the engine on the claimed run: the outcome `_finish_owned` writes."""
    record = decrypt_json(run.input_encrypted)
    document = run_document(run)
    try:
        engine = compiled_pipeline(document, run.environment)
    except Exception as exc:  # noqa: BLE001 - a config that no longer compiles (for example an unbound service)
        return {
            "status": Run.Status.ERROR,
            "error": f"the config could not be compiled: {exc}",
            "document": document,
        }
    status, result, duration_ms, error = execute_record(
        engine, record, stages=run.stages, context={"run_id": str(run.pk)}
    )
    masked = mask_result(result, record, run.pipeline.masked_fields_for(document)) if result else None
    return {
        "status": status,
        "result": masked,
        "duration_ms": duration_ms,
        "error": error,
        "document": document,
    }


def _finish_owned(
    claim: jobs.Claim,
    *,
    status: str,
    error: str,
    result: dict | None = None,
    duration_ms: float | None = None,
    document: dict | None = None,
    gave_up: bool = False,
) -> Run | None:
    """Write the outcome while the claim is still this worker's; None when it is not (a
    later claim took the run over, or it finished): nothing is written twice."""
    with transaction.atomic():
        run = jobs.work_owned(claim, Run.objects.select_related("pipeline", "environment"))
        if run is None:
            return None
        _finish(run, status=status, result=result, duration_ms=duration_ms, error=error, document=document)
        if gave_up:
            recovery_count(SweepRecovery.Kind.RUN, SweepRecovery.Action.GAVE_UP)
    return run


def _finish(
    run: Run,
    *,
    status: str,
    result: dict | None,
    duration_ms: float | None,
    error: str,
    document: dict | None = None,
) -> None:
    """Store the outcome, its metrics and its audit event (inside the caller's transaction).
    `document`: the config the run executed, when the caller has it already."""
    run.result, run.duration_ms, run.error_message = result, duration_ms, error
    jobs.work_done(run, status, fields=("result", "duration_ms", "error_message"))
    metrics = RollupAccumulator()
    metrics.add_run(
        pipeline_id=run.pipeline_id,
        environment_id=run.environment_id,
        finished_at=run.finished_at or timezone.now(),  # work_done has just set it
        status=status,
        result=result,
        duration_ms=duration_ms,
    )
    metrics.flush()
    alerts_record([run], pipeline=run.pipeline, environment=run.environment)
    review_needed_publish([run], pipeline=run.pipeline, environment=run.environment)
    if run.batch_id is None and runs_audited(document if document is not None else run_document(run)):
        audit_record(
            actor=run.submitted_by,
            action="run.completed",
            object_type="run",
            object_id=run.pk,
            object_repr=f"run {run.pk}",
            pipeline=run.pipeline.slug,
            environment=run.environment.name,
            data={
                "status": status,
                "config_version": run.config_version.number if run.config_version_id else None,
                "effective_hash": run.effective_hash,
                "source": run.source,
                "attempts": run.attempts,
                "error": error,
                **({"partial_stages": run.stages} if run.partial else {}),
            },
        )


def runs_sweep(now=None) -> dict[str, int]:
    """Re-send runs the broker never got or lost, and runs whose worker died (core.jobs)."""
    return jobs.work_sweep(
        RUN_WORK, send=lambda pk, recovery: run_enqueue(pk, recovery=recovery), now=now, limit=500
    )


def run_input(run: Run) -> dict:
    """The run's original input, decrypted (for replaying it; never for display)."""
    return decrypt_json(run.input_encrypted)


def run_time_limit_exceeded(run_id, *, claim: jobs.Claim | None = None) -> Run | None:
    """The worker's soft time limit stopped the run: record it as an error (only while
    `claim`, when given, is still the latest)."""
    error = f"stopped after the time limit of {settings.RUN_SOFT_TIME_LIMIT} s"
    if claim is not None:
        return _finish_owned(claim, status=Run.Status.ERROR, error=error)
    with transaction.atomic():
        run = (
            Run.objects.select_for_update(of=("self",))
            .select_related("pipeline", "environment")
            .filter(pk=run_id, status__in=Run.PENDING)
            .first()
        )
        if run is not None:
            _finish(run, status=Run.Status.ERROR, result=None, duration_ms=None, error=error)
    return run
