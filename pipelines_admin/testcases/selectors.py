"""Reads of test cases, suite runs and coverage."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from pipelines_admin.configs.models import Pipeline
from pipelines_admin.core.errors import NotFound
from pipelines_admin.testcases.expectations import OUTCOMES
from pipelines_admin.testcases.models import SuiteRun, TestCase


def case_list(pipeline: Pipeline) -> QuerySet[TestCase]:
    return pipeline.test_cases.select_related("created_by").order_by("name", "pk")


def case_get(pipeline: Pipeline, case_id) -> TestCase:
    try:
        return pipeline.test_cases.select_related("pipeline", "source_run").get(pk=case_id)
    except (TestCase.DoesNotExist, ValueError, ValidationError):
        raise NotFound(f"{pipeline.slug} has no test case {case_id}.", {"test_case": str(case_id)}) from None


def suite_run_list(pipeline: Pipeline) -> QuerySet[SuiteRun]:
    return (
        pipeline.suite_runs.select_related("environment", "version", "requested_by")
        .defer("results", "coverage")
        .order_by("-created_at", "-id")
    )


def suite_run_get(pipeline: Pipeline, suite_id) -> SuiteRun:
    try:
        return pipeline.suite_runs.select_related("pipeline", "environment", "version", "requested_by").get(
            pk=suite_id
        )
    except (SuiteRun.DoesNotExist, ValueError, ValidationError):
        raise NotFound(
            f"{pipeline.slug} has no suite run {suite_id}.", {"suite_run": str(suite_id)}
        ) from None


def suite_run_latest(pipeline: Pipeline) -> SuiteRun | None:
    """The newest suite run that ran its cases (passed or failed)."""
    return (
        pipeline.suite_runs.filter(status__in=[SuiteRun.Status.PASSED, SuiteRun.Status.FAILED])
        .select_related("environment", "version")
        .order_by("-finished_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class CoverageRow:
    stage: str
    rule: str
    counts: dict[str, int]

    @property
    def exercised(self) -> bool:
        """Some test case makes the rule pass or fail (a skip or an error tests nothing)."""
        return bool(self.counts.get("pass") or self.counts.get("fail"))

    @property
    def cells(self) -> list[int]:
        return [self.counts.get(outcome, 0) for outcome in OUTCOMES]


@dataclass(frozen=True)
class Coverage:
    suite_run: SuiteRun | None
    rows: list[CoverageRow] = field(default_factory=list)

    @property
    def untested(self) -> list[CoverageRow]:
        return [row for row in self.rows if not row.exercised]

    @property
    def outcomes(self) -> tuple[str, ...]:
        return OUTCOMES


def coverage(pipeline: Pipeline, suite_run: SuiteRun | None = None) -> Coverage:
    """For each rule of the config the suite ran, how many test cases made it pass, fail,
    skip, error or time out (the newest suite run by default)."""
    suite_run = suite_run or suite_run_latest(pipeline)
    if suite_run is None:
        return Coverage(None)
    rows = []
    for key, counts in suite_run.coverage.items():
        stage, _, rule = key.partition("/")
        rows.append(CoverageRow(stage, rule, counts))
    return Coverage(suite_run, rows)


def case_outcomes(suite_run: SuiteRun | None) -> dict[int, dict]:
    """Test case id -> its entry in a suite run's results."""
    return {entry["case"]: entry for entry in (suite_run.results if suite_run else [])}
