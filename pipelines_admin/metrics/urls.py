from django.urls import path

from pipelines_admin.metrics import views

urlpatterns = [path("metrics", views.metrics, name="metrics")]
