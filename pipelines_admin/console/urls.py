from django.urls import path

from pipelines_admin.console import views

app_name = "console"
urlpatterns = [
    path("", views.pipelines, name="pipelines"),
    path("runs/", views.runs, name="runs"),
    path("dashboards/", views.dashboards, name="dashboards"),
    path("audit/", views.audit, name="audit"),
]
