"""API tokens in the admin: read-only, never their secret (only its hash is stored, and
not shown). Their owner revokes them on the API tokens page."""

from django.contrib import admin
from django.urls import reverse

from pipelines_admin.core.admin_site import ReadOnlyAdmin
from pipelines_admin.tokens.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    console_label = "Revoked by its owner on the API tokens page"
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    exclude = ("secret_hash",)

    def console_url(self, obj):
        return reverse("tokens:list")
