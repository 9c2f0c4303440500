"""Impact analysis pages of a pipeline: start one, list them, read a report."""

from django.urls import path

from pipelines_admin.console.views import impact

urlpatterns: list = [
    path("", impact.impact, name="impact"),
    path("<int:report_id>/", impact.impact_report, name="impact-report"),
    path("<int:report_id>/cancel/", impact.impact_cancel_view, name="impact-cancel"),
]
