import json

from pipelines_admin.runs.masking import mask_input, mask_result
from rules_engine.masking import DEFAULT_PII_FIELDS

RECORD = {
    "name": "  Maria Garcia ",
    "email": "Maria.Garcia@Example.com",
    "ssn": "123-45-6789",
    "date_of_birth": "1990-04-12",
    "state": "CA",
}
RESULT = {
    "status": "failed",
    "stages": [
        {
            "name": "preprocessing",
            "status": "passed",
            "rules": [
                {
                    "id": "standardize_email",
                    "outcome": "pass",
                    "message": "email normalised to maria.garcia@example.com",
                    "details": {"field": "email", "value": "maria.garcia@example.com"},
                }
            ],
        },
        {
            "name": "business_rules",
            "status": "failed",
            "rules": [
                {
                    "id": "age",
                    "outcome": "fail",
                    "message": "date_of_birth '1990-04-12' gives age 35",
                    "details": {"date_of_birth": "1990-04-12", "age": 35},
                }
            ],
        },
    ],
    "data": {**RECORD, "name": "Maria Garcia", "email": "maria.garcia@example.com", "first_name": "Maria"},
    "changes": [
        {
            "field": "email",
            "before": "Maria.Garcia@Example.com",
            "after": "maria.garcia@example.com",
            "rule": "standardize_email",
        }
    ],
    "config_hash": "sha256:abc",
    "duration_ms": 1.0,
}


def test_mask_result__pii_in_data_changes_details_and_messages__all_masked():
    # Given an engine result that quotes PII in several places
    masked = mask_result(RESULT, RECORD, DEFAULT_PII_FIELDS)
    text = json.dumps(masked)
    # Then no PII value survives anywhere
    for secret in (
        "Maria Garcia",
        "maria.garcia@example.com",
        "Maria.Garcia@Example.com",
        "123-45-6789",
        "1990-04-12",
        '"Maria"',
    ):
        assert secret not in text, secret
    # and the result's structure and non-PII values are untouched
    assert [s["name"] for s in masked["stages"]] == ["preprocessing", "business_rules"]
    assert masked["stages"][1]["rules"][0]["id"] == "age"
    assert masked["stages"][1]["rules"][0]["details"]["age"] == 35
    assert masked["data"]["state"] == "CA" and masked["config_hash"] == "sha256:abc"
    assert masked["changes"][0]["rule"] == "standardize_email"
    assert masked["changes"][0]["after"].endswith("@example.com")


def test_mask_input__configured_fields__only_those_masked():
    masked = mask_input(RECORD, ["ssn"])
    assert masked["ssn"] == "***-**-6789" and masked["name"] == RECORD["name"]
