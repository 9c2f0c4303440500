"""Runs whose results carry a decision block, for the tests of the pages, exports and
counts that show decisions: the engine's own result, with a decision added, and one
record referred to a person."""

from __future__ import annotations

import pytest

from pipelines_admin.runs import batches, services
from tests.pipelines_admin.conftest import ADULT

REVIEW_DECISION = {
    "status": "review",
    "reasons": [
        {
            "stage": "business_rules",
            "rule": "age_verification",
            "outcome": "fail",
            "reason_code": "AGE_UNCONFIRMED",
            "customer_message": "We need to confirm your age.",
        },
        {
            "stage": "data_quality",
            "rule": "email_format",
            "outcome": "fail",
            "reason_code": "email_format",
            "customer_message": None,
        },
    ],
    "next_steps": ["Send a copy of an identity document", "Confirm your email address"],
    "review": {"rules": ["age_verification", "email_format"], "approvals": 2},
}
PASSED_DECISION = {"status": "passed", "reasons": [], "next_steps": [], "review": None}

#: a record the engine is made to refer to a person (see `referring_engine`)
REFERRED = {**ADULT, "name": "Referred Applicant"}


@pytest.fixture
def referring_engine(monkeypatch):
    """Runs give the engine's own result, with a decision block; the record named
    "Referred Applicant" is referred to a person (status review, its age rule routed)."""
    real = services.execute_record

    def execute(engine, record, **kwargs):
        status, result, ms, error = real(engine, record, **kwargs)
        if result is None:
            return status, result, ms, error
        if record.get("name") == REFERRED["name"]:
            result = {**result, "status": "review", "decision": REVIEW_DECISION}
            for stage in result["stages"]:
                for rule in stage["rules"]:
                    if rule["id"] == "age_verification":
                        rule["review"] = True
            return "review", result, ms, error
        return status, {**result, "decision": {**PASSED_DECISION, "status": status}}, ms, error

    monkeypatch.setattr(batches, "execute_record", execute)
    monkeypatch.setattr(services, "execute_record", execute)
