import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from pipelines_admin import environment_variables

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
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "word, expected",
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        ("on", True),
        ("off", False),
        ("0", False),
        ("false", False),
        ("", True),
    ],
)
def test_environment_variables__common_spellings_of_a_flag__parsed(monkeypatch, word, expected):
    # Given the spellings people use for DEBUG (blank: the default)
    monkeypatch.setenv("DEBUG", word)
    # When the variables are read / Then they read as booleans
    assert environment_variables.read().DEBUG is expected


@pytest.mark.parametrize(
    "name, value",
    [
        ("DEBUG", "maybe"),
        ("RUN_MAX_ATTEMPTS", "three"),
        ("LOGIN_LOCKOUT_MINUTES", "-5"),
        ("API_THROTTLE_USER", "lots"),
        ("BATCH_CHUNK_SIZE", "0"),
    ],
)
def test_settings__bad_value__start_up_stops_naming_the_variable(tmp_path, name, value):
    # Given one variable with a value of the wrong type or range
    # When the settings load in a fresh process
    done = load_settings({"VAR_DIR": str(tmp_path), name: value})
    # Then they refuse, naming the variable and what is wrong, without a long traceback of Django's
    assert done.returncode != 0
    assert "ImproperlyConfigured: Bad environment variables" in done.stderr and name in done.stderr


def test_settings__bad_secret_like_value__not_repeated_in_the_message(monkeypatch):
    # Given a variable whose value may be secret, with a value that does not parse
    monkeypatch.setenv("DATABASE_CONN_MAX_AGE", "forever")
    monkeypatch.setenv("METRICS_TOKEN", "s3cret-token")
    monkeypatch.setattr(environment_variables, "SECRET_WORDS", ("CONN",))
    # When read / Then the message names it without repeating its value
    with pytest.raises(ImproperlyConfigured) as refused:
        environment_variables.read()
    assert "DATABASE_CONN_MAX_AGE" in str(refused.value) and "forever" not in str(refused.value)


def test_readme__configuration_table__lists_every_variable_the_settings_read():
    # Given the README's configuration table and the variables the settings read
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Configuration") : readme.index("## Metrics")]
    listed = re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.M)
    # Then they are the same, in the same order, each once
    assert listed == list(environment_variables.EnvironmentVariables.model_fields)
    # and the settings read no variable but through them
    source = (REPO / "pipelines_admin" / "settings.py").read_text(encoding="utf-8")
    assert "os.environ" not in source and "getenv" not in source


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
    out = load_settings(
        {
            "VAR_DIR": str(tmp_path),
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "RUN_INPUT_KEYS": "p2DJYXc7KzRAu1Ts3SRn1VN6PF4T4GGkXb4C3UNqrGc=",
            "DATABASE_URL": "postgres://u:p@db.example:5432/rules",
            "CELERY_BROKER_URL": "redis://cache:6379/0",
            "ALLOWED_HOSTS": "rules.example, console.example",
        }
    )
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
