import pytest

from pipelines_admin.testcases.expectations import expectation_from_result, expectation_problems, judge

RESULT = {
    "status": "failed",
    "stages": [
        {
            "name": "data_quality",
            "status": "failed",
            "rules": [
                {"id": "required_fields", "outcome": "pass", "message": "all there"},
                {"id": "email_format", "outcome": "fail", "message": "email is malformed"},
            ],
        }
    ],
    "data": {"email": "x", "address": {"zip": "10118"}, "tags": ["a"]},
}
DOCUMENT = {"stages": {"data_quality": {"rules": {"required_fields": {}, "email_format": {}}}}}


def test_judge__everything_met__no_failures():
    expected = {
        "status": "failed",
        "rules": [{"stage": "data_quality", "rule": "email_format", "outcome": "fail"}],
        "fields": [
            {"field": "address.zip", "equals": "10118"},
            {"field": "tags.0", "equals": "a"},
            {"field": "customer_id", "exists": False},
        ],
    }
    assert judge(expected, "failed", RESULT) == []


def test_judge__each_kind_unmet__one_failure_each_beside_what_happened():
    expected = {
        "status": "passed",
        "rules": [
            {"stage": "data_quality", "rule": "email_format", "outcome": "pass"},
            {"stage": "compliance", "rule": "kyc", "outcome": "pass"},
        ],
        "fields": [{"field": "address.zip", "equals": "99999"}, {"field": "customer_id", "exists": True}],
    }
    failures = judge(expected, "failed", RESULT)
    assert [(f["what"], f["expected"], f["actual"]) for f in failures] == [
        ("status", "passed", "failed"),
        ("data_quality/email_format", "pass", "fail"),
        ("compliance/kyc", "pass", None),
        ("field address.zip", "99999", "10118"),
        ("field customer_id", "present", "absent"),
    ]
    assert "email is malformed" in failures[1]["message"]
    assert "did not run" in failures[2]["message"]


@pytest.mark.parametrize(
    "expected, path",
    [
        ({}, "/"),
        ({"status": "ok"}, "/status"),
        ({"status": "passed", "extra": 1}, "/"),
        (
            {"status": "passed", "rules": [{"stage": "s", "rule": "r", "outcome": "maybe"}]},
            "/rules/0/outcome",
        ),
        ({"status": "passed", "fields": [{"field": "x"}]}, "/fields/0"),
        ({"status": "passed", "fields": [{"field": "x", "exists": "yes"}]}, "/fields/0/exists"),
    ],
)
def test_expectation_problems__malformed__problem_with_path(expected, path):
    problems = expectation_problems(expected)
    assert problems and problems[0]["path"] == path


def test_expectation_problems__rule_the_pipeline_lacks__named():
    expected = {
        "status": "passed",
        "rules": [
            {"stage": "data_quality", "rule": "nope", "outcome": "pass"},
            {"stage": "ghost", "rule": "x", "outcome": "pass"},
        ],
    }
    problems = expectation_problems(expected, DOCUMENT)
    assert [p["path"] for p in problems] == ["/rules/0/rule", "/rules/1/stage"]


def test_expectation_from_result__with_rules__every_outcome_expected():
    expected = expectation_from_result("failed", RESULT, rules=True)
    assert expected["status"] == "failed" and len(expected["rules"]) == 2
    assert judge(expected, "failed", RESULT) == []
