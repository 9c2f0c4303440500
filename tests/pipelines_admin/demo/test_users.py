import re
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from pipelines_admin.demo.users import demo_users_ensure


@pytest.mark.django_db
def test_demo_users_ensure__first_run__creates_seven_users_with_roles():
    # Given an empty user table
    # When the demo users are ensured
    created = demo_users_ensure()
    # Then admin, editor, viewer, two publishers and two reviewers exist with their roles and the
    # printed passwords work
    assert [c[0] for c in created] == [
        "admin",
        "editor",
        "viewer",
        "publisher",
        "publisher2",
        "reviewer",
        "reviewer2",
    ]
    user_model = get_user_model()
    for username, password, _ in created:
        assert user_model.objects.get(username=username).check_password(password)
    assert user_model.objects.get(username="admin").is_superuser
    assert set(user_model.objects.get(username="editor").groups.values_list("name", flat=True)) == {
        "viewer",
        "editor",
    }
    assert set(user_model.objects.get(username="viewer").groups.values_list("name", flat=True)) == {"viewer"}
    for publisher in ("publisher", "publisher2"):
        assert set(user_model.objects.get(username=publisher).groups.values_list("name", flat=True)) == {
            "viewer",
            "editor",
            "publisher",
        }
    for reviewer in ("reviewer", "reviewer2"):
        assert set(user_model.objects.get(username=reviewer).groups.values_list("name", flat=True)) == {
            "reviewer"
        }


@pytest.mark.django_db
def test_demo_users_ensure__second_run__changes_nothing():
    # Given the demo users already exist
    demo_users_ensure()
    user_model = get_user_model()
    before = {u.username: u.password for u in user_model.objects.all()}
    # When ensured again
    created = demo_users_ensure()
    # Then nothing is created and no password changes
    assert created == []
    assert {u.username: u.password for u in user_model.objects.all()} == before


@pytest.mark.django_db
def test_demo_users_ensure__password_in_environment__used_and_not_printed(monkeypatch, capsys):
    # Given a password for the editor in the environment
    monkeypatch.setenv("DEMO_EDITOR_PASSWORD", "a-long-editor-passphrase")
    # When the command runs
    call_command("ensure_demo_users")
    out = capsys.readouterr().out
    # Then the editor has that password and the output does not echo it
    assert get_user_model().objects.get(username="editor").check_password("a-long-editor-passphrase")
    assert "a-long-editor-passphrase" not in out
    assert "(from the environment)" in out


def readme_demo_block() -> list[str]:
    """The lines of the README's sample of what the first `make run` prints about the demo users."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"prints the demo users' passwords, once:\n\n```\n(.*?)```", readme, flags=re.S)
    assert block, "the README shows what the first run prints"
    return block.group(1).splitlines()


@pytest.mark.django_db
def test_ensure_demo_data__first_run__prints_each_user_with_role_as_the_readme_shows(monkeypatch):
    # Given no password chosen in the environment, and the README's sample of what `make run` prints
    for variable in (
        "DEMO_ADMIN_PASSWORD",
        "DEMO_EDITOR_PASSWORD",
        "DEMO_VIEWER_PASSWORD",
        "DEMO_PUBLISHER_PASSWORD",
        "DEMO_PUBLISHER2_PASSWORD",
        "DEMO_REVIEWER_PASSWORD",
        "DEMO_REVIEWER2_PASSWORD",
    ):
        monkeypatch.delenv(variable, raising=False)
    sample = readme_demo_block()
    # When the command `make run` runs prints its first lines
    out = StringIO()
    call_command("ensure_demo_data", stdout=out)
    lines = out.getvalue().splitlines()[: len(sample)]
    # Then they are the README's lines, each user's password where the README says <password>
    # and the role text in the same column; each printed password is the user's
    assert len(sample) == 8 and lines[0] == sample[0]
    user_model = get_user_model()
    for printed, shown in zip(lines[1:], sample[1:], strict=True):
        username, password = printed.split()[:2]
        assert user_model.objects.get(username=username).check_password(password)
        role = shown.split("<password>")[1].strip()
        assert role and printed.endswith(role) and printed.index(role) == shown.index(role), (printed, shown)
        assert printed.replace(password, "<password>", 1).split() == shown.split()
