from django.urls import path

from pipelines_admin.health import views

urlpatterns = [path("healthz", views.healthz, name="healthz")]
