"""Runs and batches: the run list, a run, batch uploads, a batch and its results."""

from django.urls import path

from pipelines_admin.console.views import runs

urlpatterns: list = [
    path("runs/", runs.runs, name="runs"),
    path("runs/<uuid:run_id>/", runs.run_detail, name="run-detail"),
    path("batches/", runs.batches, name="batches"),
    path("batches/<uuid:batch_id>/", runs.batch_detail, name="batch-detail"),
    path("batches/<uuid:batch_id>/cancel/", runs.batch_cancel_view, name="batch-cancel"),
    path("batches/<uuid:batch_id>/results.<str:fmt>", runs.batch_results, name="batch-results"),
]
