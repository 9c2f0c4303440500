"""Fault-injection helpers: real worker processes that can be killed, stopped and
replaced, a real beat sending the sweeps on its schedule, a pipeline whose applications
take long enough to be caught mid-chunk, and the checks that a batch came out with
exactly one run per line. Nothing runs on a simulated clock: recovery is measured as it
happens, with the lease, heartbeat and sweep settings the workers and beat read from
the environment (their defaults unless a test says otherwise)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
from django.db import connection

from tests.conftest import REPO, WorkerProcess, database_url
from tests.pipelines_admin.api.conftest import token_client  # noqa: F401  (re-exported fixture)

#: the small pipeline plus a KYC check through a simulated vendor (latency set per test)
SERVICE_RULE = {"class": "KYCIdentityRule", "params": {"kyc_service": "service:KYCService:vendor"}}
APPLICANT = {"name": "Maria Garcia", "email": "maria.garcia@example.com", "date_of_birth": "1990-04-12"}


def wait_for(predicate, *, timeout: float, what: str, workers=None, interval: float = 0.05):
    """predicate()'s first truthy value, polling; the test fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"{what}: not within {timeout} s\n{workers.logs() if workers else ''}")


class BeatProcess:
    """`celery beat`, as production runs it beside the workers: it sends the sweeps
    every RUN_SWEEP_SECONDS to the workers' queue."""

    def __init__(self, env: dict[str, str], tmp_path):
        self.log_path = tmp_path / "beat.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "pipelines_admin",
                "beat",
                "--loglevel=info",
                f"--schedule={tmp_path / 'beat-schedule'}",
                f"--pidfile={tmp_path / 'beat.pid'}",
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
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class Workers:
    """The fixture's worker plus replacements on the same private queue, as a supervisor
    would start them, and beat sending the sweeps there; every one is stopped at the end."""

    def __init__(self, first: WorkerProcess, tmp_path):
        self.first = first
        self.all = [first]
        self.tmp_path = tmp_path
        self.env = dict(
            os.environ,
            DATABASE_URL=database_url(connection.settings_dict),
            CELERY_TASK_DEFAULT_QUEUE=first.queue,
        )
        self.beat = BeatProcess(self.env, tmp_path)

    def start(self) -> WorkerProcess:
        worker = WorkerProcess(self.first.queue, self.env, self.tmp_path / f"worker-{len(self.all) + 1}.log")
        self.all.append(worker)
        return worker

    @staticmethod
    def kill(worker: WorkerProcess) -> None:
        """SIGKILL: no shutdown handler runs, nothing is acknowledged or written."""
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.wait(timeout=10)

    @staticmethod
    def freeze(worker: WorkerProcess) -> None:
        """SIGSTOP: the worker hangs where it is, heartbeat included, until `thaw`."""
        os.kill(worker.process.pid, signal.SIGSTOP)

    @staticmethod
    def thaw(worker: WorkerProcess) -> None:
        os.kill(worker.process.pid, signal.SIGCONT)

    def succeeded(self, task: str) -> int:
        """How many `task` runs the workers logged as finished (whatever they returned)."""
        return sum(
            1
            for worker in self.all
            for line in worker.log().splitlines()
            if f"Task {task}[" in line and " succeeded in " in line
        )

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{log[-3000:]}"
            for name, log in [(w.log_path.name, w.log()) for w in self.all] + [("beat.log", self.beat.log())]
        )

    def stop(self) -> None:
        """Beat and the replacements (the fixture stops the first worker), each thawed first."""
        self.beat.stop()
        for worker in self.all:
            if worker.process.poll() is None:
                self.thaw(worker)
        for worker in self.all[1:]:
            worker.stop()


@pytest.fixture
def workers(celery_worker_process, tmp_path):
    pool = Workers(celery_worker_process, tmp_path)
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture
def slow_pipeline(released, environments, editor, publisher):
    """The small pipeline with a KYC check through a simulated vendor in development,
    released there; `latency(ms)` sets how long each application waits for the vendor."""
    from pipelines_admin.configs import services as config_services
    from pipelines_admin.releases import services as release_services

    development = environments["development"]

    def latency(ms: int) -> None:
        config_services.service_binding_set(
            environment=development,
            interface="KYCService",
            name="vendor",
            actor=publisher,
            kind="simulated",
            latency_ms=ms,
        )

    latency(0)
    document = released.versions.get().document
    document["stages"]["data_quality"]["rules"]["kyc"] = SERVICE_RULE
    version = config_services.config_version_create(
        pipeline=released,
        document=document,
        base_version=released.versions.get(),
        author=editor,
        message="KYC check through the vendor",
    )
    release_services.release_create(pipeline=released, environment=development, version=version, actor=editor)
    released.latency = latency
    return released


def check_batch_exactly_once(batch, lines: list[int]) -> dict:
    """Every line of the batch has exactly one run, the counters add up, the metrics
    counted each run once, and batch.completed was audited once. Returns figures."""
    from pipelines_admin.audit.models import AuditEvent
    from pipelines_admin.runs.models import Batch, BatchChunk, MetricRollup, Run

    batch = Batch.objects.get(pk=batch.pk)
    runs = Run.objects.filter(batch=batch)
    per_line = Counter(runs.values_list("line_number", flat=True))
    duplicates = {line: n for line, n in per_line.items() if n > 1}
    lost = sorted(set(lines) - set(per_line))
    assert not duplicates, f"lines run more than once: {duplicates}"
    assert not lost, f"lines without a run: {lost}"
    assert sorted(per_line) == sorted(lines)
    assert batch.status == Batch.Status.COMPLETED
    assert batch.total == batch.processed == len(lines) == runs.count()
    assert batch.passed + batch.failed + batch.errored == batch.processed
    assert (batch.passed, batch.failed, batch.errored) == tuple(
        runs.filter(status=s).count() for s in (Run.Status.PASSED, Run.Status.FAILED, Run.Status.ERROR)
    )
    assert not batch.chunks.exclude(status=BatchChunk.Status.DONE).exists()
    # each finished run of the pipeline counted once in the dashboards' rollups: a chunk
    # written twice, or half of one, would show here
    whole_runs = MetricRollup.objects.filter(
        pipeline=batch.pipeline, grain=MetricRollup.Grain.FIVE_MINUTES, stage="", rule=""
    )
    finished = Run.objects.filter(pipeline=batch.pipeline, status__in=Run.FINISHED).count()
    assert sum(row.total for row in whole_runs) == finished
    assert AuditEvent.objects.filter(action="batch.completed", object_id=str(batch.pk)).count() == 1
    return {
        "runs": runs.count(),
        "duplicates": len(duplicates),
        "lost": len(lost),
        "chunk_attempts": dict(Counter(batch.chunks.values_list("attempts", flat=True))),
    }


def jsonl(records: list[dict]) -> bytes:
    import json

    return "\n".join(json.dumps(r) for r in records).encode()


def applicants(count: int) -> list[dict]:
    return [{**APPLICANT, "name": f"Applicant {i} {uuid.uuid4().hex[:6]}"} for i in range(count)]
