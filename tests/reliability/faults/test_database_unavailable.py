"""The database locked or gone for a moment while runs are submitted and executed.

SQLite: another connection holds the write lock. Shorter than the busy timeout, a
submission or a worker's write waits and then succeeds; longer, it fails with "database
is locked" and nothing is half-written: a refused submission stores nothing, a run whose
result could not be written stays `running` until the sweep hands it out again, and it
then ends with exactly one result, one audit event and one count in the metrics.

PostgreSQL: another connection locks the runs table (the same two cases, with
lock_timeout for the second), and the worker's own connection is terminated while a
run or a batch chunk is being executed.

Delivery to a worker is played by calling the task's service directly (the broker has
its own fault tests), so these tests are about the database alone."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from django.db import DatabaseError, InterfaceError, connection
from django.utils import timezone

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.runs import batches, services
from pipelines_admin.runs.models import Batch, BatchChunk, MetricRollup, Run
from tests.reliability.faults.conftest import (
    APPLICANT,
    applicants,
    check_batch_exactly_once,
    jsonl,
)
from tests.reliability.rows import changed, row_counts

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

sqlite_only = pytest.mark.skipif(
    "connection.vendor != 'sqlite'", reason="SQLite's file lock; the PostgreSQL pass locks tables instead"
)
postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="table locks and terminated backends are PostgreSQL's; the SQLite "
    "pass holds its write lock instead",
)


@pytest.fixture
def short_lease(settings):
    """Claims made in this process hold for 1 s (renewed every 0.3 s while they work)."""
    settings.JOB_LEASE_SECONDS = 1
    settings.JOB_HEARTBEAT_SECONDS = 0.3


def sweep_once_leases_ran_out() -> dict[str, int]:
    """Wait, in real time, until every lease taken so far has run out, then sweep as beat does."""
    from django.db.models import Max

    ends = [model.objects.aggregate(end=Max("lease_expires_at"))["end"] for model in (Run, BatchChunk)]
    latest = max((end for end in ends if end), default=None)
    if latest is not None:
        time.sleep(max(0.0, (latest - timezone.now()).total_seconds()) + 0.1)
    return {**services.runs_sweep(), **batches.chunks_sweep()}


@pytest.fixture
def sent(monkeypatch):
    """Runs and chunks handed to the broker, recorded instead of sent."""
    ids: list = []

    def record(pk, **_) -> bool:
        ids.append(pk)
        return True

    monkeypatch.setattr(services, "run_enqueue", record)
    monkeypatch.setattr(batches, "chunk_enqueue", record)
    return ids


class LockHolder:
    """Another connection holding a lock for ``seconds`` (SQLite: the write lock;
    PostgreSQL: ACCESS EXCLUSIVE on the runs table), in a thread."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.held = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)
        self.error: BaseException | None = None

    def _hold(self):
        try:
            if connection.vendor == "sqlite":
                other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, timeout=30)
                other.execute("BEGIN IMMEDIATE")
            else:
                other = _pg_connect()
                other.execute("BEGIN")
                other.execute(f"LOCK TABLE {Run._meta.db_table} IN ACCESS EXCLUSIVE MODE")
            self.held.set()
            time.sleep(self.seconds)
            other.execute("ROLLBACK")
            other.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
            self.held.set()

    def __enter__(self):
        self.thread.start()
        assert self.held.wait(10) and self.error is None, self.error
        return self

    def __exit__(self, *exc):
        self.thread.join(self.seconds + 10)


def _pg_connect():
    import psycopg

    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"],
        port=s["PORT"],
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
        autocommit=True,
    )


@pytest.fixture
def short_lock_wait(monkeypatch):
    """This connection, and every one opened after it (each request opens its own),
    gives up on a lock after 0.3 s."""
    options = connection.settings_dict["OPTIONS"]
    if connection.vendor == "sqlite":
        monkeypatch.setitem(options, "timeout", 0.3)
    else:
        monkeypatch.setitem(options, "options", "-c lock_timeout=300")
    connection.close()
    yield
    connection.close()


def submit(pipeline, environments, actor, name="Maria Garcia"):
    return services.run_submit(
        pipeline=pipeline,
        environment=environments["development"],
        record={**APPLICANT, "name": name},
        actor=actor,
    )


def check_run_recorded_once(run_id, *, attempts: int) -> Run:
    run = Run.objects.get(pk=run_id)
    assert run.status in Run.FINISHED and run.result is not None, run
    assert run.attempts == attempts
    assert AuditEvent.objects.filter(action="run.completed", object_id=str(run.pk)).count() == 1
    whole_runs = MetricRollup.objects.filter(
        pipeline=run.pipeline, grain=MetricRollup.Grain.FIVE_MINUTES, stage="", rule=""
    )
    assert sum(row.total for row in whole_runs) == Run.objects.filter(status__in=Run.FINISHED).count()
    return run


def executed_then(monkeypatch, fault) -> None:
    """Make the next run_execute/batch_chunk_process call ``fault()`` after the engine
    ran and before the result is written (where a worker spends its time)."""
    original = services.execute_record
    done = []

    def execute_then_fault(*args, **kwargs):
        outcome = original(*args, **kwargs)
        if not done:
            done.append(True)
            fault()
        return outcome

    monkeypatch.setattr(services, "execute_record", execute_then_fault)
    monkeypatch.setattr(batches, "execute_record", execute_then_fault)


# --------------------------------------------------------------------- locks


@pytest.mark.parametrize(
    "vendor_check",
    [
        pytest.param(None, marks=sqlite_only, id="sqlite"),
        pytest.param(None, marks=postgresql_only, id="postgresql"),
    ],
)
def test_lock_shorter_than_the_wait__submit_and_execute_wait_then_succeed(
    vendor_check, released, environments, editor, sent, record_property
):
    # Given another connection holding the lock for 1 s
    with LockHolder(1.0):
        # When an application is submitted
        started = time.monotonic()
        run = submit(released, environments, editor)
        submit_wait = time.monotonic() - started
    # Then the submission waited for the lock, and stored the run once, queued and sent
    assert submit_wait > 0.5
    assert Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).count() == 1 and sent == [run.pk]
    # When the worker executes it while the lock is held again
    with LockHolder(1.0):
        started = time.monotonic()
        services.run_execute(run.pk)
        execute_wait = time.monotonic() - started
    # Then it waited too, and the run has one result
    assert execute_wait > 0.5
    check_run_recorded_once(run.pk, attempts=1)
    record_property("waits_seconds", {"submit": round(submit_wait, 2), "execute": round(execute_wait, 2)})
    print(
        f"\n{connection.vendor}: a 1 s lock waited out in {submit_wait:.2f} s (submit), "
        f"{execute_wait:.2f} s (execute)"
    )


@pytest.mark.parametrize(
    "vendor_check",
    [
        pytest.param(None, marks=sqlite_only, id="sqlite"),
        pytest.param(None, marks=postgresql_only, id="postgresql"),
    ],
)
def test_lock_longer_than_the_wait__clear_error_and_nothing_half_written(
    vendor_check,
    released,
    environments,
    editor,
    sent,
    monkeypatch,
    token_client,
    short_lock_wait,
    short_lease,
):
    # Given connections that give up on a lock after 0.3 s, and a lock held for 3 s
    api = token_client(editor)
    before = row_counts()
    with LockHolder(2.0):
        # When an application is submitted
        started = time.monotonic()
        with pytest.raises(DatabaseError) as refused:
            submit(released, environments, editor)
        waited = time.monotonic() - started
        # Then it fails quickly with the database's reason
        assert waited < 1.5
        assert "lock" in str(refused.value).lower()
        # and through the API: a 503 in the error shape, saying to try again
        response = api.post(
            "/api/v1/runs/",
            {"pipeline": released.slug, "environment": "development", "record": APPLICANT},
            format="json",
        )
        assert response.status_code == 503, response.content
        assert set(response.json()) == {"message", "extra"} and response["Retry-After"]
    # and nothing was stored, nothing sent
    assert changed(before, row_counts()) == {} and sent == []

    # Given a run stored while the database was free
    run = submit(released, environments, editor)
    # When the worker runs it and the lock is taken before the result is written
    holder = LockHolder(2.0)
    executed_then(monkeypatch, holder.__enter__)
    with pytest.raises(DatabaseError):
        services.run_execute(run.pk)
    holder.__exit__()
    # Then the run is still `running` (one attempt), with no result, audit or metrics
    run.refresh_from_db()
    assert (run.status, run.attempts, run.result) == (Run.Status.RUNNING, 1, None)
    assert not AuditEvent.objects.filter(action="run.completed").exists()
    assert not MetricRollup.objects.exists()
    # When its lease runs out, the sweep finds it and the worker gets it again
    sweep_once_leases_ran_out()
    assert sent[-1] == run.pk
    services.run_execute(run.pk)
    # Then it has exactly one result, audit event and count
    check_run_recorded_once(run.pk, attempts=2)


@postgresql_only
def test_backend_terminated_mid_run_and_mid_chunk__sweep_hands_them_out_again_each_recorded_once(
    released, environments, editor, sent, monkeypatch, settings, short_lease
):
    # Given a run and a batch of 6 applications in chunks of 3, stored and sent
    settings.BATCH_CHUNK_SIZE = 3
    run = submit(released, environments, editor)
    batch = batches.batch_create(
        pipeline=released,
        environment=environments["development"],
        filename="six.jsonl",
        data=jsonl(applicants(6)),
        actor=editor,
    )
    chunk = batch.chunks.order_by("index").first()

    def terminate_my_backend():
        pid = connection.connection.info.backend_pid
        with _pg_connect() as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])

    # When the database ends the worker's connection after the engine ran, for the run and for a chunk
    for work in (lambda: services.run_execute(run.pk), lambda: batches.batch_chunk_process(chunk.pk)):
        executed_then(monkeypatch, terminate_my_backend)
        with pytest.raises((DatabaseError, InterfaceError)):
            work()
        connection.close()  # what the worker does after a failed task (close_old_connections)
    # Then neither was written: the run is still running, the chunk still queued with no runs
    run.refresh_from_db()
    chunk.refresh_from_db()
    assert (run.status, run.attempts) == (Run.Status.RUNNING, 1)
    assert (chunk.status, chunk.attempts) == (BatchChunk.Status.QUEUED, 1)
    assert not Run.objects.filter(batch=batch).exists()
    # When their leases run out, the sweep hands them out again and the worker runs everything it was sent
    sweep_once_leases_ran_out()
    services.run_execute(run.pk)
    for chunk_id in batch.chunks.values_list("pk", flat=True):
        batches.batch_chunk_process(chunk_id)
    # Then the run and every line of the batch are recorded exactly once
    check_run_recorded_once(run.pk, attempts=2)
    check_batch_exactly_once(Batch.objects.get(pk=batch.pk), lines=list(range(1, 7)))
