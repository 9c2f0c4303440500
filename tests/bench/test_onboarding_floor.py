"""The onboarding floor (bench/onboarding_floor.py) decides every application as the
engine does, so the ratio bench/engine.py prints compares like with like."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import rules_engine

REPO = Path(__file__).resolve().parent.parent.parent
ONBOARDING = Path(rules_engine.__file__).parent / "examples" / "customer_onboarding.json"


@pytest.fixture(scope="module")
def floor_module():
    spec = importlib.util.spec_from_file_location("onboarding_floor", REPO / "bench" / "onboarding_floor.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pipeline():
    with rules_engine.compile_pipeline(rules_engine.load_config(ONBOARDING)) as compiled:
        yield compiled


def test_floor__sample_of_the_mix__decides_as_the_engine(floor_module, pipeline):
    # Given a sample of the benchmark's applications, with every kind of flaw in it
    records = floor_module.applications(300, seed=11)
    records.append({k: v for k, v in records[0].items() if k != "zip_code"})  # nothing to check the state by
    statuses = {floor_module.Floor().decide(record)[0] for record in records}
    assert statuses == {"passed", "failed", "undecided"}
    # When the floor and the engine decide each one
    wrong = floor_module.differences(pipeline, floor_module.Floor(), records)
    # Then their status and every rule's outcome agree
    assert wrong == []


def test_floor_check__a_floor_that_decides_otherwise__is_caught(floor_module, pipeline):
    # Given a floor that approves everyone
    class Lenient(floor_module.Floor):
        def decide(self, record):
            status, outcomes = super().decide(record)
            return "passed", dict.fromkeys(outcomes, "pass")

    records = floor_module.applications(50, seed=11)
    # When it is checked against the engine; Then the records it gets wrong are named
    wrong = floor_module.differences(pipeline, Lenient(), records)
    assert wrong and all(entry["status"][0] == "passed" for entry in wrong)
