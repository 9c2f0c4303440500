"""RunResult.to_dict and turning values into plain JSON."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import math

import rules_engine
from rules_engine.result import to_jsonable
from tests.rules_engine.testing_rules import rules_for_tests, services_for_tests


class Colour(enum.Enum):
    RED = "red"


def test_to_jsonable__odd_values__become_plain_json():
    # Given values JSON cannot hold (dates, decimals, sets, bytes, NaN...)
    # When it is converted
    # Then to_jsonable turns each into plain, strict JSON
    value = {
        1: {"when": dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC), "day": dt.date(2024, 1, 2)},
        "money": decimal.Decimal("1.10"),
        "tags": {"b", "a"},
        "pair": (1, 2),
        "raw": b"\x00\x01",
        "nan": math.nan,
        "inf": -math.inf,
        "colour": Colour.RED,
        "gap": dt.timedelta(seconds=90),
        "other": object,
    }
    plain = to_jsonable(value)
    json.dumps(plain, allow_nan=False)
    assert plain["1"] == {"when": "2024-01-02T03:04:00+00:00", "day": "2024-01-02"}
    assert plain["money"] == "1.10" and plain["tags"] == ["a", "b"] and plain["pair"] == [1, 2]
    assert plain["raw"] == "AAE=" and plain["nan"] == "NaN" and plain["inf"] == "-Infinity"
    assert plain["colour"] == "red" and plain["gap"] == 90.0 and plain["other"] == "<class 'object'>"


def test_to_dict__has_the_documented_shape():
    # Given a small pipeline run
    pipeline = rules_engine.compile_pipeline(
        {
            "stages": {
                "pre": {
                    "rules": {"up": {"class": "SetFieldRule", "params": {"field": "name", "upper": True}}}
                },
                "dq": {
                    "rules": {
                        "email": {
                            "class": "CheckFieldRule",
                            "params": {"field": "email"},
                            "severity": "warning",
                        }
                    }
                },
            }
        },
        services_for_tests(),
        rules=rules_for_tests(),
    )
    result = pipeline.run({"name": "ann", "score": math.nan}, context={"now": "2024-01-01T00:00:00+00:00"})
    # When it is turned into a dict
    out = result.to_dict()
    # Then it has every documented key, JSON-ready
    json.dumps(out, allow_nan=False)
    assert set(out) >= {"status", "stages", "data", "changes", "config_hash", "duration_ms", "warnings"}
    assert out["status"] == "passed"
    assert out["config_hash"] == pipeline.config_hash and out["config_hash"].startswith("sha256:")
    stage = out["stages"][0]
    assert set(stage) >= {"name", "status", "reason", "duration_ms", "rules"}
    rule = stage["rules"][0]
    assert set(rule) >= {"id", "outcome", "message", "details", "duration_ms", "attempts"}
    assert isinstance(rule["duration_ms"], float) and rule["attempts"] == 1
    assert out["data"] == {"name": "ANN", "score": "NaN"}
    assert out["changes"] == [{"field": "name", "before": "ann", "after": "ANN", "rule": "up"}]
    assert out["warnings"] == [
        {"stage": "dq", "rule": "email", "outcome": "fail", "message": "email is missing."}
    ]
    assert out["context"] == {"now": "2024-01-01T00:00:00+00:00"}
