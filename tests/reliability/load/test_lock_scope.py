"""What the load test found on PostgreSQL: a worker claiming or finishing a run locked
the run's pipeline and environment rows as well (SELECT ... FOR UPDATE over a join locks
every joined row). Every new run and metric row takes a key-share lock on those rows for
its foreign keys, so submissions waited on workers and, at 50 users, deadlocked with
them: 500s on submission and runs left queued. The claim now locks the run's row only."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from pipelines_admin.core import jobs
from pipelines_admin.runs import services
from tests.pipelines_admin.conftest import ADULT

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's: SQLite takes one lock for the whole database per write")


@pytest.fixture
def queued(released, environments, editor, monkeypatch):
    monkeypatch.setattr(services, "run_enqueue", lambda run_id, **_: True)

    def submit():
        return services.run_submit(
            pipeline=released, environment=environments["development"], record=ADULT, actor=editor
        )

    return submit


def test_claimed_run__another_connection_submits_to_the_same_pipeline__not_blocked(postgresql, queued):
    # Given a worker that has claimed a run and still holds its locks
    first = queued()
    outcome: dict = {}

    def submit_elsewhere():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '3s'")
                outcome["run"] = queued()
        except Exception as exc:  # noqa: BLE001 - a lock timeout, were the pipeline's row locked
            outcome["error"] = exc
        finally:
            connection.close()

    with transaction.atomic():
        assert jobs.work_claim(services.RUN_WORK, first.pk).work.status == "running"
        # When another connection submits a run of the same pipeline and environment
        other = threading.Thread(target=submit_elsewhere)
        other.start()
        other.join(timeout=15)
    # Then it is stored at once, not made to wait for the claim
    assert "error" not in outcome, outcome.get("error")
    assert outcome["run"].status == "queued"


def test_run_execute__every_row_lock_over_a_join__locks_the_run_only(postgresql, queued):
    run = queued()
    with CaptureQueriesContext(connection) as queries:
        assert services.run_execute(run.pk).status in {"passed", "failed"}
    locking = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert locking, "run_execute locks the run it claims"
    for sql in locking:
        if " JOIN " in sql:
            assert 'FOR UPDATE OF "runs_run"' in sql, sql
