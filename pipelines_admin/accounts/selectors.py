"""Reads of users."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from pipelines_admin.core.errors import InvalidInput, NotFound


def acting_user(username: str | None):
    """Who a command acts as: the active user named `username`, or, when none is named,
    the only active superuser. The role checks are the services' own, as for the console."""
    users = get_user_model().objects.filter(is_active=True)
    if username is not None:
        user = users.filter(username=username).first()
        if user is None:
            raise NotFound(f"There is no active user {username!r}.", {"user": username})
        return user
    superusers = list(users.filter(is_superuser=True).order_by("username"))
    if len(superusers) == 1:
        return superusers[0]
    if not superusers:
        raise InvalidInput("There is no superuser to act as: name the user with --user USERNAME.")
    names = ", ".join(u.get_username() for u in superusers)
    raise InvalidInput(
        f"There are {len(superusers)} superusers ({names}): name the one to act as with --user USERNAME."
    )
