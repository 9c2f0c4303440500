import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from pipelines_admin import settings as settings_module

REPO = Path(__file__).resolve().parents[2]


def load_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Import the settings module in a fresh interpreter with exactly `env` on top of PATH."""
    code = (
        "import json; from pipelines_admin import settings as s; "
        "print(json.dumps({'DEBUG': s.DEBUG, 'ALLOWED_HOSTS': s.ALLOWED_HOSTS, "
        "'DB': s.DATABASES['default']['ENGINE'], 'DB_NAME': s.DATABASES['default']['NAME'], "
        "'BROKER': s.CELERY_BROKER_URL, 'SESSION_COOKIE_SECURE': getattr(s, 'SESSION_COOKIE_SECURE', False)}))"
    )
    base = {"PATH": os.environ["PATH"], "VAR_DIR": env.pop("VAR_DIR")}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def test_env_bool__common_spellings__parsed():
    # Given the spellings people use / Then they read as booleans, blank as the default
    assert settings_module.env_bool("NOT_SET_ANYWHERE_XYZ", True) is True
    for word, expected in [("1", True), ("true", True), ("YES", True), ("off", False), ("0", False)]:
        os.environ["SETTINGS_TEST_FLAG"] = word
        try:
            assert settings_module.env_bool("SETTINGS_TEST_FLAG", not expected) is expected
        finally:
            del os.environ["SETTINGS_TEST_FLAG"]


def test_settings__no_environment__safe_development_defaults(tmp_path):
    # Given no configuration at all
    out = load_settings({"VAR_DIR": str(tmp_path)})
    # Then the console runs on SQLite and the filesystem broker, on loopback hosts only
    assert out.returncode == 0, out.stderr
    import json
    values = json.loads(out.stdout)
    assert values["DEBUG"] is True
    assert values["DB"] == "django.db.backends.sqlite3"
    assert values["DB_NAME"] == str(tmp_path / "db.sqlite3")
    assert values["BROKER"] == "filesystem://"
    assert set(values["ALLOWED_HOSTS"]) == {"localhost", "127.0.0.1", "[::1]"}
    # and a development secret key was generated, private to this checkout
    key_file = tmp_path / "dev-secret-key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_settings__production_variables__used(tmp_path):
    # Given production-style environment variables
    out = load_settings({
        "VAR_DIR": str(tmp_path), "DEBUG": "false", "SECRET_KEY": "x" * 50,
        "RUN_INPUT_KEYS": "p2DJYXc7KzRAu1Ts3SRn1VN6PF4T4GGkXb4C3UNqrGc=",
        "DATABASE_URL": "postgres://u:p@db.example:5432/rules", "CELERY_BROKER_URL": "redis://cache:6379/0",
        "ALLOWED_HOSTS": "rules.example, console.example",
    })
    # Then the settings follow them, with secure cookies
    assert out.returncode == 0, out.stderr
    import json
    values = json.loads(out.stdout)
    assert values["DEBUG"] is False
    assert values["DB"] == "django.db.backends.postgresql"
    assert values["DB_NAME"] == "rules"
    assert values["BROKER"] == "redis://cache:6379/0"
    assert values["ALLOWED_HOSTS"] == ["rules.example", "console.example"]
    assert values["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "dev-secret-key").exists()
    assert not (tmp_path / "dev-run-input-key").exists()


def test_settings__debug_off_without_secret_key__refuses_to_start(tmp_path):
    # Given DEBUG off and no SECRET_KEY
    out = load_settings({"VAR_DIR": str(tmp_path), "DEBUG": "false"})
    # Then importing the settings fails with a clear message
    assert out.returncode != 0
    assert "SECRET_KEY must be set" in out.stderr


def test_settings__debug_off_without_run_input_keys__refuses_to_start(tmp_path):
    # Given DEBUG off with a secret key but no key to encrypt stored inputs
    out = load_settings({"VAR_DIR": str(tmp_path), "DEBUG": "false", "SECRET_KEY": "x" * 50})
    # Then the settings refuse to start rather than store inputs unencrypted
    assert out.returncode != 0
    assert "RUN_INPUT_KEYS must be set" in out.stderr


def test_settings__loaded__login_required_everywhere_and_csrf_on():
    # Given the loaded settings / Then every view requires login unless exempted, and CSRF is on
    assert "django.contrib.auth.middleware.LoginRequiredMiddleware" in settings.MIDDLEWARE
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
