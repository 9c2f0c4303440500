"""Production settings (DEBUG off), each in a fresh interpreter: `manage.py check --deploy`
reports nothing; every response carries the security headers and secure cookies;
plain HTTP is redirected to HTTPS except /healthz; the switches for a proxy that does
TLS itself work (and check --deploy then says what is off)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
FERNET_KEY = "p2DJYXc7KzRAu1Ts3SRn1VN6PF4T4GGkXb4C3UNqrGc="
STRONG_SECRET = "Zq3v9KxT-2pWmR7yL0cN5hJ8bF1dG6sA4eU-tQiO_kVwXyPz3MnB"


def production_env(tmp_path, **extra) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "VAR_DIR": str(tmp_path),
        "DEBUG": "false",
        "SECRET_KEY": STRONG_SECRET,
        "RUN_INPUT_KEYS": FERNET_KEY,
        "ALLOWED_HOSTS": "rules.example,testserver",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def test_check_deploy__tls_left_to_a_proxy__checklist_names_what_is_off(tmp_path):
    # Given the switches a deployment behind a TLS-terminating proxy may turn off
    env = production_env(
        tmp_path, SECURE_SSL_REDIRECT="false", SECURE_COOKIES="false", SECURE_HSTS_SECONDS="0"
    )
    # When the checklist runs
    out = run(["manage.py", "check", "--deploy"], env)
    # Then they took effect, and the checklist says so (it is not blind to them)
    report = out.stdout + out.stderr
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in report, code


RESPONSES = r"""
import io, json, django
django.setup()
from django.core.management import call_command
checks = io.StringIO()
call_command("check", deploy=True, fail_level="WARNING", stdout=checks, stderr=checks)
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
call_command("migrate", verbosity=0)
from django.contrib.auth.models import User
User.objects.create_user("ops", password="a long enough password 1")
out = {"checks": checks.getvalue()}
plain = Client()
r = plain.get("/login/")
out["plain_login"] = [r.status_code, r.get("Location", "")]
r = plain.get("/healthz")
out["plain_healthz"] = r.status_code
tls = Client()
r = tls.get("/login/", secure=True)
out["headers"] = {k: r.get(k, "") for k in ("Strict-Transport-Security", "Content-Security-Policy",
    "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy")}
out["csrf_cookie"] = r.cookies["csrftoken"].output()
token = r.cookies["csrftoken"].value
r = tls.post("/login/", {"username": "ops", "password": "a long enough password 1", "csrfmiddlewaretoken": token},
             secure=True, HTTP_REFERER="https://testserver/login/")
out["login"] = r.status_code
out["session_cookie"] = r.cookies["sessionid"].output() if "sessionid" in r.cookies else ""
print(json.dumps(out))
"""


def test_production__check_deploy_clean__https_only_secure_headers_and_cookies(tmp_path):
    # Given a console started with production settings: DEBUG off and the required variables set
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE="pipelines_admin.settings")
    # When Django's deployment checklist runs, and a browser asks over plain HTTP, then over HTTPS, and logs in
    out = run(["-c", RESPONSES], env)
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    # Then the checklist finds nothing to warn about
    assert seen["checks"].strip() == "System check identified no issues (0 silenced).", seen["checks"]
    # Then plain HTTP is sent to HTTPS, except the health check
    assert seen["plain_login"] == [301, "https://testserver/login/"]
    assert seen["plain_healthz"] in (200, 503)
    # And HTTPS answers carry HSTS (a year, subdomains, preload), the CSP and the other headers
    headers = seen["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    # And the CSRF and session cookies are Secure (the session's also HttpOnly), SameSite=Lax
    assert "Secure" in seen["csrf_cookie"] and "SameSite=Lax" in seen["csrf_cookie"]
    assert seen["login"] == 302
    session = seen["session_cookie"]
    assert "Secure" in session and "HttpOnly" in session and "SameSite=Lax" in session
