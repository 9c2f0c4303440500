"""Login throttling (django-axes): after LOGIN_FAILURE_LIMIT (5) failed logins for one
username from one address, that pair is locked out for LOGIN_LOCKOUT_MINUTES, even
with the right password; other users and other addresses are not; a success resets
the count. HTTP Basic on the API counts the same way; API tokens are not passwords
and keep working."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from pipelines_admin.tokens.services import token_create

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[3]
WRONG = "not-the-password"


def log_in(client: Client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(username: str, times: int, address: str = "127.0.0.1") -> None:
    for attempt in range(1, times + 1):
        response = log_in(Client(), username, WRONG, address)
        # the form again with its error; the fifth failure gets the lockout page
        assert response.status_code == (429 if attempt >= 5 else 200), attempt


def test_login__five_failures__locked_out_even_with_the_right_password(editor):
    # Given five failed logins as eddie from one address
    fail("eddie", 5)
    # When the right password comes next from that address
    client = Client()
    response = log_in(client, "eddie", "eddie-password-1")
    # Then the login is refused with the lockout page, and nobody is logged in
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not logged_in(client)


def test_login__four_failures__right_password_still_works(editor):
    fail("eddie", 4)
    client = Client()
    assert log_in(client, "eddie", "eddie-password-1").status_code == 302
    assert logged_in(client)


def test_lockout__other_user_and_other_address__not_locked(editor, viewer):
    # Given eddie locked out from 127.0.0.1
    fail("eddie", 5)
    # When vic logs in from there, and eddie from another address
    vic, eddie_elsewhere = Client(), Client()
    log_in(vic, "vic", "vic-password-1")
    log_in(eddie_elsewhere, "eddie", "eddie-password-1", address="127.0.0.2")
    # Then both get in: the lockout is for that username from that address
    assert logged_in(vic) and logged_in(eddie_elsewhere)


def test_lockout__cool_off_over__right_password_works_again(editor):
    from axes.models import AccessAttempt
    from django.conf import settings

    # Given eddie locked out, and the lockout period gone by
    fail("eddie", 5)
    assert log_in(Client(), "eddie", "eddie-password-1").status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time
        - settings.AXES_COOLOFF_TIME
        - timedelta(seconds=1)
    )
    # When he logs in again / Then he gets in
    client = Client()
    assert log_in(client, "eddie", "eddie-password-1").status_code == 302 and logged_in(client)


def test_success__resets_the_count(editor):
    # Given four failures, then a success
    fail("eddie", 4)
    assert log_in(Client(), "eddie", "eddie-password-1").status_code == 302
    # When four more failures follow / Then the right password still works
    fail("eddie", 4)
    client = Client()
    assert log_in(client, "eddie", "eddie-password-1").status_code == 302 and logged_in(client)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_api_basic_auth__five_failures__right_password_refused_but_tokens_still_work(editor):
    # Given an API token of eddie's, and five wrong passwords sent over HTTP Basic
    token = token_create(user=editor, name="ci").secret
    url = reverse("api:token-list")
    for _ in range(5):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=basic("eddie", WRONG))
        assert client.post(url, {"name": "x"}, format="json").status_code == 401
    # When the right password comes next
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic("eddie", "eddie-password-1"))
    response = client.post(url, {"name": "x"}, format="json")
    # Then no token is made
    assert response.status_code in (401, 403, 429), response.content
    # And his existing API token still works (a token is not a password to guess)
    with_token = APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert with_token.get(reverse("api:pipeline-list")).status_code == 200


def test_admin_login__five_failures__locked_out_too(superuser):
    for _ in range(5):
        Client().post(reverse("admin:login"), {"username": "root", "password": WRONG})
    client = Client()
    response = client.post(reverse("admin:login"), {"username": "root", "password": "root-password-1"})
    assert response.status_code == 429 and not logged_in(client)


def test_force_login_and_authenticate_without_request__not_throttled(editor):
    # The test client's login() and scripts call authenticate() without a request
    from django.contrib.auth import authenticate

    fail("eddie", 5)
    assert authenticate(username="eddie", password="eddie-password-1") == editor
    client = Client()
    assert client.login(username="eddie", password="eddie-password-1") is True


def test_settings__limit_and_lockout_from_environment(tmp_path):
    # Given other numbers in the environment / When the settings load
    code = (
        "from pipelines_admin import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()), s.AXES_LOCKOUT_PARAMETERS)"
    )
    env = {
        "PATH": os.environ["PATH"],
        "VAR_DIR": str(tmp_path),
        "LOGIN_FAILURE_LIMIT": "3",
        "LOGIN_LOCKOUT_MINUTES": "2",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    # Then they are used
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3 120 [['username', 'ip_address']]"
