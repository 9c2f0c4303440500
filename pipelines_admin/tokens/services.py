"""Creating, revoking and checking personal API tokens.

The secret is `rcp_` followed by 43 random URL-safe characters (256 bits). Only its
SHA-256 is stored: a random secret of that length needs no slow hash, and a lookup by
hash needs no comparison in Python, so it leaks no timing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from pipelines_admin.audit.services import audit_record
from pipelines_admin.core.errors import InvalidInput, NotAllowed
from pipelines_admin.tokens.models import ApiToken

SECRET_PREFIX = "rcp_"  # noqa: S105 - the public start of every token
PREFIX_LENGTH = len(SECRET_PREFIX) + 8
MAX_ACTIVE_TOKENS = 50
# last_used_at is a hint for the user, not a log: write it at most this often per token
LAST_USED_RESOLUTION = timedelta(minutes=1)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    secret: str  # shown once, never stored


@transaction.atomic
def token_create(*, user, name: str) -> CreatedToken:
    """A new token for `user`, acting with the user's roles."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        raise NotAllowed("Only active users can have API tokens.")
    name = (name or "").strip()
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise InvalidInput(
            f"You have {MAX_ACTIVE_TOKENS} active tokens: revoke one you no longer use first.",
            {"limit": MAX_ACTIVE_TOKENS},
        )
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, prefix=secret[:PREFIX_LENGTH], secret_hash=secret_hash(secret))
    try:
        token.full_clean()
    except ValidationError as exc:
        raise InvalidInput("The token's details are not valid.", {"fields": exc.message_dict}) from None
    token.save()
    audit_record(
        actor=user,
        action="api_token.created",
        object_type="api_token",
        object_id=token.pk,
        object_repr=f"{token.name} ({token.prefix}…)",
        data={"prefix": token.prefix},
    )
    return CreatedToken(token, secret)


@transaction.atomic
def token_revoke(*, token: ApiToken, actor) -> ApiToken:
    """Revoke a token (its owner or a superuser may); it stops working at once."""
    if not (getattr(actor, "pk", None) == token.user_id or getattr(actor, "is_superuser", False)):
        raise NotAllowed("Only the token's owner can revoke it.")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise InvalidInput("The token is already revoked.", {"revoked_at": token.revoked_at.isoformat()})
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="api_token.revoked",
        object_type="api_token",
        object_id=token.pk,
        object_repr=f"{token.name} ({token.prefix}…)",
        data={"prefix": token.prefix, "owner": token.user.get_username()},
    )
    return token


def token_authenticate(secret: str) -> ApiToken | None:
    """The active token with this secret, its user loaded; None when there is none, it
    was revoked, or its user is inactive."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(secret_hash=secret_hash(secret)).first()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
