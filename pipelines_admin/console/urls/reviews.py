"""The review queue and a run's review."""

from django.urls import path

from pipelines_admin.console.views import reviews

urlpatterns: list = [
    path("", reviews.queue, name="reviews"),
    path("<uuid:run_id>/", reviews.case, name="review"),
    path("<uuid:run_id>/claim/", reviews.claim, name="review-claim"),
    path("<uuid:run_id>/release/", reviews.release, name="review-release"),
    path("<uuid:run_id>/reveal/", reviews.reveal, name="review-reveal"),
    path("<uuid:run_id>/decide/", reviews.decide, name="review-decide"),
    path("<uuid:run_id>/save-as-test-case/", reviews.save_as_test_case, name="review-save-as-test-case"),
]
