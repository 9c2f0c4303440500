"""A short load test: the console's pages and run submission under 10, then 50,
concurrent users against gunicorn and a Celery worker, as in production (DEBUG off).

It runs bench/load/run_load.py (the full test is `make load`) on the database and broker
of the pass: PostgreSQL and Redis under scripts/with-services, SQLite and the filesystem
broker otherwise, where the web server and the worker share one SQLite file and writes
queue behind each other. The bar is the same on both: no failed request, and every run
submitted decided (none lost, none in error)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, database_url

pytestmark = [pytest.mark.load, pytest.mark.django_db(transaction=True)]

STEPS = "10,50"
SECONDS_PER_STEP = 10
ACCOUNTS = 10  # signing in costs a password hash each: ten people, in several tabs


def test_pages_and_run_submission_under_load_fail_nothing_and_lose_no_run(tmp_path):
    from django.db import connection

    figures = tmp_path / "load.json"
    env = dict(os.environ, DATABASE_URL=database_url(connection.settings_dict))
    command = [
        sys.executable,
        str(REPO / "bench" / "load" / "run_load.py"),
        "--users",
        STEPS,
        "--duration",
        str(SECONDS_PER_STEP),
        "--ramp",
        "2",
        "--accounts",
        str(ACCOUNTS),
        "--static",
        "plain",
        "--drain-timeout",
        "60",
        "--json-out",
        str(figures),
        "--keep-logs",
        str(tmp_path / "logs"),
    ]
    driver = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        stdout, stderr = driver.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        driver.terminate()  # the driver stops its server, worker and Locust on SIGTERM
        stdout, stderr = driver.communicate(timeout=60)
    report = f"{stdout[-6000:]}\n{stderr[-6000:]}"
    print(stdout)  # the figures, shown with -rP or on failure
    assert driver.returncode == 0, report

    summary = json.loads(figures.read_text())
    assert summary["database"] == connection.vendor
    assert summary["sign_in"]["errors"] == 0 and summary["sign_in"]["revoke_errors"] == 0, report
    assert summary["server_errors"] == 0, report
    assert [step["users"] for step in summary["steps"]] == [10, 50]
    for step in summary["steps"]:
        runs = step["runs"]
        assert step["requests"] > 0 and step["errors"] == 0, report
        assert runs["submitted"] > 0, report
        assert runs["decided"] == runs["submitted"], report
        assert runs["lost"] == runs["run_errors"] == runs["not_stored"] == 0, report
