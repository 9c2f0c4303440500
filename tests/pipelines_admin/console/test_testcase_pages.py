"""Test case pages, suite runs, saving a run as a test case, and the release gate in the console."""

import json
import re

import pytest
from django.urls import reverse

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.changes.models import ChangeRequest
from pipelines_admin.configs.selectors import release_live
from pipelines_admin.runs import services as run_services
from pipelines_admin.testcases import services
from pipelines_admin.testcases.models import SuiteRun, TestCase

from ..conftest import ADULT

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, **kwargs):
    return reverse(f"console:{name}", kwargs={"slug": "onboarding", **kwargs})


def finished_suite(pipeline, environment, user, **kwargs):
    suite = services.suite_start(pipeline=pipeline, environment=environment, actor=user, **kwargs)
    return services.suite_execute(suite.pk)


def test_cases_page__none_yet__explains_how_to_add_them(client, viewer, released):
    client.force_login(viewer)
    html = client.get(url("test-cases")).content.decode()
    assert "No test cases yet." in html and "Save as test case" in html
    assert "New test case" not in html  # a viewer cannot add one
    assert "Run the test cases to see which rules they exercise." in html


def test_cases_page__after_a_suite_run__outcomes_and_coverage(
    client, viewer, editor, cases, released, environments
):
    finished_suite(released, environments["development"], editor)
    client.force_login(viewer)
    html = client.get(url("test-cases")).content.decode()
    assert html.count('<span class="status status-pass">met</span>') == 3
    assert "Every rule is exercised." in html
    assert "<code>age_verification</code>" in html and "1 of 3 met" not in html and "3 of 3 met" in html


def test_case_new__valid__saved_with_rule_and_field_expectations(client, editor, released):
    client.force_login(editor)
    form = client.get(url("test-case-new")).content.decode()
    assert (
        'name="rule:business_rules/age_verification"' in form
        and 'name="rule:data_quality/email_format"' in form
    )
    response = client.post(
        url("test-case-new"),
        {
            "name": "adult",
            "record": json.dumps(ADULT),
            "status": "passed",
            "rule:business_rules/age_verification": "pass",
            "rule:data_quality/email_format": "",
            "fields_expected": '[{"field": "email", "exists": true}]',
        },
    )
    assert response.status_code == 302 and response["Location"] == url("test-cases")
    case = TestCase.objects.get()
    assert services.case_content(case)[1] == {
        "status": "passed",
        "rules": [{"stage": "business_rules", "rule": "age_verification", "outcome": "pass"}],
        "fields": [{"field": "email", "exists": True}],
    }


def test_case_new__broken_json__400_text_kept_nothing_saved(client, editor, released):
    client.force_login(editor)
    response = client.post(
        url("test-case-new"), {"name": "x", "record": '{"name": "Ann",', "status": "passed"}
    )
    html = response.content.decode()
    assert (
        response.status_code == 400
        and "Not valid JSON" in html
        and "{&quot;name&quot;: &quot;Ann&quot;," in html
    )
    assert not TestCase.objects.exists()


def test_case_new__bad_field_expectation__problems_listed_with_paths(client, editor, released):
    client.force_login(editor)
    response = client.post(
        url("test-case-new"),
        {"name": "x", "record": '{"name": "A"}', "status": "passed", "fields_expected": '[{"field": "a"}]'},
    )
    assert response.status_code == 400 and "<code>/fields/0</code>" in response.content.decode()


def test_case_edit__editor_sees_clear_viewer_masked_and_cannot_change(
    client, editor, viewer, cases, released
):
    case = cases[0]
    client.force_login(editor)
    assert "123-45-6789" in client.get(url("test-case-edit", case_id=case.pk)).content.decode()
    client.force_login(viewer)
    html = client.get(url("test-case-edit", case_id=case.pk)).content.decode()
    assert (
        "123-45-6789" not in html
        and "***-**-6789" in html
        and "can read test cases but not change them" in html
    )
    response = client.post(
        url("test-case-edit", case_id=case.pk),
        {
            "name": "hijacked",
            "record": '{"a": 1}',
            "base_revision": services.case_revision(case),
            "status": "failed",
        },
    )
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.name == "adult passes"


def test_case_edit_and_delete__editor(client, editor, cases, released):
    client.force_login(editor)
    response = client.post(
        url("test-case-edit", case_id=cases[1].pk),
        {
            "base_revision": services.case_revision(cases[1]),
            "name": "minor is refused",
            "record": json.dumps({"name": "Tim", "email": "t@example.com", "date_of_birth": "2020-01-01"}),
            "status": "failed",
        },
    )
    assert response.status_code == 302
    cases[1].refresh_from_db()
    assert cases[1].name == "minor is refused"
    assert (
        client.post(
            url("test-case-delete", case_id=cases[2].pk), {"base_revision": services.case_revision(cases[2])}
        ).status_code
        == 302
    )
    assert TestCase.objects.count() == 2


def test_suite_run__started_from_the_page__progress_then_results(
    client, editor, cases, released, environments, django_capture_on_commit_callbacks
):
    client.force_login(editor)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(url("suite-run-start"), {"environment": "development", "version": ""})
    suite = SuiteRun.objects.get()
    assert response.status_code == 302 and response["Location"] == url("suite-run", suite_id=suite.pk)
    progress = client.get(url("suite-run", suite_id=suite.pk), **HTMX)
    assert (
        'hx-trigger="every 1s"' in progress.content.decode()
        and "0</strong> of 3" in progress.content.decode()
    )
    services.suite_execute(suite.pk)
    finished = client.get(url("suite-run", suite_id=suite.pk), **HTMX)
    assert finished["HX-Refresh"] == "true"
    html = client.get(url("suite-run", suite_id=suite.pk)).content.decode()
    assert html.count("every expectation met") == 3 and "Coverage of this run" in html


def test_suite_run__failing_case__expectation_beside_what_happened(
    client, viewer, editor, cases, released, environments
):
    services.case_create(
        pipeline=released,
        name="wrongly expects a pass",
        record={"name": "A B"},
        expected={"status": "passed"},
        actor=editor,
    )
    suite = finished_suite(released, environments["development"], editor)
    client.force_login(viewer)
    html = client.get(url("suite-run", suite_id=suite.pk)).content.decode()
    assert "wrongly expects a pass" in html and "<code>status</code>: passed" in html
    assert "the application failed, expected passed" in html


def test_suite_run__field_expectation_not_met__values_shown_as_json_not_python(
    client, viewer, editor, released, environments
):
    # Given a case expecting a field to be true and another to be an object, neither so
    services.case_create(
        pipeline=released,
        name="flags",
        record={**ADULT, "vip": None, "tags": ["a"]},
        expected={
            "status": "passed",
            "fields": [{"field": "vip", "equals": True}, {"field": "tags", "equals": {"a": 1}}],
        },
        actor=editor,
    )
    suite = finished_suite(released, environments["development"], editor)
    client.force_login(viewer)
    # When the suite run is shown
    html = client.get(url("suite-run", suite_id=suite.pk)).content.decode()
    # Then expected and actual values read as JSON (true, null, double quotes), never as Python
    assert "<code>field vip</code>: true" in html and "field vip is null" in html
    assert "{&quot;a&quot;: 1}" in html and "[&quot;a&quot;]" in html
    assert "True" not in html and "None" not in html and "{&#x27;a&#x27;" not in html


def test_suite_run_start__viewer__refused_with_message(client, viewer, cases, released):
    client.force_login(viewer)
    response = client.post(url("suite-run-start"), {"environment": "development"}, follow=True)
    assert "does not allow you to submit runs" in response.content.decode()
    assert not SuiteRun.objects.exists()


def test_save_as_test_case__one_click_from_a_run(client, editor, viewer, released, environments):
    run = run_services.run_submit(
        pipeline=released, environment=environments["development"], record=ADULT, actor=editor
    )
    run_services.run_execute(run.pk)
    client.force_login(viewer)
    assert (
        "Save as test case" not in client.get(reverse("console:run-detail", args=[run.pk])).content.decode()
    )
    client.force_login(editor)
    assert "Save as test case" in client.get(reverse("console:run-detail", args=[run.pk])).content.decode()
    response = client.post(reverse("console:save-as-test-case", args=[run.pk]))
    case = TestCase.objects.get()
    assert response.status_code == 302 and response["Location"] == url("test-case-edit", case_id=case.pk)
    assert services.case_content(case) == (ADULT, {"status": "passed"})


def test_version_page__gate_closed_then_open_after_the_suite(
    client, publisher, cases, released, environments
):
    client.force_login(publisher)
    html = client.get(url("version-detail", number=1)).content.decode()
    assert "✗ closed" in html and "Run the test cases on v1 as production would run it" in html
    response = client.post(
        url("version-release", number=1), {"environment": "production", "reason": "go live"}
    )
    assert response.status_code == 409 and "Release gate:" in response.content.decode()
    assert release_live(released, environments["production"]) is None
    finished_suite(released, environments["production"], publisher, version=released.versions.get())
    html = client.get(url("version-detail", number=1)).content.decode()
    assert "✓ open" in html and "The test suite passed on this exact config" in html
    response = client.post(
        url("version-release", number=1), {"environment": "production", "reason": "go live"}
    )
    assert (
        response.status_code == 302 and release_live(released, environments["production"]).version.number == 1
    )


def test_version_release__gate_override_ticked__opens_a_change_request_applied_once_another_publisher_approves(
    client, publisher, publisher2, released, environments
):
    # Given a publisher ticks "release without a passing test suite"
    client.force_login(publisher)
    response = client.post(
        url("version-release", number=1),
        {"environment": "production", "reason": "hotfix", "gate_override": "on"},
    )
    # Then a change request is opened and nothing is released yet
    change = ChangeRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:change-request", kwargs={"pk": change.pk})
    assert change.gate_override and release_live(released, environments["production"]) is None
    assert not AuditEvent.objects.filter(action="release_gate.overridden").exists()
    # When another publisher approves it and it is applied
    client.force_login(publisher2)
    client.post(reverse("console:change-request-approve", kwargs={"pk": change.pk}), {"comment": "ok"})
    response = client.post(reverse("console:change-request-apply", kwargs={"pk": change.pk}))
    # Then it is released, and the override is audited with the reason
    assert response.status_code == 302
    assert release_live(released, environments["production"]).version.number == 1
    assert AuditEvent.objects.get(action="release_gate.overridden").reason.endswith("hotfix")


def test_environment_override__test_it_before_saving(
    client, publisher, cases, released, environments, django_capture_on_commit_callbacks
):
    client.force_login(publisher)
    patch = {"stages": {"business_rules": {"rules": {"age_verification": {"params": {"minimum_age": 30}}}}}}
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            url("environment-detail", env="development"),
            {"override": json.dumps(patch), "reason": "", "action": "test"},
        )
    suite = SuiteRun.objects.get()
    assert response.status_code == 302 and response["Location"] == url("suite-run", suite_id=suite.pk)
    assert suite.override == patch and "proposed override" in suite.target
    assert release_live(released, environments["development"]).override == {}  # nothing saved


def test_pipeline_overview__untested_rule_flagged(client, viewer, editor, released, environments):
    services.case_create(
        pipeline=released,
        name="only the email",
        record={"name": "A", "email": "bad"},
        expected={"status": "failed"},
        actor=editor,
    )
    finished_suite(released, environments["development"], editor)
    client.force_login(viewer)
    html = client.get(url("pipeline-detail")).content.decode()
    assert "rules no test case exercises:" in html
    assert "<code>business_rules/age_verification</code>" in html


def test_cases_page__suite_ran_before_the_release__config_shown_as_live_now(
    client, publisher, cases, released, environments
):
    # Given a suite run on v1 as production would run it, before v1 was released there
    suite = finished_suite(released, environments["production"], publisher, version=released.versions.get())
    client.force_login(publisher)
    html = client.get(url("test-cases")).content.decode()
    assert "v1 in production (not released there)" in html
    # When v1 is then released to production
    client.post(url("version-release", number=1), {"environment": "production", "reason": "go live"})
    assert release_live(released, environments["production"]).version.number == 1
    # Then the coverage note, the suite run list and the suite run's page say it is live there
    for page in (url("test-cases"), url("suite-run", suite_id=suite.pk), url("pipeline-detail")):
        html = client.get(page).content.decode()
        assert "live in production (v1)" in html and "not released there" not in html, page


def test_case_edit__changed_by_someone_else_meanwhile__not_saved_theirs_shown_mine_kept(
    client, editor, publisher, cases, released
):
    # Given an editor who opened a test case, then a colleague who renamed it
    client.force_login(editor)
    case = cases[0]
    page = client.get(url("test-case-edit", case_id=case.pk)).content.decode()
    seen = re.search(r'name="base_revision" value="([^"]*)"', page).group(1)
    record, expected = services.case_content(case)
    services.case_update(
        case=case, name="adult is accepted", record=record, expected=expected, actor=publisher
    )
    # When she saves her edit from the page she opened
    response = client.post(
        url("test-case-edit", case_id=case.pk),
        {"base_revision": seen, "name": "my name for it", "record": json.dumps(record), "status": "passed"},
    )
    html = response.content.decode()
    # Then nothing of hers is saved; the page shows the colleague's name and keeps hers in the form
    assert response.status_code == 412
    case.refresh_from_db()
    assert case.name == "adult is accepted"
    assert "Not saved: pat changed this test case while you were editing" in html
    assert "<strong>adult is accepted</strong>" in html and 'value="my name for it"' in html
    # When she saves again from there / Then hers replaces theirs
    now = re.search(r'name="base_revision" value="([^"]*)"', html).group(1)
    again = client.post(
        url("test-case-edit", case_id=case.pk),
        {"base_revision": now, "name": "my name for it", "record": json.dumps(record), "status": "passed"},
    )
    assert again.status_code == 302
    case.refresh_from_db()
    assert case.name == "my name for it"
