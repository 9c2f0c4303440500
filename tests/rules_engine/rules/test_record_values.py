"""Reading earlier rules' details: latest_details, one look through the results."""

from __future__ import annotations

from rules_engine.rule import RuleContext, failed, passed, skipped
from rules_engine.rules.record_values import latest_details


def test_latest_details__several_keys__newest_value_of_each_as_find_detail_gives():
    # Given finished rules in pipeline order, two of them giving credit_score
    results = {
        "kyc": passed("ok", {"identity_confidence": 0.9, "credit_score": 500}),
        "credit": failed("low", {"credit_score": 610}),
        "geo": skipped("no state"),
        "aml": passed("ok", {"aml_risk_score": 0.2}),
    }
    ctx = RuleContext("risk", {}, results)
    keys = ("credit_score", "aml_risk_score", "identity_confidence", "geographic_risk")
    # When the details are read for several keys at once
    found = latest_details(results, keys)
    # Then each is the newest rule's value, as find_detail reads it one key at a time,
    # and a key no rule gave is absent
    assert found == {"credit_score": 610, "aml_risk_score": 0.2, "identity_confidence": 0.9}
    assert found == {key: ctx.find_detail(key) for key in keys if ctx.find_detail(key) is not None}
