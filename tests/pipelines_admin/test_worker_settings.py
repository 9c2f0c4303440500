"""How the worker runs: processes (prefork) in `make run` and docker-compose, a memory
ceiling per process, and no query log kept between tasks."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from celery.signals import task_postrun
from django.db import connection
from django.test.utils import override_settings

from pipelines_admin.celery import app

REPO = Path(__file__).resolve().parents[2]


def _pool(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg.startswith("--pool="):
            return arg.split("=", 1)[1]
        if arg in ("-P", "--pool"):
            return argv[i + 1]
    return None


def test_worker__make_run_and_compose__prefork_one_process_per_core():
    # Given the worker command of the Procfile (make run) and of docker-compose.yml
    procfile = dict(line.split(": ", 1) for line in (REPO / "Procfile").read_text().splitlines() if line)
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    commands = [shlex.split(procfile["worker"]), compose["services"]["worker"]["command"]]
    # Then both run processes, as many as the machine has cores (Celery's default)
    for argv in commands:
        assert _pool(argv) == "prefork", argv
        assert not any(a.startswith(("--concurrency", "-c")) for a in argv), argv


def test_worker__settings__a_process_that_grew_is_replaced():
    # Then the Celery app carries the memory ceiling per process (KiB)
    assert app.conf.worker_max_memory_per_child == 512_000


@pytest.mark.django_db
def test_task_postrun__debug_on__the_query_log_is_emptied():
    # Given DEBUG on (make run), where Django logs every query of a connection
    with override_settings(DEBUG=True):
        connection.force_debug_cursor = False
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert len(connection.queries_log) >= 1
        # When a task finishes in the worker
        task_postrun.send(sender=None, task_id="t", task=None, args=(), kwargs={}, retval=None)
        # Then the log is empty: it does not grow batch after batch
        assert len(connection.queries_log) == 0
