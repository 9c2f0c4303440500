"""The demo users: one for each role, created once."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from pipelines_admin.accounts.roles import EDITOR, PUBLISHER, REVIEWER, VIEWER


@dataclass(frozen=True)
class DemoUser:
    username: str
    roles: tuple[str, ...]
    can: str
    superuser: bool = False

    @property
    def password_variable(self) -> str:
        return f"DEMO_{self.username.upper()}_PASSWORD"

    @property
    def role_text(self) -> str:
        """Its role and what that allows, e.g. "viewer + editor: creates versions, ..."."""
        return f"{'superuser' if self.superuser else ' + '.join(self.roles)}: {self.can}"


DEMO_USERS = (
    DemoUser("admin", (VIEWER, EDITOR, PUBLISHER), "everything", superuser=True),
    DemoUser("editor", (VIEWER, EDITOR), "creates versions, changes unprotected environments"),
    DemoUser("viewer", (VIEWER,), "reads everything"),
    DemoUser(
        "publisher",
        (VIEWER, EDITOR, PUBLISHER),
        "also releases to production, through change requests another publisher approves",
    ),
    DemoUser(
        "publisher2", (VIEWER, EDITOR, PUBLISHER), "a second publisher, who approves the first one's changes"
    ),
    DemoUser("reviewer", (REVIEWER,), "reads everything, decides applications sent to review"),
    DemoUser("reviewer2", (REVIEWER,), "a second reviewer, for rules that need two approvals"),
)


@transaction.atomic
def demo_users_ensure() -> list[tuple[str, str, bool]]:
    """Create the demo users that do not exist yet; never touch existing ones.

    Returns (username, password, from_environment) for each user created; the
    password comes from DEMO_<USERNAME>_PASSWORD when set, else it is random.
    """
    user_model = get_user_model()
    created = []
    for demo in DEMO_USERS:
        if user_model.objects.filter(username=demo.username).exists():
            continue
        password = os.environ.get(demo.password_variable)
        from_env = bool(password)
        password = password or secrets.token_urlsafe(12)
        user = user_model.objects.create_user(
            username=demo.username,
            password=password,
            is_staff=demo.superuser,
            is_superuser=demo.superuser,
        )
        # the role groups come with the migrations; a flushed database may have lost them
        user.groups.set([Group.objects.get_or_create(name=role)[0] for role in demo.roles])
        created.append((demo.username, password, from_env))
    return created
