"""The small pipeline with its rules' decisions declared, for the tests of the pages,
exports and counts that show decisions: in development, a malformed email and an
applicant under age are referred to a person (on_fail: review) instead of failing."""

from __future__ import annotations

import pytest

from tests.pipelines_admin.conftest import ADULT

#: development's override: what each rule's failure does, its reason and next step
ROUTING = {
    "stages": {
        "data_quality": {
            "rules": {
                "email_format": {"on_fail": "review", "next_step": "Confirm your email address"},
            }
        },
        "business_rules": {
            "rules": {
                "age_verification": {
                    "on_fail": "review",
                    "review": {"approvals": 2},
                    "reason_code": "AGE_UNCONFIRMED",
                    "customer_message": "We need to confirm your age.",
                    "next_step": "Send a copy of an identity document",
                }
            }
        },
    }
}

#: an application the routed pipeline refers to a person: both its email and its age
REFERRED = {**ADULT, "name": "Referred Applicant", "email": "not-an-email", "date_of_birth": "2015-01-01"}
#: what the engine records for it
REVIEW_DECISION = {
    "status": "review",
    "reasons": [
        {
            "stage": "data_quality",
            "rule": "email_format",
            "outcome": "fail",
            "reason_code": "email_format",
            "customer_message": None,
        },
        {
            "stage": "business_rules",
            "rule": "age_verification",
            "outcome": "fail",
            "reason_code": "AGE_UNCONFIRMED",
            "customer_message": "We need to confirm your age.",
        },
    ],
    "next_steps": ["Confirm your email address", "Send a copy of an identity document"],
    "review": {"rules": ["email_format", "age_verification"], "approvals": 2},
}


@pytest.fixture
def routed(released, environments, editor):
    """The small pipeline live in development with ROUTING as its override."""
    from pipelines_admin.releases import services as release_services

    release_services.override_set(
        pipeline=released, environment=environments["development"], actor=editor, override=ROUTING
    )
    return released
