"""No application passes because a check never ran: the onboarding pipeline and a minor.

The 16-year-old applicant of the examples must never come out ``passed``, whatever
stages or rules are switched off and whatever stages are chosen, unless the age check
itself was switched off explicitly. Each config either fails validation (an enabled
rule depends on a disabled one) or runs to a decision that is not ``passed``.
"""

from __future__ import annotations

import copy
import json
from importlib import resources

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules_engine

ONBOARDING = json.loads(
    resources.files("rules_engine.examples").joinpath("customer_onboarding.json").read_text(encoding="utf-8")
)
MINOR = {
    "name": "Emily Rose Chen",
    "email": "emily.chen@example.com",
    "phone": "(415) 555-0123",
    "area_code": "415",
    "address": "1 dr carlton b goodlett place",
    "city": "San Francisco",
    "state": "CA",
    "zip_code": "94102",
    "country": "US",
    "date_of_birth": "2010-06-01",
    "ssn": "547-21-3309",
    "occupation": "Student",
    "annual_income": 42000,
    "monthly_debt": 0,
    "credit_score": 680,
}
NOW = {"now": "2026-12-02T12:00:00+00:00"}
STAGES = list(ONBOARDING["stages"])
RULES = [(stage, rule) for stage in STAGES for rule in ONBOARDING["stages"][stage]["rules"]]


def _switched_off(config: dict, stage: str, rule: str) -> bool:
    stage_config = config["stages"][stage]
    return (
        stage_config.get("enabled", True) is False
        or stage_config["rules"][rule].get("enabled", True) is False
    )


def test_run__compliance_off_in_one_click__is_refused_naming_the_checks_that_need_it():
    # Given the onboarding pipeline with only the compliance stage turned off
    config = copy.deepcopy(ONBOARDING)
    config["stages"]["compliance"]["enabled"] = False
    # When it is validated
    problems = rules_engine.validate_config(config)
    # Then the age, credit and income checks that need KYC are named, each with its pointer
    assert [p.path for p in problems] == [
        "/stages/business_rules/rules/age_verification/cross_stage_dependencies/0",
        "/stages/business_rules/rules/credit_score_check/cross_stage_dependencies/0",
        "/stages/business_rules/rules/income_verification/cross_stage_dependencies/0",
    ]
    assert all("kyc_identity_verification" in p.message and "compliance" in p.message for p in problems)


def test_run__compliance_and_its_dependents_off_explicitly__minor_passes_only_then():
    # Given compliance turned off together with every rule that needs it (an explicit choice)
    config = copy.deepcopy(ONBOARDING)
    config["stages"]["compliance"]["enabled"] = False
    for rule in (
        "age_verification",
        "credit_score_check",
        "income_verification",
        "debt_to_income_calculation",
    ):
        config["stages"]["business_rules"]["rules"][rule]["enabled"] = False
    # When the minor runs
    assert rules_engine.validate_config(config) == []
    with rules_engine.compile_pipeline(config) as pipeline:
        result = pipeline.run(MINOR, context=NOW)
    # Then the minor passes: the age check was switched off by name, not skipped unseen
    assert result.status == "passed"
    assert result.outcome("age_verification") == "skip"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stages_off=st.sets(st.sampled_from(STAGES)),
    rules_off=st.sets(st.sampled_from(RULES), max_size=8),
    chosen=st.none() | st.sets(st.sampled_from(STAGES), min_size=1),
)
def test_run__any_toggles_or_stage_choice__minor_never_passes_unless_age_check_is_off(
    stages_off, rules_off, chosen
):
    # Given the onboarding pipeline with any stages and rules switched off
    config = copy.deepcopy(ONBOARDING)
    for stage in stages_off:
        config["stages"][stage]["enabled"] = False
    for stage, rule in rules_off:
        config["stages"][stage]["rules"][rule]["enabled"] = False
    # When it is validated and, if valid, the minor runs (all stages, or the chosen ones)
    problems = rules_engine.validate_config(config)
    if problems:
        # Then either it is refused, every problem naming a disabled dependency
        assert all("could never run" in p.message for p in problems), problems
        return
    with rules_engine.compile_pipeline(config) as pipeline:
        result = pipeline.run(MINOR, stages=sorted(chosen) if chosen else None, context=NOW)
    # or the minor is not passed, unless the age check itself was switched off by name
    if result.status == "passed":
        assert _switched_off(config, "business_rules", "age_verification"), result.to_dict()
        assert not result.partial
    # and a run of chosen stages that left an enabled stage out never passes
    if result.partial:
        assert result.status != "passed"


def test_run__chosen_stages_leave_out_a_stage_with_no_enabled_rule__undecided_not_passed():
    # Given the onboarding pipeline with every stage off but preprocessing, whose rules are all off
    config = copy.deepcopy(ONBOARDING)
    for name, stage in config["stages"].items():
        if name == "preprocessing":
            for rule in stage["rules"].values():
                rule["enabled"] = False
        else:
            stage["enabled"] = False
    assert rules_engine.validate_config(config) == []
    # When the minor runs through a chosen stage only (one that is itself off)
    with rules_engine.compile_pipeline(config) as pipeline:
        result = pipeline.run(MINOR, stages=["data_quality"], context=NOW)
    # Then the run left an enabled stage out, so it is not an approval
    assert result.partial
    assert result.status == "undecided"
