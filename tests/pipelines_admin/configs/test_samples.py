"""The sample applications' descriptions, derived from the config they would run on."""

import copy
import json
from datetime import date
from pathlib import Path

import pytest

from pipelines_admin.configs.samples import samples_described

EXAMPLES = Path(__file__).resolve().parents[3] / "rules_engine" / "examples"
TODAY = date(2026, 12, 2)


@pytest.fixture
def onboarding():
    return json.loads((EXAMPLES / "customer_onboarding.json").read_text())


def described(document, today=TODAY):
    return {s["key"]: s["description"] for s in samples_described(document, today)}


def test_samples__shipped_onboarding_config__each_described_against_it(onboarding):
    # Given the shipped onboarding config / When the samples are described against it
    text = described(onboarding)
    # Then each names what the config checks, in its own terms
    assert (
        text["minor"] == "A 16-year-old applicant (born 2010-06-01); the age check requires 18, so it fails."
    )
    assert text["good-applicant"].startswith(
        "A complete, consistent application from a 38-year-old applicant (born 1988-07-21) in NY"
    )
    assert text["good-applicant"].endswith(
        "the age check requires 18, the credit check requires a score of 650 "
        "and income verification requires 3,000 a month."
    )
    assert "asks for first_name, last_name, email and phone, so it fails" in text["missing-email"]
    assert "sanctions screening (OFAC-SDN) fails names that score 0.85 or more" in text["sanctions-hit"]


def test_samples__age_counted_from_today__the_minor_comes_of_age(onboarding):
    # Given the day the minor turns 18 / Then the description says the age check passes
    assert described(onboarding, date(2028, 6, 1))["minor"] == (
        "An 18-year-old applicant (born 2010-06-01); the age check requires 18, so it passes."
    )


def test_samples__rules_found_by_class_whatever_their_ids(onboarding):
    # Given the age check renamed and its minimum raised, and the sanctions screening under another class
    document = copy.deepcopy(onboarding)
    rules = document["stages"]["business_rules"]["rules"]
    rules["is_old_enough"] = rules.pop("age_verification")
    rules["is_old_enough"]["params"]["minimum_age"] = 21
    rules["credit_score_check"]["dependencies"] = ["is_old_enough"]
    screening = document["stages"]["compliance"]["rules"]["ofac_sanctions_screening"]
    screening["class"], screening["params"] = "SanctionsScreeningRule", {"screening_level": "basic"}
    # When described / Then the new values are found
    text = described(document)
    assert "the age check requires 21, so it fails" in text["minor"]
    assert "sanctions screening (every list) fails names that score 0.95 or more" in text["sanctions-hit"]


def test_samples__checks_turned_off_or_absent__said_plainly(onboarding):
    # Given the age check turned off, the compliance stage off, and no required-fields check
    document = copy.deepcopy(onboarding)
    document["stages"]["business_rules"]["rules"]["age_verification"]["enabled"] = False
    document["stages"]["compliance"]["enabled"] = False
    del document["stages"]["data_quality"]["rules"]["required_personal_info"]
    # When described / Then each says so
    text = described(document)
    assert text["minor"] == "A 16-year-old applicant (born 2010-06-01); the age check is turned off here."
    assert text["sanctions-hit"].endswith("; sanctions screening is turned off here.")
    assert text["missing-email"].endswith("; this pipeline has no required-fields check.")
    assert described({})["good-applicant"].endswith("; this pipeline has no age, credit or income check.")


def test_samples__required_fields_without_email__says_it_is_not_asked_for():
    document = {
        "stages": {
            "quality": {
                "rules": {
                    "complete": {
                        "class": "DataCompletenessRule",
                        "params": {"required_fields": ["name", "phone"]},
                    }
                }
            }
        }
    }
    assert described(document)["missing-email"].endswith(
        "; the required-fields check does not ask for one (it asks for name and phone)."
    )
