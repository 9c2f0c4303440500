"""Fixtures shared by the whole suite: a real Celery worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# The suite runs on small shared machines: how fast hypothesis can generate inputs says
# nothing about the code under test, so the time-based health check and deadline are off
# (each property still runs its full number of examples).
hypothesis_settings.register_profile("suite", suppress_health_check=[HealthCheck.too_slow], deadline=None)
hypothesis_settings.load_profile("suite")

REPO = Path(__file__).resolve().parent.parent


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL that points another process at the database Django uses now."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    if engine.endswith("postgresql"):
        user, password = settings_dict.get("USER") or "", settings_dict.get("PASSWORD") or ""
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        return f"postgres://{auth}{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    raise RuntimeError(f"no URL form for {engine}")


class WorkerProcess:
    """A `celery -A pipelines_admin worker` child process consuming a private queue: one
    process doing the work itself (solo) unless a pool of processes (prefork) is asked for."""

    def __init__(
        self, queue: str, env: dict[str, str], log_path: Path, *, pool: str = "solo", concurrency: int = 1
    ):
        self.queue = queue
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "pipelines_admin",
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                "--loglevel=info",
                "-Q",
                queue,
                "--hostname",
                f"test-{queue}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(
                signal.SIGQUIT
            )  # cold shutdown: the tests wait for their tasks themselves
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _worker_process(tmp_path, django_db_blocker, **pool):
    from django.db import connection

    from pipelines_admin.celery import app

    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ)
    with django_db_blocker.unblock():
        env["DATABASE_URL"] = database_url(connection.settings_dict)
    env["CELERY_TASK_DEFAULT_QUEUE"] = queue
    worker = WorkerProcess(queue, env, tmp_path / "worker.log", **pool)
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield worker
    finally:
        app.conf.task_default_queue = previous
        worker.stop()


@pytest.fixture
def celery_worker_process(tmp_path, django_db_setup, django_db_blocker):
    """Start a real worker on a private queue pointed at the test database; tasks
    sent from the test go to that queue while the fixture lives."""
    yield from _worker_process(tmp_path, django_db_blocker)


@pytest.fixture
def celery_prefork_worker_process(tmp_path, django_db_setup, django_db_blocker):
    """The same with two worker processes, as `make run` and docker-compose run it."""
    yield from _worker_process(tmp_path, django_db_blocker, pool="prefork", concurrency=2)


@pytest.fixture
def dead_broker(monkeypatch):
    """Point the Celery app at a broker where nothing listens, then put everything back,
    connection pools included (they remember the URL they were made for)."""
    from pipelines_admin.celery import app

    reset_pools(app)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.setitem(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.conf, "broker_connection_timeout", 1)
    monkeypatch.setitem(app.conf, "broker_connection_retry", False)
    monkeypatch.setitem(app.conf, "broker_connection_max_retries", 0)
    yield app
    reset_pools(app)


def reset_pools(app) -> None:
    """Connection pools remember the broker they were made for: drop them all (kombu's
    registry of producer pools included, or a closed pool would be handed out again and
    every later send in this process fail with "Acquire on closed pool")."""
    from kombu import pools

    for pool in (app._pool, app.amqp._producer_pool):
        if pool is not None:
            pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()
