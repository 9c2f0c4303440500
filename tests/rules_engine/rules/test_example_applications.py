"""The console's sample applications (rules_engine/examples/applications.json) stay in
step with the onboarding golden cases that pin their outcomes."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rules_engine.rules.compliance import OFACSanctionsRule

from .harness import evaluate

REPO = Path(__file__).resolve().parents[3]
APPLICATIONS = json.loads(
    (REPO / "rules_engine" / "examples" / "applications.json").read_text(encoding="utf-8")
)
GOLDEN = REPO / "tests" / "rules_engine" / "golden" / "rules"
EXPECTED = {
    "Good applicant": ("onboarding_good_applicant", "passed"),
    "Missing email": ("onboarding_missing_email", "failed"),
    "Minor": ("onboarding_minor", "failed"),
    "Sanctions hit": ("onboarding_sanctions_hit", "failed"),
    "PEP hit": ("onboarding_pep_hit", "failed"),
}


def test_applications__file__lists_the_five_demo_applicants():
    # Given file; When applications runs; Then it lists the five demo applicants
    assert [app["name"] for app in APPLICATIONS] == list(EXPECTED)
    for app in APPLICATIONS:
        assert set(app) == {"name", "description", "record"} and app["description"]


@pytest.mark.parametrize("app", APPLICATIONS, ids=[a["name"] for a in APPLICATIONS])
def test_applications__each__is_pinned_by_an_onboarding_golden_case(app):
    # Given the golden case of a sample application
    golden_name, status = EXPECTED[app["name"]]
    case = json.loads((GOLDEN / f"{golden_name}.json").read_text(encoding="utf-8"))
    # Then it runs the same record against the full onboarding config, with the expected status
    assert case["input"] == app["record"]
    assert case["config_file"].endswith("rules_engine/examples/customer_onboarding.json")
    assert case["expected"]["status"] == status


def test_sanctions_rule__evaluated_from_many_threads__gives_identical_verdicts():
    # Given one record screened concurrently (rules are built once and shared by threads)
    record = next(app["record"] for app in APPLICATIONS if app["name"] == "Sanctions hit")
    # When evaluated 64 times on 8 threads
    with ThreadPoolExecutor(8) as pool:
        verdicts = list(
            pool.map(lambda _: evaluate(OFACSanctionsRule, {"match_threshold": 0.85}, record)[0], range(64))
        )
    # Then every verdict is the same failure
    assert {v.outcome for v in verdicts} == {"fail"} and len({v.message for v in verdicts}) == 1
