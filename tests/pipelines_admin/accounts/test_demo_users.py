import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from pipelines_admin.accounts.services import demo_users_ensure


@pytest.mark.django_db
def test_demo_users_ensure__first_run__creates_three_users_with_roles():
    # Given an empty user table
    # When the demo users are ensured
    created = demo_users_ensure()
    # Then admin, editor and viewer exist with their roles and the printed passwords work
    assert [c[0] for c in created] == ["admin", "editor", "viewer"]
    User = get_user_model()
    for username, password, _ in created:
        assert User.objects.get(username=username).check_password(password)
    assert User.objects.get(username="admin").is_superuser
    assert set(User.objects.get(username="editor").groups.values_list("name", flat=True)) == {"viewer", "editor"}
    assert set(User.objects.get(username="viewer").groups.values_list("name", flat=True)) == {"viewer"}


@pytest.mark.django_db
def test_demo_users_ensure__second_run__changes_nothing():
    # Given the demo users already exist
    demo_users_ensure()
    User = get_user_model()
    before = {u.username: u.password for u in User.objects.all()}
    # When ensured again
    created = demo_users_ensure()
    # Then nothing is created and no password changes
    assert created == []
    assert {u.username: u.password for u in User.objects.all()} == before


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
