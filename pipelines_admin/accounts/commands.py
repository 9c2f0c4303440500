"""Who a management command acts as."""

from __future__ import annotations

from pipelines_admin.accounts.selectors import acting_user
from pipelines_admin.core.commands import command_error
from pipelines_admin.core.errors import ServiceError


def command_user(username: str | None):
    """The user named by --user, or the only superuser; CommandError (exit 2) otherwise."""
    try:
        return acting_user(username)
    except ServiceError as exc:
        raise command_error(exc) from None
