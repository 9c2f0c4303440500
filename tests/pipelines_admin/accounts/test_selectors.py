"""Who a command acts as."""

import pytest

from pipelines_admin.accounts.selectors import acting_user
from pipelines_admin.core.errors import InvalidInput, NotFound

from ..conftest import make_user

pytestmark = pytest.mark.django_db


def test_acting_user__named__that_user(editor, superuser):
    assert acting_user("eddie") == editor


def test_acting_user__none_named_one_superuser__the_superuser(editor, superuser):
    assert acting_user(None) == superuser


@pytest.mark.parametrize("username", ["nobody", "gone"])
def test_acting_user__unknown_or_inactive__not_found(django_user_model, username):
    # Given an inactive user "gone" / When named / Then refused like an unknown one
    django_user_model.objects.create_user("gone", is_active=False, is_superuser=True)
    with pytest.raises(NotFound, match=f"There is no active user '{username}'"):
        acting_user(username)


def test_acting_user__no_superuser__asks_for_a_user(editor):
    with pytest.raises(InvalidInput, match="There is no superuser to act as: name the user with --user"):
        acting_user(None)


def test_acting_user__several_superusers__names_them(django_user_model, superuser):
    make_user(django_user_model, "ada", superuser=True)
    with pytest.raises(InvalidInput, match=r"There are 2 superusers \(ada, root\)"):
        acting_user(None)
