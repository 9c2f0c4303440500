from django.urls import include, path

from pipelines_admin.console.views import (
    audit,
    dashboards,
    environments,
    pipelines,
    runs,
    testcases,
    trial_runs,
)

app_name = "console"
urlpatterns = [
    path("", pipelines.pipelines, name="pipelines"),
    path("runs/", runs.runs, name="runs"),
    path("pipelines/<slug:slug>/try/", trial_runs.try_run, name="try-run"),
    path("pipelines/<slug:slug>/", include("pipelines_admin.console.pipeline_urls")),
    path("pipelines/<slug:slug>/", include("pipelines_admin.console.editor_urls")),
    path("pipelines/<slug:slug>/tests/", include("pipelines_admin.console.testcase_urls")),
    path("pipelines/<slug:slug>/impact/", include("pipelines_admin.console.impact_urls")),
    path("runs/<uuid:run_id>/save-as-test-case/", testcases.save_run_as_test_case, name="save-as-test-case"),
    path("runs/<uuid:run_id>/", runs.run_detail, name="run-detail"),
    path("runs/<uuid:run_id>/rerun/", trial_runs.rerun, name="rerun"),
    path("runs/compare/", trial_runs.compare, name="compare"),
    path("batches/", runs.batches, name="batches"),
    path("batches/<uuid:batch_id>/", runs.batch_detail, name="batch-detail"),
    path("batches/<uuid:batch_id>/cancel/", runs.batch_cancel_view, name="batch-cancel"),
    path("batches/<uuid:batch_id>/results.<str:fmt>", runs.batch_results, name="batch-results"),
    path("dashboards/", dashboards.dashboards, name="dashboards"),
    path("audit/", audit.audit, name="audit"),
    path("environments/", environments.environments, name="environments"),
    path("environments/<slug:env>/", environments.environment, name="environment"),
    path("environments/<slug:env>/bindings/", environments.binding_set, name="binding-set"),
    path(
        "environments/<slug:env>/bindings/<str:service>/remove/",
        environments.binding_remove,
        name="binding-remove",
    ),
]
