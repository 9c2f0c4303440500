"""The broker goes away in the middle of a batch and comes back.

On Redis (the suite's PostgreSQL + Redis pass) the Redis server is shut down without
saving and started again on its port: every message it held is gone, as after a crash
of a Redis without persistence. On the filesystem transport (the SQLite pass) the
broker's folder disappears and comes back, as a lost mount would.

While it is down, applications are still submitted: each is stored as queued and the
submission returns at once. Once it is back, beat's sweep (in real time) sends what
never reached the broker or was lost with it, and the same worker (it reconnects by
itself) or, when it did not survive, a new one finishes everything: every line of the
batch and every run submitted during the outage ends with exactly one result. Messages
the broker lost are noticed after RUN_REQUEUE_AFTER_SECONDS (default 120 s: work may
wait that long in a busy queue), set to 5 s here."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.runs import batches, services
from pipelines_admin.runs.models import Batch, BatchChunk, Run
from tests.conftest import reset_pools
from tests.reliability.faults.conftest import (
    APPLICANT,
    applicants,
    check_batch_exactly_once,
    jsonl,
    wait_for,
)

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHUNK_SIZE = 4
LINES = 24
LATENCY_MS = 60
OUTAGE_SECONDS = 2.0


class RedisOutage:
    """Shut the Redis of scripts/with-services down (nothing saved) and start it again
    with the same settings on the same port."""

    name = "Redis restarted, its messages lost"

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.port = str(parts.port or 6379)
        if parts.hostname not in ("127.0.0.1", "localhost") or os.environ.get("REDIS_PORT") != self.port:
            pytest.skip("Redis was not started by scripts/with-services on this port: not restarting it")
        config = {
            key: self._cli("CONFIG", "GET", key).splitlines()[-1] for key in ("dir", "pidfile", "logfile")
        }
        self.args = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            self.port,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--dir",
            config["dir"],
            "--pidfile",
            config["pidfile"],
            "--logfile",
            config["logfile"],
        ]

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-p", self.port, *args], capture_output=True, text=True, timeout=10
        )
        return done.stdout.strip()

    def _up(self) -> bool:
        try:
            return self._cli("PING") == "PONG"
        except subprocess.TimeoutExpired:
            return False

    def down(self) -> None:
        self._cli("SHUTDOWN", "NOSAVE")
        wait_for(lambda: not self._up(), timeout=10, what="Redis to stop")

    def up(self) -> None:
        subprocess.run(self.args, check=True, capture_output=True, timeout=10)
        wait_for(self._up, timeout=10, what="Redis to start")

    def restore(self) -> None:
        """Whatever happened in the test, Redis is running afterwards."""
        if not self._up():
            self.up()


class FolderOutage:
    """Take the filesystem broker's folder away (messages and all) and put it back."""

    name = "filesystem broker folder gone and back"

    def __init__(self, folder: Path):
        self.queue, self.away = folder / "queue", folder / "queue-unmounted"

    def down(self) -> None:
        self.queue.rename(self.away)

    def up(self) -> None:
        self.away.rename(self.queue)

    def restore(self) -> None:
        if self.away.exists():
            self.up()


@pytest.fixture
def lost_messages_noticed_soon(monkeypatch):
    """Workers (where the sweep runs) started after this re-send work not taken for 5 s."""
    monkeypatch.setenv("RUN_REQUEUE_AFTER_SECONDS", "5")


@pytest.fixture
def broker(tmp_path, monkeypatch):
    """The outage for this pass's broker. The filesystem broker gets a private folder
    (for this process and its workers), so taking it away touches no other test."""
    from pipelines_admin.celery import app

    url = app.conf.broker_url
    if url.startswith("redis://"):
        outage = RedisOutage(url)
        yield outage  # the pools reconnect by themselves once Redis is back
        outage.restore()
        return
    if not url.startswith("filesystem://"):
        pytest.skip(f"no outage to model for the broker {url.split(':')[0]}")
    folder = tmp_path / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True)
    monkeypatch.setenv("CELERY_BROKER_FOLDER", str(folder))  # for the workers and beat started after this
    reset_pools(app)
    monkeypatch.setitem(
        app.conf,
        "broker_transport_options",
        {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        },
    )
    outage = FolderOutage(folder)
    yield outage
    outage.restore()
    reset_pools(app)
    shutil.rmtree(folder, ignore_errors=True)


def test_broker_outage_mid_batch__submissions_stay_queued_then_everything_runs_exactly_once(
    lost_messages_noticed_soon,
    broker,
    workers,
    slow_pipeline,
    environments,
    editor,
    settings,
    record_property,
):
    # Given a batch of 24 applications (chunks of 4, 60 ms each) being worked on
    settings.BATCH_CHUNK_SIZE = CHUNK_SIZE
    slow_pipeline.latency(LATENCY_MS)
    development = environments["development"]
    batch = batches.batch_create(
        pipeline=slow_pipeline,
        environment=development,
        filename="day.jsonl",
        data=jsonl(applicants(LINES)),
        actor=editor,
    )
    wait_for(
        lambda: BatchChunk.objects.filter(batch=batch, status=BatchChunk.Status.DONE).exists(),
        timeout=90,
        what="a first chunk",
        workers=workers,
        interval=0.02,
    )

    # When the broker goes down, and three applications are submitted meanwhile
    broker.down()
    down_at = time.monotonic()
    submit_seconds, during = [], []
    for i in range(3):
        started = time.monotonic()
        during.append(
            services.run_submit(
                pipeline=slow_pipeline,
                environment=development,
                record={**APPLICANT, "name": f"During outage {i}"},
                actor=editor,
            )
        )
        submit_seconds.append(time.monotonic() - started)
    # Then each submission returned promptly and is stored as queued, never sent
    assert max(submit_seconds) < 2, submit_seconds
    assert all(
        r.status == Run.Status.QUEUED and r.enqueued_at is None
        for r in Run.objects.filter(pk__in=[r.pk for r in during])
    )
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))

    # When the broker is back, beat's sweep running on its schedule (a new worker started only
    # if the old one did not survive, as a supervisor would)
    broker.up()
    restored_at, restored = time.monotonic(), timezone.now()
    first_worker_survived = workers.first.process.poll() is None
    if not first_worker_survived:
        workers.start()

    def all_done():
        batch_done = Batch.objects.filter(pk=batch.pk, status=Batch.Status.COMPLETED).exists()
        return batch_done and (
            Run.objects.filter(pk__in=[r.pk for r in during], status__in=Run.FINISHED).count() == 3
        )

    wait_for(all_done, timeout=90, what="the batch and the runs submitted during the outage", workers=workers)
    recovered_s = time.monotonic() - restored_at

    # Then every line of the batch has exactly one run, counters, metrics and audit agree
    figures = check_batch_exactly_once(batch, lines=list(range(1, LINES + 1)))
    # and each run submitted during the outage was sent after it, and ran once
    for run in Run.objects.filter(pk__in=[r.pk for r in during]):
        assert run.enqueued_at is not None and run.enqueued_at >= restored, run
        assert run.attempts == 1, run
        assert AuditEvent.objects.filter(action="run.completed", object_id=str(run.pk)).count() == 1
    lost_messages = BatchChunk.objects.filter(batch=batch, attempts__gt=1).count()

    record_property(
        "figures",
        {
            **figures,
            "recovery_seconds": round(recovered_s, 1),
            "submit_seconds_max": round(max(submit_seconds), 3),
            "first_worker_survived": first_worker_survived,
        },
    )
    print(
        f"\n{broker.name}: recovered {recovered_s:.1f} s after the broker came back (real time); "
        f"submissions during the outage took at most {max(submit_seconds) * 1000:.0f} ms; "
        f"worker survived: {first_worker_survived}; runs={figures['runs']} lost={figures['lost']} "
        f"duplicates={figures['duplicates']}; chunks run twice: {lost_messages}"
    )
