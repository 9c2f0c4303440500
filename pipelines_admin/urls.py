from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from pipelines_admin.core.views import favicon

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("pipelines_admin.api.urls")),
    path("account/tokens/", include("pipelines_admin.tokens.urls")),
    path("favicon.ico", favicon, name="favicon"),
    path("", include("pipelines_admin.health.urls")),
    path("", include("pipelines_admin.metrics.urls")),
    path("", include("pipelines_admin.console.urls")),
]
