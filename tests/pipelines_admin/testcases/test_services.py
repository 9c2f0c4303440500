import json

import pytest

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.core.errors import InvalidInput, NotAllowed
from pipelines_admin.releases import services as release_services
from pipelines_admin.runs import services as run_services
from pipelines_admin.testcases import services
from pipelines_admin.testcases.models import SuiteRun, TestCase
from pipelines_admin.testcases.selectors import coverage

from ..conftest import ADULT

pytestmark = pytest.mark.django_db


def test_case_create__stored_encrypted_and_masked_with_audit(cases):
    case = cases[0]
    stored = json.dumps(
        [case.input_encrypted, case.expected_encrypted, case.input_masked, case.expected_masked]
    )
    # the application and the expected PII values are nowhere in clear
    assert "123-45-6789" not in stored and "maria.garcia@example.com" not in stored
    assert services.case_content(case) == (
        ADULT,
        {
            "status": "passed",
            "rules": [{"stage": "business_rules", "rule": "age_verification", "outcome": "pass"}],
            "fields": [{"field": "email", "equals": "maria.garcia@example.com"}],
        },
    )
    assert case.expected_masked["fields"][0]["equals"].endswith("@example.com")
    event = AuditEvent.objects.get(action="test_case.created", object_id=str(case.pk))
    assert "maria.garcia" not in json.dumps(event.data)


def test_case_create__viewer__not_allowed(released, viewer):
    with pytest.raises(NotAllowed):
        services.case_create(
            pipeline=released, name="x", record=ADULT, expected={"status": "passed"}, actor=viewer
        )
    assert not TestCase.objects.exists()


@pytest.mark.parametrize(
    "name, record, expected, where",
    [
        ("", ADULT, {"status": "passed"}, "name"),
        ("x", [1], {"status": "passed"}, "JSON object"),
        ("x", ADULT, {"status": "fine"}, "problem"),
        (
            "x",
            ADULT,
            {"status": "passed", "rules": [{"stage": "data_quality", "rule": "nope", "outcome": "pass"}]},
            "problem",
        ),
    ],
)
def test_case_create__invalid__refused_nothing_stored(released, editor, name, record, expected, where):
    with pytest.raises(InvalidInput) as caught:
        services.case_create(pipeline=released, name=name, record=record, expected=expected, actor=editor)
    assert where in caught.value.message
    assert (
        not TestCase.objects.exists() and not AuditEvent.objects.filter(action="test_case.created").exists()
    )


def test_case_create__duplicate_name__refused(cases, editor):
    with pytest.raises(InvalidInput, match="already has a test case"):
        services.case_create(
            pipeline=cases[0].pipeline,
            name="minor fails",
            record=ADULT,
            expected={"status": "passed"},
            actor=editor,
        )


def test_case_update_and_delete__audited(cases, editor):
    case = services.case_update(
        case=cases[2],
        name="bad email",
        record={"email": "x"},
        expected={"status": "failed"},
        actor=editor,
        description="now shorter",
    )
    assert case.name == "bad email" and services.case_content(case)[0] == {"email": "x"}
    case_id = case.pk
    services.case_delete(case=case, actor=editor)
    assert not TestCase.objects.filter(pk=case_id).exists()
    assert list(
        AuditEvent.objects.filter(object_type="test_case", object_id=str(case_id))
        .order_by("sequence")
        .values_list("action", flat=True)
    ) == ["test_case.created", "test_case.changed", "test_case.deleted"]


def test_case_from_run__finished_run__expects_its_status(released, environments, editor):
    run = run_services.run_submit(
        pipeline=released,
        environment=environments["development"],
        record={**ADULT, "email": "nope"},
        actor=editor,
    )
    with pytest.raises(InvalidInput, match="not finished"):
        services.case_from_run(run=run, actor=editor)
    run = run_services.run_execute(run.pk)
    first = services.case_from_run(run=run, actor=editor)
    second = services.case_from_run(run=run, actor=editor)
    assert services.case_content(first) == ({**ADULT, "email": "nope"}, {"status": "failed"})
    assert first.source_run_id == run.pk and second.name == first.name + " (2)"


def test_case_from_run__partial_run__refused_nothing_stored(released, environments, editor):
    # Given a finished run of the data_quality stage only
    run = run_services.run_submit(
        pipeline=released,
        environment=environments["development"],
        record=ADULT,
        actor=editor,
        stages=["data_quality"],
    )
    run = run_services.run_execute(run.pk)
    # When it is saved as a test case
    with pytest.raises(InvalidInput, match="partial"):
        services.case_from_run(run=run, actor=editor)
    # Then nothing is stored: its decision is not the pipeline's
    assert not TestCase.objects.exists()


def test_case_create__expects_undecided__accepted_and_met(released, environments, editor):
    # Given development's age check lenient, and a test case expecting an application whose age
    # it cannot read to stay undecided
    release_services.override_set(
        pipeline=released,
        environment=environments["development"],
        actor=editor,
        override={
            "stages": {
                "business_rules": {"rules": {"age_verification": {"params": {"verification_strict": False}}}}
            }
        },
    )
    case = services.case_create(
        pipeline=released,
        name="no readable birth date",
        record={**ADULT, "date_of_birth": "12/04/1990"},
        expected={"status": "undecided"},
        actor=editor,
    )
    # When the suite runs / Then the expectation is met
    suite = services.suite_run_now(pipeline=released, environment=environments["development"], actor=editor)
    assert (
        suite.status == "passed"
        and suite.results[0]["case"] == case.pk
        and suite.results[0]["status"] == "undecided"
    )


def test_suite_run_now__all_cases_met__passed_with_coverage(cases, released, environments, editor):
    suite = services.suite_run_now(pipeline=released, environment=environments["development"], actor=editor)
    assert suite.status == "passed", suite.results
    assert (suite.total, suite.passed, suite.failed, suite.processed) == (3, 3, 0, 3)
    assert suite.target == "live in development (v1)"
    # coverage: the age rule passed once and failed once; every rule of the config has a row
    rows = {(r.stage, r.rule): r for r in coverage(released).rows}
    assert set(rows) == {
        ("data_quality", "required_fields"),
        ("data_quality", "email_format"),
        ("business_rules", "age_verification"),
    }
    assert rows[("business_rules", "age_verification")].counts == {"pass": 1, "fail": 1, "skip": 1}
    assert rows[("data_quality", "email_format")].counts["fail"] == 1
    assert coverage(released).untested == []
    assert AuditEvent.objects.filter(action="suite_run.completed", object_id=str(suite.pk)).count() == 1


def test_suite_run_now__a_case_not_met__failed_with_expectation_beside_result(
    cases, released, environments, editor
):
    # a version that accepts 8-year-olds breaks "minor fails"
    from pipelines_admin.configs import services as config_services

    document = released.versions.get().document
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 5
    v2 = config_services.config_version_create(
        pipeline=released,
        document=document,
        base_version=released.versions.get(),
        author=editor,
        message="lower",
    )
    suite = services.suite_run_now(
        pipeline=released, environment=environments["development"], actor=editor, version=v2
    )
    assert suite.status == "failed" and (suite.passed, suite.failed) == (2, 1)
    assert suite.target == "v2 in development"
    entry = next(e for e in suite.results if not e["passed"])
    assert entry["name"] == "minor fails"
    assert [(f["what"], f["expected"], f["actual"]) for f in entry["failures"]] == [
        ("status", "failed", "passed"),
        ("business_rules/age_verification", "fail", "pass"),
    ]
    assert entry["result"]["status"] == "passed" and "Tim Young" not in json.dumps(entry)


def test_suite_field_failure_on_pii_field__values_masked(released, environments, editor):
    services.case_create(
        pipeline=released,
        name="email kept",
        record=ADULT,
        actor=editor,
        expected={"status": "passed", "fields": [{"field": "email", "equals": "other@example.com"}]},
    )
    suite = services.suite_run_now(pipeline=released, environment=environments["development"], actor=editor)
    failure = suite.results[0]["failures"][0]
    assert failure["what"] == "field email" and "maria.garcia" not in json.dumps(suite.results)
    assert "other@example.com" not in json.dumps(suite.results)


def test_suite_start__no_cases__refused(released, environments, editor):
    with pytest.raises(InvalidInput, match="no test cases"):
        services.suite_start(pipeline=released, environment=environments["development"], actor=editor)
    assert not SuiteRun.objects.exists()


def test_suite_start__queued_then_executed_once(
    cases, released, environments, editor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        suite = services.suite_start(pipeline=released, environment=environments["development"], actor=editor)
    assert suite.status == "queued" and len(callbacks) == 1
    assert services.suite_execute(suite.pk).status == "passed"
    assert services.suite_execute(suite.pk) is None  # a redelivered task does nothing
    assert AuditEvent.objects.filter(action="suite_run.completed").count() == 1


def test_suites_sweep__lost_suite__enqueued_again(cases, released, environments, editor, settings):
    from datetime import timedelta
    from unittest import mock

    from django.utils import timezone

    suite = services.suite_start(pipeline=released, environment=environments["development"], actor=editor)
    with mock.patch("pipelines_admin.testcases.services.suite_enqueue", return_value=True) as enqueue:
        assert services.suites_sweep(timezone.now())["suites_requeued"] == 0  # too recent
        later = timezone.now() + timedelta(seconds=settings.RUN_REQUEUE_AFTER_SECONDS + 1)
        assert services.suites_sweep(later)["suites_requeued"] == 1
    enqueue.assert_called_once_with(suite.pk, recovery="enqueued")
