"""The Environments area: the list, one environment, its service bindings."""

from django.urls import path

from pipelines_admin.console.views import environments

urlpatterns: list = [
    path("", environments.environments, name="environments"),
    path("<slug:env>/", environments.environment, name="environment"),
    path("<slug:env>/bindings/", environments.binding_set, name="binding-set"),
    path("<slug:env>/bindings/<str:service>/remove/", environments.binding_remove, name="binding-remove"),
]
