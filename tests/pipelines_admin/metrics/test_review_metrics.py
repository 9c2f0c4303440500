"""/metrics: the review backlog and its oldest wait by pipeline and environment, the
dispositions by decision, reason code and reviewer, and the time to a decision."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipelines_admin.metrics.collectors import DECISION_BOUNDS_SECONDS
from pipelines_admin.reviews import services
from pipelines_admin.reviews.models import ReviewCase
from tests.pipelines_admin.metrics.test_metrics_endpoint import TOKEN, metrics_token, samples, scrape, value  # noqa: F401
from tests.pipelines_admin.reviews.conftest import review_run  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

WHERE = {"pipeline": "onboarding", "environment": "development"}


def test_review_metrics__nothing_in_review__families_without_series(metrics_token):
    families = scrape()
    for name in (
        "rules_console_review_backlog",
        "rules_console_review_oldest_waiting_seconds",
        "rules_console_review_dispositions",
        "rules_console_review_decision_seconds",
    ):
        assert name in families and families[name].samples == []


def test_review_metrics__waiting_and_decided_runs__backlog_dispositions_and_decision_histogram(
    metrics_token, review_run, reviewer, reviewer2
):
    # Given two runs waiting (3 and 1 hours), one approved by two reviewers after 2 hours, one
    # declined after 30 hours
    review_run(age=timedelta(hours=3))
    review_run(age=timedelta(hours=1))
    approved = review_run(age=timedelta(hours=2), approvals=2)
    services.review_decide(run=approved, actor=reviewer, decision="approve", reason_code="false_positive")
    services.review_decide(run=approved, actor=reviewer2, decision="approve", reason_code="verified_identity")
    declined = review_run(age=timedelta(hours=30))
    services.review_decide(run=declined, actor=reviewer, decision="decline", reason_code="confirmed_match")
    # When /metrics is scraped
    families = scrape()
    # Then the backlog is the two waiting runs, the oldest of them 3 hours
    assert value(families, "rules_console_review_backlog", **WHERE) == 2
    assert (
        3 * 3600 - 60
        < value(families, "rules_console_review_oldest_waiting_seconds", **WHERE)
        < 3 * 3600 + 60
    )

    # and each disposition is counted by decision, reason code and reviewer
    def dispositions(**labels):
        return value(families, "rules_console_review_dispositions_total", **WHERE, **labels)

    assert dispositions(decision="approve", reason_code="false_positive", reviewer="rita") == 1
    assert dispositions(decision="approve", reason_code="verified_identity", reviewer="rex") == 1
    assert dispositions(decision="decline", reason_code="confirmed_match", reviewer="rita") == 1
    assert len(samples(families, "rules_console_review_dispositions_total")) == 3
    # and the two decided cases are in the decision histogram: 2 hours and 30 hours
    assert value(families, "rules_console_review_decision_seconds_count", **WHERE) == 2
    total = value(families, "rules_console_review_decision_seconds_sum", **WHERE)
    assert 32 * 3600 - 120 < total < 32 * 3600 + 120
    buckets = {
        s.labels["le"]: s.value
        for s in samples(families, "rules_console_review_decision_seconds_bucket", **WHERE)
    }
    assert buckets["3600.0"] == 0 and buckets["14400.0"] == 1 and buckets["86400.0"] == 1
    assert buckets["172800.0"] == 2 and buckets["+Inf"] == 2
    assert len(buckets) == len(DECISION_BOUNDS_SECONDS) + 1
    assert ReviewCase.objects.filter(status__in=ReviewCase.DECIDED).count() == 2
