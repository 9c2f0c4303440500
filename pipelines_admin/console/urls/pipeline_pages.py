"""Pipeline pages: overview (graph and environment matrix), versions, environments."""

from django.urls import path

from pipelines_admin.console.views import pipeline_pages

urlpatterns: list = [
    path("", pipeline_pages.pipeline_detail, name="pipeline-detail"),
    path("toggle/", pipeline_pages.pipeline_toggle, name="pipeline-toggle"),
    path("versions/", pipeline_pages.versions, name="versions"),
    path("versions/diff/", pipeline_pages.version_diff, name="version-diff"),
    path("versions/<int:number>/", pipeline_pages.version_detail, name="version-detail"),
    path("versions/<int:number>/release/", pipeline_pages.version_release, name="version-release"),
    path("environments/diff/", pipeline_pages.environment_diff, name="environment-diff"),
    path("environments/<slug:env>/", pipeline_pages.environment_detail, name="environment-detail"),
    path(
        "environments/<slug:env>/rollback/<int:release_id>/", pipeline_pages.rollback, name="release-rollback"
    ),
]
