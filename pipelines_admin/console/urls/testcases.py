"""Test case pages of a pipeline: the list with coverage, a case's form, suite runs."""

from django.urls import path

from pipelines_admin.console.views import testcases

urlpatterns: list = [
    path("", testcases.cases, name="test-cases"),
    path("new/", testcases.case_new, name="test-case-new"),
    path("<int:case_id>/", testcases.case_edit, name="test-case-edit"),
    path("<int:case_id>/delete/", testcases.case_delete_view, name="test-case-delete"),
    path("suite-runs/", testcases.suite_run_start, name="suite-run-start"),
    path("suite-runs/<int:suite_id>/", testcases.suite_run_detail, name="suite-run"),
]
