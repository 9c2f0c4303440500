import pytest
from django.contrib.auth.models import AnonymousUser

from pipelines_admin.accounts.permissions import (
    ENVIRONMENT_CHANGE,
    READ,
    RUN_SUBMIT,
    VERSION_CREATE,
    can,
    require,
    role_needed,
)
from pipelines_admin.core.errors import NotAllowed

# role -> (read, create version, change unprotected env, change protected env)
MATRIX = {
    "anonymous": (False, False, False, False),
    "nobody": (False, False, False, False),
    "viewer": (True, False, False, False),
    "editor": (True, True, True, False),
    "publisher": (True, True, True, True),
    "superuser": (True, True, True, True),
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", MATRIX)
def test_can__each_role__matches_the_matrix(role, request, django_user_model, environments):
    # Given a user in the role
    if role == "anonymous":
        user = AnonymousUser()
    elif role == "nobody":
        user = django_user_model.objects.create_user("nobody", password="x-password-1")
    else:
        user = request.getfixturevalue(role)
    # When each action is asked / Then the answers are the matrix's
    answers = (
        can(user, READ),
        can(user, VERSION_CREATE),
        can(user, ENVIRONMENT_CHANGE, environments["staging"]),
        can(user, ENVIRONMENT_CHANGE, environments["production"]),
    )
    assert answers == MATRIX[role]


@pytest.mark.django_db
def test_require__editor_on_protected__message_names_the_environment(editor, environments):
    with pytest.raises(NotAllowed, match="Only publishers may change the protected environment production"):
        require(editor, ENVIRONMENT_CHANGE, environments["production"])


@pytest.mark.django_db
def test_can__inactive_publisher__nothing(publisher, environments):
    publisher.is_active = False
    assert not can(publisher, READ)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "action, environment, role",
    [
        (READ, None, "viewer"),
        (VERSION_CREATE, None, "editor"),
        (RUN_SUBMIT, None, "editor"),
        (ENVIRONMENT_CHANGE, "staging", "editor"),
        (ENVIRONMENT_CHANGE, "production", "publisher"),
    ],
)
def test_role_needed__each_action__the_least_role_that_may(request, environments, action, environment, role):
    # Given the users of every role / When the role needed for an action is asked
    env = environments[environment] if environment else None
    # Then it is the first role, from the least, that may do it
    assert role_needed(action, env) == role
    ladder = ["viewer", "editor", "publisher"]
    assert [can(request.getfixturevalue(r), action, env) for r in ladder] == [
        ladder.index(r) >= ladder.index(role) for r in ladder
    ]
