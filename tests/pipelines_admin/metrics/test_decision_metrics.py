"""/metrics counts runs referred to a person under status review, zero included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines_admin.runs.metrics import RollupAccumulator
from tests.pipelines_admin.metrics.test_metrics_endpoint import TOKEN, metrics_token, scrape, value  # noqa: F401

pytestmark = pytest.mark.django_db


def flush(released, environment, statuses) -> None:
    accumulator = RollupAccumulator()
    for status in statuses:
        accumulator.add_run(
            pipeline_id=released.pk,
            environment_id=environment.pk,
            finished_at=datetime(2026, 3, 1, 10, 1, tzinfo=UTC),
            status=status,
            result={"stages": []},
            duration_ms=3.0,
        )
    accumulator.flush()


def test_metrics__runs_referred_to_a_person__counted_under_status_review(
    released, environments, metrics_token
):
    # Given two runs referred to a person and one passed, counted by the rollup flush
    development = environments["development"]
    flush(released, development, ("review", "passed", "review"))
    # When Prometheus scrapes
    families = scrape()
    # Then the runs counter has them under status review, beside the other decisions
    where = {"pipeline": released.slug, "environment": development.name}
    assert value(families, "rules_console_runs_total", **where, status="review") == 2
    assert value(families, "rules_console_runs_total", **where, status="passed") == 1
    assert value(families, "rules_console_runs_total", **where, status="failed") == 0


def test_metrics__no_run_referred__review_listed_with_zero(released, environments, metrics_token):
    development = environments["development"]
    flush(released, development, ("passed",))
    families = scrape()
    where = {"pipeline": released.slug, "environment": development.name}
    assert value(families, "rules_console_runs_total", **where, status="review") == 0
    assert "review" in families["rules_console_runs"].documentation
