"""Test cases may expect review, and the release gate treats review like any other
decision: a case expecting passed or failed that now goes to review fails the suite
and closes the gate, and so does a case expecting review that no longer goes there."""

from __future__ import annotations

import pytest

from pipelines_admin.releases import services as release_services
from pipelines_admin.runs import services as run_services
from pipelines_admin.testcases import services
from pipelines_admin.testcases.expectations import judge
from pipelines_admin.testcases.gate import GateClosed, gate_state
from tests.pipelines_admin.conftest import BAD_EMAIL, MINOR
from tests.pipelines_admin.decided import REFERRED, ROUTING, routed  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def test_judge__expects_review__met_by_review_only():
    assert judge({"status": "review"}, "review", {"stages": []}) == []
    [failure] = judge({"status": "review"}, "failed", {"stages": []})
    assert (failure["what"], failure["expected"], failure["actual"]) == ("status", "review", "failed")


def test_judge__expects_passed_gets_review__failure_says_it_went_to_review():
    [failure] = judge({"status": "passed"}, "review", {"stages": []})
    assert failure["message"] == "the application went to review, expected passed"


def test_case_create__expects_review__accepted_and_met_by_a_referred_application(
    routed, environments, editor
):
    # Given a test case expecting an application the routed pipeline refers to a person to go to review
    case = services.case_create(
        pipeline=routed, name="referred", record=REFERRED, expected={"status": "review"}, actor=editor
    )
    # When the suite runs on development / Then the expectation is met
    suite = services.suite_run_now(pipeline=routed, environment=environments["development"], actor=editor)
    assert suite.status == "passed", suite.results
    assert (suite.results[0]["case"], suite.results[0]["status"]) == (case.pk, "review")


def test_suite_run__expects_failed_but_referred__case_fails_naming_review(routed, environments, editor):
    # Given a test case expecting a minor to be declined, on a pipeline that now refers minors to a person
    services.case_create(
        pipeline=routed, name="minor fails", record=MINOR, expected={"status": "failed"}, actor=editor
    )
    # When the suite runs
    suite = services.suite_run_now(pipeline=routed, environment=environments["development"], actor=editor)
    # Then the case fails, saying the application went to review
    assert suite.status == "failed"
    [failure] = suite.results[0]["failures"]
    assert failure["message"] == "the application went to review, expected failed"


def test_case_from_run__referred_run__the_case_expects_review(routed, environments, editor):
    run = run_services.run_submit(
        pipeline=routed, environment=environments["development"], record=REFERRED, actor=editor
    )
    run = run_services.run_execute(run.pk)
    case = services.case_from_run(run=run, actor=editor)
    assert run.status == "review" and services.case_content(case)[1] == {"status": "review"}


# -- the release gate ----------------------------------------------------------------------


@pytest.fixture
def in_production(cases, released, environments, publisher):
    """The small pipeline live in production through a passing suite."""
    production = environments["production"]
    version = released.versions.get(number=1)
    suite = services.suite_run_now(
        pipeline=released, environment=production, actor=publisher, version=version
    )
    assert suite.status == "passed"
    release_services.release_create(
        pipeline=released,
        environment=production,
        version=version,
        actor=publisher,
        reason="first release",
    )
    return production


def expect(cases, status: str, editor) -> None:
    """The cases of the minor and of the bad email now expect `status`."""
    for case in cases:
        record, _ = services.case_content(case)
        if record in (MINOR, BAD_EMAIL):
            services.case_update(
                case=case, name=case.name, record=record, expected={"status": status}, actor=editor
            )


def test_gate__cases_expect_failed_override_refers_them__suite_fails_and_gate_stays_closed(
    cases, released, in_production, publisher
):
    # Given production running the small pipeline, its cases expecting the minor and the bad email to fail
    # When the suite runs on an override that refers both to a person
    suite = services.suite_run_now(
        pipeline=released, environment=in_production, actor=publisher, override=ROUTING
    )
    # Then both cases fail, and the gate refuses the override
    assert suite.status == "failed" and suite.failed == 2
    messages = sorted(f["message"] for result in suite.results for f in result["failures"])
    assert messages == ["the application went to review, expected failed"] * 2
    assert gate_state(released, in_production, suite.effective_hash).open is False
    with pytest.raises(GateClosed, match="2 of 3 cases failed"):
        release_services.override_set(
            pipeline=released, environment=in_production, override=ROUTING, actor=publisher, reason="refer"
        )


def test_gate__cases_expect_review__suite_passes_and_the_override_goes_through(
    cases, released, in_production, publisher, editor
):
    # Given the cases of the minor and the bad email changed to expect review
    expect(cases, "review", editor)
    # When the suite runs on the override that refers them to a person
    suite = services.suite_run_now(
        pipeline=released, environment=in_production, actor=publisher, override=ROUTING
    )
    # Then it passes and the gate lets the override through
    assert suite.status == "passed", suite.results
    release = release_services.override_set(
        pipeline=released, environment=in_production, override=ROUTING, actor=publisher, reason="refer"
    )
    assert release.effective_hash == suite.effective_hash


def test_gate__cases_expect_review_config_declines_instead__suite_fails_and_gate_closed(
    cases, released, in_production, publisher, editor
):
    # Given cases expecting review, and production's config (no override) declining those applications
    expect(cases, "review", editor)
    # When the suite runs on what is live
    suite = services.suite_run_now(pipeline=released, environment=in_production, actor=publisher)
    # Then the two cases fail (they were declined), and the gate is closed for that config
    assert suite.status == "failed" and suite.failed == 2
    statuses = sorted(result["status"] for result in suite.results if not result["passed"])
    assert statuses == ["failed", "failed"]
    assert gate_state(released, in_production, suite.effective_hash).open is False
