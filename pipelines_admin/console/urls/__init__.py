"""The console's URLs: one module per module of views, included here (the names are
the console's, e.g. ``console:pipeline-detail``)."""

from django.urls import include, path

from pipelines_admin.console.views import audit, dashboards, pipelines
from pipelines_admin.console.views.testcases import save_run_as_test_case

app_name = "console"
urlpatterns = [
    path("", pipelines.pipelines, name="pipelines"),
    path("pipelines/<slug:slug>/", include("pipelines_admin.console.urls.pipeline_pages")),
    path("pipelines/<slug:slug>/", include("pipelines_admin.console.urls.editor")),
    path("pipelines/<slug:slug>/tests/", include("pipelines_admin.console.urls.testcases")),
    path("pipelines/<slug:slug>/impact/", include("pipelines_admin.console.urls.impact")),
    path("runs/<uuid:run_id>/save-as-test-case/", save_run_as_test_case, name="save-as-test-case"),
    path("", include("pipelines_admin.console.urls.trial_runs")),
    path("", include("pipelines_admin.console.urls.runs")),
    path("environments/", include("pipelines_admin.console.urls.environments")),
    path("reviews/", include("pipelines_admin.console.urls.reviews")),
    path("webhooks/", include("pipelines_admin.console.urls.webhooks")),
    path("changes/", include("pipelines_admin.console.urls.changes")),
    path("dashboards/", dashboards.dashboards, name="dashboards"),
    path("audit/", audit.audit, name="audit"),
]
