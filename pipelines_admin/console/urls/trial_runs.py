"""Trial runs: one application tried on a pipeline, a run again elsewhere, two compared."""

from django.urls import path

from pipelines_admin.console.views import trial_runs

urlpatterns: list = [
    path("pipelines/<slug:slug>/try/", trial_runs.try_run, name="try-run"),
    path("runs/<uuid:run_id>/rerun/", trial_runs.rerun, name="rerun"),
    path("runs/compare/", trial_runs.compare, name="compare"),
]
