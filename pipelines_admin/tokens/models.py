"""Personal API tokens: a random secret shown once, kept only as its SHA-256 hash.

A token acts as its user, with the user's roles; it is revoked, never deleted, so the
audit trail keeps pointing at something.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. “release job in CI”.")
    prefix = models.CharField(max_length=16, help_text="The secret's first characters, to recognise it.")
    secret_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the secret (hex).")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="apitoken_user_recent_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
