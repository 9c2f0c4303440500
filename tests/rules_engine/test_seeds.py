"""The seed article's two configs (rules_engine/examples/) validate and run as written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rules_engine
from tests.rules_engine.test_golden import library_missing_reason

EXAMPLES = Path(rules_engine.__file__).parent / "examples"
SEEDS = ["customer_onboarding.json", "pipeline_config.json"]
GOOD_APPLICANT = {
    "name": "Ann Marie Smith",
    "email": " Ann.Smith@Example.com ",
    "phone": "(212) 555-0100",
    "address": "1 Main St",
    "city": "New York",
    "state": "NY",
    "zip_code": "10001",
    "date_of_birth": "1990-04-01",
    "ssn": "123-45-6789",
    "annual_income": 90000,
    "country": "US",
}
CONTEXT = {"now": "2024-01-15T12:00:00+00:00"}

pytestmark = pytest.mark.skipif(
    library_missing_reason() is not None, reason=library_missing_reason() or "the rule library is present"
)


@pytest.mark.parametrize("name", SEEDS)
def test_seed_config__validate__has_no_problems(name):
    # Given a seed config exactly as the article wrote it
    config = rules_engine.load_config(EXAMPLES / name)
    # When it is validated with the built-in library and simulated services
    problems = rules_engine.validate_config(config)
    # Then there is nothing to report
    assert problems == [], "\n".join(map(str, problems))


@pytest.mark.parametrize("name", SEEDS)
def test_seed_config__good_applicant__passes_every_stage(name):
    # Given the compiled seed pipeline
    config = rules_engine.load_config(EXAMPLES / name)
    with rules_engine.compile_pipeline(config) as pipeline:
        # When a complete, valid applicant runs
        result = pipeline.run(GOOD_APPLICANT, context=CONTEXT).to_dict()
    # Then every rule has a result and every stage passed
    json.dumps(result, allow_nan=False)
    assert [stage["name"] for stage in result["stages"]] == list(config["stages"])
    for stage in result["stages"]:
        assert [rule["id"] for rule in stage["rules"]] == list(config["stages"][stage["name"]]["rules"])
        assert stage["status"] == "passed", stage
    assert result["status"] == "passed"
    assert any(
        change["field"] == "phone" and change["after"] == "+12125550100" for change in result["changes"]
    )


def test_seed_onboarding__applicant_without_email__stops_after_data_quality():
    # Given the onboarding pipeline (stop_on_stage_failure: true)
    config = rules_engine.load_config(EXAMPLES / "customer_onboarding.json")
    applicant = {key: value for key, value in GOOD_APPLICANT.items() if key != "email"}
    with rules_engine.compile_pipeline(config) as pipeline:
        # When an applicant without an email runs
        result = pipeline.run(applicant, context=CONTEXT).to_dict()
    # Then data quality fails on the missing email and nothing later runs
    stages = {stage["name"]: stage for stage in result["stages"]}
    assert result["status"] == "failed"
    assert stages["data_quality"]["status"] == "failed"
    required = stages["data_quality"]["rules"][0]
    assert required["id"] == "required_personal_info" and required["outcome"] == "fail"
    assert "email" in required["message"]
    for later in ("compliance", "business_rules", "post_processing"):
        assert stages[later]["status"] == "not_run"
        assert stages[later]["reason"] == "stopped after stage data_quality failed"
        assert all(rule["outcome"] == "skip" for rule in stages[later]["rules"])


def test_seed_examples__are_the_article_configs_unchanged():
    # Given the copies shipped in the package / Then they are the seed's documents
    # Given the copies shipped in the package
    # When they are read
    # Then they are the seed's documents
    onboarding = json.loads((EXAMPLES / "customer_onboarding.json").read_text())
    pipeline = json.loads((EXAMPLES / "pipeline_config.json").read_text())
    assert onboarding["version"] == "2.1.0" and len(onboarding["stages"]) == 5
    assert list(pipeline["stages"]) == ["preprocessing", "data_quality", "compliance", "business_rules"]
