"""Runs in review, made as the engine leaves them: status review, the routed rule's
entry marked review, and the result's decision naming the rules and the approvals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines_admin.runs.models import Run
from pipelines_admin.runs.services import run_submit

PEP_APPLICANT = {
    "name": "Quentin Zabriskie-Oyelaran",
    "email": "quentin.zabriskie@example.org",
    "date_of_birth": "1979-11-23",
    "ssn": "523-71-8846",
}


def review_result(approvals: int | None = 1) -> dict:
    review = {"rules": ["age_verification"]}
    if approvals is not None:
        review["approvals"] = approvals
    return {
        "status": "review",
        "stages": [
            {
                "name": "data_quality",
                "status": "passed",
                "rules": [{"id": "required_fields", "outcome": "pass", "message": "all present"}],
            },
            {
                "name": "business_rules",
                "status": "passed",
                "rules": [
                    {
                        "id": "age_verification",
                        "outcome": "fail",
                        "review": True,
                        "message": "listed as a politically exposed person",
                        "details": {"match": "Q*** Z***"},
                    }
                ],
            },
        ],
        "data": {},
        "decision": {
            "status": "review",
            "reasons": [
                {
                    "stage": "business_rules",
                    "rule": "age_verification",
                    "outcome": "fail",
                    "reason_code": "pep_hit",
                    "customer_message": "We need to check a few details.",
                }
            ],
            "next_steps": [],
            "review": review,
        },
    }


def make_review_run(pipeline, environment, actor, *, approvals: int | None = 1, record=None, age=None) -> Run:
    """A run of `record` (the PEP applicant by default) in review, `age` old."""
    run = run_submit(pipeline=pipeline, environment=environment, record=record or PEP_APPLICANT, actor=actor)
    created = timezone.now() - (age or timedelta(minutes=5))
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.REVIEW,
        result=review_result(approvals),
        created_at=created,
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run


@pytest.fixture
def review_run(released, environments, editor):
    """factory(approvals=1, record=None, age=None) -> a run of the small pipeline in development, in review."""

    def make(**kwargs) -> Run:
        return make_review_run(released, environments["development"], editor, **kwargs)

    return make
