"""Reads of API tokens."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from pipelines_admin.core.errors import NotFound
from pipelines_admin.tokens.models import ApiToken


def token_list(user) -> QuerySet[ApiToken]:
    """The user's tokens, newest first, revoked ones included."""
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def token_get(user, token_id) -> ApiToken:
    """One of the user's tokens (someone else's is no token for them)."""
    try:
        return ApiToken.objects.select_related("user").get(pk=token_id, user=user)
    except (ApiToken.DoesNotExist, ValidationError, ValueError):
        raise NotFound("There is no such token.", {"token": str(token_id)}) from None
