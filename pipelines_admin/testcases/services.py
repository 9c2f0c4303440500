"""Writing test cases, and running a pipeline's test suite on the workers.

`suite_start` stores a queued suite run for one exact config (a Candidate) and enqueues
it once the transaction commits; the worker's `suite_execute` runs every test case,
judges each result against its expectation and stores the masked outcome, the coverage
and an audit event, only while its claim is its own. A suite run the broker never got,
or whose worker died (its lease ran out), is sent again by `suites_sweep` (core.jobs).
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction

from pipelines_admin.accounts.permissions import RUN_SUBMIT, VERSION_CREATE, require
from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.audit.services import audit_record
from pipelines_admin.configs.candidates import candidate_resolve
from pipelines_admin.configs.engine import compiled_pipeline
from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline
from pipelines_admin.configs.overrides import apply_override
from pipelines_admin.configs.selectors import version_latest
from pipelines_admin.core import jobs
from pipelines_admin.core.errors import InvalidInput
from pipelines_admin.core.revisions import revision_check, row_revision
from pipelines_admin.runs.metrics import recovery_count
from pipelines_admin.runs.models import Run, SweepRecovery
from pipelines_admin.runs.records import record_decrypt, record_encrypt, record_mask, result_mask
from pipelines_admin.runs.services import execute_record, run_input, validate_record
from pipelines_admin.testcases import tasks
from pipelines_admin.testcases.expectations import expectation_from_result, expectation_problems, judge
from pipelines_admin.testcases.gate import cases_fingerprint
from pipelines_admin.testcases.models import SuiteRun, TestCase
from rules_engine import mask_value

logger = logging.getLogger(__name__)

SUITE_WORK = jobs.WorkKind(
    model=SuiteRun,
    task=tasks.run_suite,
    count_recovery=partial(recovery_count, SweepRecovery.Kind.SUITE_RUN),
    related=("pipeline", "environment", "version"),
)

PROGRESS_EVERY_SECONDS = 0.5


# -- test cases ---------------------------------------------------------------------------


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1].lower()


def mask_expected(expected: dict, fields: frozenset[str]) -> dict:
    """The expectation with the expected values of PII fields masked."""
    masked = dict(expected)
    if "fields" in expected:
        masked["fields"] = [
            {**item, "equals": mask_value(_leaf(item["field"]), item["equals"])}
            if "equals" in item and _leaf(item["field"]) in fields
            else item
            for item in expected["fields"]
        ]
    return masked


def _mask_failures(failures: list[dict], fields: frozenset[str]) -> list[dict]:
    masked = []
    for failure in failures:
        name = failure["what"].removeprefix("field ")
        if failure["what"].startswith("field ") and _leaf(name) in fields:
            failure = {
                **failure,
                "expected": mask_value(_leaf(name), failure["expected"]),
                "actual": mask_value(_leaf(name), failure["actual"]),
                "message": f"field {name} is not the expected value",
            }
        masked.append(failure)
    return masked


def _clean(pipeline: Pipeline, name: str, record: Any, expected: Any) -> tuple[str, dict, dict]:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(
            "A test case needs a name of 1 to 200 characters.", {"fields": {"name": ["required"]}}
        )
    record = validate_record(record, where="The test application")
    latest = version_latest(pipeline)
    problems = expectation_problems(expected, latest.document if latest else None)
    if problems:
        raise InvalidInput(
            f"The expectation has {len(problems)} problem{'s' if len(problems) != 1 else ''}.",
            {"problems": problems},
        )
    return name, record, expected


def _store(case: TestCase, record: dict, expected: dict) -> None:
    latest = version_latest(case.pipeline)
    fields = case.pipeline.masked_fields_for(latest.document if latest else None)
    case.input_encrypted, case.input_masked = record_encrypt(record), record_mask(record, fields)
    case.expected_encrypted, case.expected_masked = record_encrypt(expected), mask_expected(expected, fields)


def _save_unique(case: TestCase) -> None:
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        raise InvalidInput(
            f"{case.pipeline.slug} already has a test case named {case.name!r}.",
            {"fields": {"name": ["already used"]}},
        ) from None


@transaction.atomic
def case_create(
    *,
    pipeline: Pipeline,
    name: str,
    record: Any,
    expected: Any,
    actor,
    description: str = "",
    source_run: Run | None = None,
) -> TestCase:
    require(actor, VERSION_CREATE)
    name, record, expected = _clean(pipeline, name, record, expected)
    case = TestCase(
        pipeline=pipeline,
        name=name,
        description=description.strip(),
        source_run=source_run,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _store(case, record, expected)
    _save_unique(case)
    audit_record(
        actor=actor,
        action="test_case.created",
        object_type="test_case",
        object_id=case.pk,
        object_repr=case.name,
        pipeline=pipeline.slug,
        data={
            "expected": case.expected_masked,
            "input": case.input_masked,
            "source_run": str(source_run.pk) if source_run else None,
        },
    )
    return case


def case_revision(case: TestCase) -> str:
    """The test case's revision: it changes with every save (optimistic concurrency)."""
    return row_revision(case)


def _check_case_base(case: TestCase, base_revision: str | None) -> None:
    """Stale when the case was changed since `base_revision` (the case row is locked),
    saying who changed it and what it is now."""
    current = case_revision(case)
    if base_revision is None or base_revision == current:
        return
    changer = (
        AuditEvent.objects.filter(object_type="test_case", object_id=str(case.pk))
        .order_by("-sequence")
        .values_list("actor_name", flat=True)
        .first()
    )
    revision_check(
        base=base_revision,
        current=current,
        what=f"Test case {case.name!r}",
        extra={
            "test_case": case.pk,
            "changed_by": changer,
            "changed_at": case.updated_at.isoformat(),
            "now": {
                "name": case.name,
                "description": case.description,
                "expected": case.expected_masked,
                "input": case.input_masked,
            },
        },
    )


@transaction.atomic
def case_update(
    *,
    case: TestCase,
    name: str,
    record: Any,
    expected: Any,
    actor,
    description: str = "",
    base_revision: str | None = None,
) -> TestCase:
    require(actor, VERSION_CREATE)
    case = TestCase.objects.select_for_update(of=("self",)).select_related("pipeline").get(pk=case.pk)
    _check_case_base(case, base_revision)
    before = {"name": case.name, "expected": case.expected_masked, "input": case.input_masked}
    case.name, record, expected = _clean(case.pipeline, name, record, expected)
    case.description = description.strip()
    _store(case, record, expected)
    _save_unique(case)
    audit_record(
        actor=actor,
        action="test_case.changed",
        object_type="test_case",
        object_id=case.pk,
        object_repr=case.name,
        pipeline=case.pipeline.slug,
        diff={
            "before": before,
            "after": {"name": case.name, "expected": case.expected_masked, "input": case.input_masked},
        },
    )
    return case


@transaction.atomic
def case_delete(*, case: TestCase, actor, base_revision: str | None = None) -> None:
    require(actor, VERSION_CREATE)
    case = TestCase.objects.select_for_update(of=("self",)).select_related("pipeline").get(pk=case.pk)
    _check_case_base(case, base_revision)
    audit_record(
        actor=actor,
        action="test_case.deleted",
        object_type="test_case",
        object_id=case.pk,
        object_repr=case.name,
        pipeline=case.pipeline.slug,
        data={"expected": case.expected_masked},
    )
    case.delete()


def case_content(case: TestCase) -> tuple[dict, dict]:
    """(application, expectation) decrypted: for running and editing, never for display."""
    return record_decrypt(case.input_encrypted), record_decrypt(case.expected_encrypted)


@transaction.atomic
def case_from_run(*, run: Run, actor, name: str = "") -> TestCase:
    """Save a finished run's application as a test case expecting the same overall status."""
    if not run.finished:
        raise InvalidInput("The run has not finished yet: save it as a test case once it has.")
    if run.partial:
        raise InvalidInput(
            "This run is partial: it ran only some stages, so its decision is not the pipeline's. "
            "Run the application through every stage, then save that run as a test case."
        )
    base = name.strip() or f"{run.status.capitalize()} application from run {str(run.pk)[:8]}"
    taken = set(
        TestCase.objects.filter(pipeline=run.pipeline, name__startswith=base).values_list("name", flat=True)
    )
    unique, n = base, 2
    while unique in taken:
        unique, n = f"{base} ({n})", n + 1
    return case_create(
        pipeline=run.pipeline,
        name=unique,
        record=run_input(run),
        actor=actor,
        expected=expectation_from_result(run.status, run.result),
        description=f"Saved from run {run.pk}.",
        source_run=run,
    )


# -- suite runs ---------------------------------------------------------------------------


@transaction.atomic
def suite_start(
    *,
    pipeline: Pipeline,
    environment: Environment,
    actor,
    version: ConfigVersion | None = None,
    override: dict | None = None,
) -> SuiteRun:
    """Queue a run of every test case of `pipeline` against `version` (default: live)
    with `override` (default: the environment's) in `environment`."""
    suite = _suite_create(
        pipeline=pipeline, environment=environment, actor=actor, version=version, override=override
    )
    jobs.send_on_commit(suite_enqueue, [suite.pk])
    return suite


def _suite_create(*, pipeline, environment, actor, version, override) -> SuiteRun:
    require(actor, RUN_SUBMIT)
    candidate = candidate_resolve(pipeline, environment, version=version, override=override)
    total = TestCase.objects.filter(pipeline=pipeline).count()
    if total == 0:
        raise InvalidInput(f"{pipeline.name} has no test cases yet: add one, or save a run as a test case.")
    return SuiteRun.objects.create(
        pipeline=pipeline,
        environment=environment,
        version=candidate.version,
        override=candidate.override,
        effective_hash=candidate.effective_hash,
        cases_fingerprint=cases_fingerprint(pipeline),
        total=total,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )


def suite_enqueue(suite_id: int, recovery: str | None = None) -> bool:
    """Hand the suite run to the broker (core.jobs.work_send)."""
    return jobs.work_send(SUITE_WORK, suite_id, recovery=recovery)


def suite_run_now(
    *,
    pipeline: Pipeline,
    environment: Environment,
    actor,
    version: ConfigVersion | None = None,
    override: dict | None = None,
) -> SuiteRun | None:
    """Run the suite in this process and return the finished suite run (the command line's way)."""
    with transaction.atomic():
        suite = _suite_create(
            pipeline=pipeline, environment=environment, actor=actor, version=version, override=override
        )
    return suite_execute(suite.pk)


def suite_time_limit_exceeded(suite_id: int, *, claim: jobs.Claim | None = None) -> SuiteRun | None:
    """The worker's soft time limit stopped the suite run: record it as an error (only
    while `claim`, when given, is still the latest)."""
    error = f"stopped after the time limit of {settings.SUITE_SOFT_TIME_LIMIT} s"
    if claim is not None:
        return _finish_owned(claim, SuiteRun.Status.ERROR, error=error)
    with transaction.atomic():
        suite = (
            SuiteRun.objects.select_for_update(of=("self",))
            .select_related("pipeline", "environment")
            .filter(pk=suite_id, status__in=SuiteRun.PENDING)
            .first()
        )
        if suite is not None:
            _finish(suite, SuiteRun.Status.ERROR, error=error)
    return suite


def _finish_owned(claim: jobs.Claim, status: str, *, error: str = "", **fields) -> SuiteRun | None:
    """Write the outcome while the claim is still this worker's; None when it is not."""
    with transaction.atomic():
        suite = jobs.work_owned(claim, SuiteRun.objects.select_related("pipeline", "environment", "version"))
        if suite is None:
            return None
        for name, value in fields.items():
            setattr(suite, name, value)
        _finish(suite, status, error=error, changed=tuple(fields))
    return suite


def _finish(suite: SuiteRun, status: str, *, error: str = "", changed: tuple[str, ...] = ()) -> None:
    """Record the suite run finished (with `changed`, the outcome fields already set on it)."""
    suite.error_message = error
    jobs.work_done(suite, status, fields=("error_message", *changed))
    audit_record(
        actor=suite.requested_by,
        action="suite_run.completed",
        object_type="suite_run",
        object_id=suite.pk,
        object_repr=f"suite run #{suite.pk}",
        pipeline=suite.pipeline.slug,
        environment=suite.environment.name,
        data={
            "status": status,
            "version": suite.version.number,
            "effective_hash": suite.effective_hash,
            "total": suite.total,
            "passed": suite.passed,
            "failed": suite.failed,
            "error": error,
        },
    )


def _coverage_start(document: dict) -> dict[str, dict[str, int]]:
    return {
        f"{stage}/{rule}": {}
        for stage, body in document.get("stages", {}).items()
        for rule in body.get("rules", {})
    }


def suite_execute(suite_id: int) -> SuiteRun | None:
    """Run every test case of a queued suite run (the worker's task body). Idempotent: a
    finished suite run, or one another worker holds, is left alone."""
    claim = jobs.work_claim(SUITE_WORK, suite_id)
    if claim is None:
        return None
    if claim.out_of_attempts:
        suite = _finish_owned(claim, SuiteRun.Status.ERROR, error=claim.give_up_message)
        if suite is not None:
            recovery_count(SweepRecovery.Kind.SUITE_RUN, SweepRecovery.Action.GAVE_UP)
        return suite
    SuiteRun.objects.filter(pk=suite_id, claim_token=claim.token).update(processed=0, passed=0, failed=0)
    try:
        with claim.lease_kept():
            status, error, outcome = _run_cases(claim)
    except SoftTimeLimitExceeded:
        return suite_time_limit_exceeded(suite_id, claim=claim)
    return _finish_owned(claim, status, error=error, **outcome)


def _run_cases(claim: jobs.Claim) -> tuple[str, str, dict]:
    """Run and judge every test case for the claimed suite run: (status, error, the
    fields `_finish_owned` writes)."""
    suite = claim.work
    document = apply_override(suite.version.document, suite.override)
    try:
        engine = compiled_pipeline(document, suite.environment)
    except Exception as exc:  # noqa: BLE001 - a config that no longer compiles
        return SuiteRun.Status.ERROR, f"the config could not be compiled: {exc}", {}
    fields = suite.pipeline.masked_fields_for(document)
    cases = list(TestCase.objects.filter(pipeline=suite.pipeline).order_by("name", "pk"))
    fingerprint = cases_fingerprint(suite.pipeline)
    coverage = _coverage_start(document)
    results, passed, last_report = [], 0, time.monotonic()
    for index, case in enumerate(cases, 1):
        record, expected = case_content(case)
        status, result, ms, error = execute_record(
            engine, record, stages=None, context={"suite_run": suite.pk, "test_case": case.pk}
        )
        masked = result_mask(result, record, fields) if result else None
        failures = judge(expected, status, result, shown=masked)
        outcomes = []
        for stage in (result or {}).get("stages", []):
            for rule in stage.get("rules", []):
                key = f"{stage['name']}/{rule['id']}"
                counts = coverage.setdefault(key, {})
                counts[rule["outcome"]] = counts.get(rule["outcome"], 0) + 1
                outcomes.append([stage["name"], rule["id"], rule["outcome"]])
        passed += not failures
        results.append(
            {
                "case": case.pk,
                "name": case.name,
                "passed": not failures,
                "status": status,
                "error": error,
                "duration_ms": round(ms, 3),
                "failures": _mask_failures(failures, fields),
                "outcomes": outcomes,
                "result": masked if failures else None,
            }
        )
        if time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
            SuiteRun.objects.filter(pk=suite.pk, claim_token=claim.token).update(
                processed=index, passed=passed, failed=index - passed
            )
            last_report = time.monotonic()
    outcome = {
        "results": results,
        "coverage": coverage,
        "cases_fingerprint": fingerprint,
        "total": len(cases),
        "processed": len(cases),
        "passed": passed,
        "failed": len(cases) - passed,
    }
    if not cases:
        return SuiteRun.Status.ERROR, "the pipeline has no test cases", outcome
    return SuiteRun.Status.PASSED if passed == len(cases) else SuiteRun.Status.FAILED, "", outcome


def suites_sweep(now=None) -> dict[str, int]:
    """Re-send suite runs the broker never got or lost, or whose worker died (core.jobs)."""
    counts = jobs.work_sweep(
        SUITE_WORK, send=lambda pk, recovery: suite_enqueue(pk, recovery=recovery), now=now, limit=100
    )
    return {"suites_requeued": sum(counts.values())}
