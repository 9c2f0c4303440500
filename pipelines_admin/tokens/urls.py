from django.urls import path

from pipelines_admin.tokens import views

app_name = "tokens"
urlpatterns = [
    path("", views.tokens, name="list"),
    path("<uuid:token_id>/revoke/", views.revoke, name="revoke"),
]
