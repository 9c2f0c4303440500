"""From a PEP hit to a decision, with the real engine: the demo customer onboarding
pipeline sends a PEP match to review (`on_fail: review`, two approvals); two reviewers
decide it, and the audit trail, the API, the run page, the dashboards and /metrics show it."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.audit.services import audit_verify
from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.configs.samples import sample_get
from pipelines_admin.demo.pipelines import demo_pipelines_ensure
from pipelines_admin.reviews import selectors, services
from pipelines_admin.runs.services import run_execute, run_submit

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "review-metrics-token-0123456789abcdef"


def metric(text: str, name: str, **labels) -> float:
    found = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_pep_hit__demo_onboarding__queued_for_two_reviewers_then_approved_everywhere_shown(
    superuser, environments, editor, reviewer, reviewer2, viewer, settings
):
    # Given the demo customer onboarding pipeline, whose PEP screening sends a match to two reviewers
    demo_pipelines_ensure(actor=superuser)
    pipeline = Pipeline.objects.get(slug="customer-onboarding")
    development = Environment.objects.get(name="development")
    applicant = sample_get("pep-hit")["record"]
    # When the PEP-hit applicant is submitted and the worker runs it
    run = run_execute(
        run_submit(pipeline=pipeline, environment=development, record=applicant, actor=editor).pk
    )
    # Then the run is in review, routed by the PEP rule, and waits in the queue for two approvals
    assert run.status == "review", run.result["decision"]
    assert run.result["decision"]["review"] == {"rules": ["pep_screening"], "approvals": 2}
    assert list(
        selectors.review_queue({"pipeline": "customer-onboarding", "environment": "development"})
    ) == [run]
    review = selectors.review_get(run.pk)
    assert review.approvals_required == 2 and review.rules == ["pep_screening"]
    assert "name" in selectors.revealable_fields(run)

    # When a reviewer reveals the name, approves, and a second reviewer approves
    assert (
        services.review_reveal(run=run, actor=reviewer, field="name", reason="compare with the PEP entry")
        == (applicant["name"])
    )
    services.review_decide(
        run=run,
        actor=reviewer,
        decision="approve",
        reason_code="false_positive",
        note="Different date of birth.",
    )
    case = services.review_decide(
        run=run, actor=reviewer2, decision="approve", reason_code="verified_identity"
    )

    # Then it is approved and out of the queue
    assert case.status == "approved" and case.approvals == 2
    assert selectors.backlog_count() == 0
    # and the audit trail holds each step, never the revealed name, and verifies
    actions = list(
        AuditEvent.objects.filter(object_id=str(run.pk)).order_by("sequence").values_list("action", flat=True)
    )
    assert actions[-5:] == [
        "review.claimed",
        "review.field_revealed",
        "review.approved",
        "review.claimed",
        "review.approved",
    ]
    assert applicant["name"] not in str([e.hashed_fields() for e in AuditEvent.objects.all()])
    assert audit_verify()[1] == []
    # and the API shows the decision
    api = APIClient()
    api.force_authenticate(viewer)
    body = api.get(f"/api/v1/reviews/{run.pk}/").json()
    assert body["status"] == "approved" and [d["reviewer"] for d in body["dispositions"]] == ["rita", "rex"]
    # and the run page shows both dispositions
    browser = Client()
    browser.force_login(viewer)
    page = browser.get(f"/runs/{run.pk}/").content.decode()
    assert "Review: approved" in page and "<strong>rita</strong>" in page and "<strong>rex</strong>" in page
    # and the dashboards count the decision and the dispositions
    dashboards = browser.get("/dashboards/").content.decode()
    assert "(1 approved, 0 declined)" in dashboards and "Identity verified with documents" in dashboards
    # and /metrics counts the dispositions, the decision time and an empty backlog
    settings.METRICS_TOKEN = METRICS_TOKEN
    text = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").content.decode()
    where = {"pipeline": "customer-onboarding", "environment": "development"}
    assert (
        metric(
            text,
            "rules_console_review_dispositions_total",
            **where,
            decision="approve",
            reason_code="false_positive",
            reviewer="rita",
        )
        == 1
    )
    assert metric(text, "rules_console_review_decision_seconds_count", **where) == 1
    assert "rules_console_review_backlog{" not in text
