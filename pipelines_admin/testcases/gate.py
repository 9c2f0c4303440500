"""The release gate: a protected environment only gets a config the pipeline's test
suite has passed on, exactly: the same effective-config hash, with the test cases as
they are now. A publisher may release anyway with a reason; the audit trail says so."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.core.canonical import content_hash
from pipelines_admin.core.errors import Conflict
from pipelines_admin.testcases.models import SuiteRun, TestCase


class GateClosed(Conflict):
    """The change needs a passing test suite (or a publisher's override with a reason)."""


def cases_fingerprint(pipeline: Pipeline) -> str:
    """Changes whenever a test case of the pipeline is added, edited or deleted."""
    rows = TestCase.objects.filter(pipeline=pipeline).order_by("pk").values_list("pk", "updated_at")
    return content_hash([[pk, updated.isoformat()] for pk, updated in rows])


@dataclass(frozen=True)
class GateState:
    required: bool
    open: bool
    message: str
    passing_run: SuiteRun | None = None
    latest_run: SuiteRun | None = None

    def as_dict(self) -> dict:
        return {
            "required": self.required,
            "open": self.open,
            "message": self.message,
            "passing_suite_run": self.passing_run.pk if self.passing_run else None,
            "latest_suite_run": self.latest_run.pk if self.latest_run else None,
        }


def gate_state(pipeline: Pipeline, environment: Environment, effective_hash: str) -> GateState:
    """Whether `effective_hash` may go to `environment` without an override, and why."""
    if not environment.protected:
        return GateState(False, True, f"{environment.name} is not protected: no test suite is required.")
    runs = SuiteRun.objects.filter(pipeline=pipeline, effective_hash=effective_hash).order_by(
        "-created_at", "-id"
    )
    latest = runs.first()
    if not TestCase.objects.filter(pipeline=pipeline).exists():
        return GateState(
            True,
            False,
            f"{pipeline.name} has no test cases, so nothing can show this config is "
            "safe: add test cases and run them, or release with an override.",
            latest_run=latest,
        )
    fingerprint = cases_fingerprint(pipeline)
    passing = runs.filter(status=SuiteRun.Status.PASSED, cases_fingerprint=fingerprint).first()
    if passing is not None:
        return GateState(
            True,
            True,
            f"The test suite passed on this exact config (suite run #{passing.pk}, "
            f"{passing.passed} of {passing.total} cases).",
            passing,
            latest,
        )
    short = effective_hash.removeprefix("sha256:")[:12]
    if latest is None:
        message = f"The test suite has not run on this exact config ({short}); run it first."
    elif not latest.finished:
        message = f"Suite run #{latest.pk} on this config has not finished yet."
    elif latest.status == SuiteRun.Status.PASSED:
        message = (
            f"Suite run #{latest.pk} passed on this config, but the test cases have changed since; "
            "run the suite again."
        )
    elif latest.status == SuiteRun.Status.FAILED:
        message = (
            f"The test suite failed on this exact config (suite run #{latest.pk}: {latest.failed} of "
            f"{latest.total} cases failed)."
        )
    else:
        message = f"Suite run #{latest.pk} on this config could not run: {latest.error_message}"
    return GateState(True, False, message, latest_run=latest)


def gate_enforce(
    *, pipeline: Pipeline, environment: Environment, effective_hash: str, gate_override: bool, reason: str
) -> dict:
    """Raise GateClosed unless the gate is open or overridden (with a reason); return what
    the release's audit event records about the gate."""
    state = gate_state(pipeline, environment, effective_hash)
    if not state.required:
        return {"result": "not_required"}
    if state.open:
        return {"result": "passed", "suite_run": state.passing_run.pk if state.passing_run else None}
    if not gate_override:
        raise GateClosed(f"Release gate: {state.message}", {"gate": state.as_dict()})
    return {"result": "overridden", "why_closed": state.message, "reason": reason}
