import json
from datetime import datetime, timedelta
from itertools import pairwise
from unittest import mock

import pytest
from django.utils import timezone

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.configs import services as config_services
from pipelines_admin.core.errors import InvalidInput, NotAllowed, NotFound, TooLarge
from pipelines_admin.releases import services as release_services
from pipelines_admin.runs import batches, services
from pipelines_admin.runs.crypto import decrypt_json
from pipelines_admin.runs.metrics import bucket_start
from pipelines_admin.runs.models import Batch, MetricRollup, Run
from pipelines_admin.runs.selectors import batch_progress, dashboard

pytestmark = pytest.mark.django_db

FIVE_MINUTES = MetricRollup.Grain.FIVE_MINUTES

GOOD = {
    "name": "Maria Garcia",
    "email": "maria.garcia@example.com",
    "date_of_birth": "1990-04-12",
    "ssn": "123-45-6789",
}


def submit(pipeline, environments, user, record=GOOD, **kwargs):
    return services.run_submit(
        pipeline=pipeline, environment=environments["development"], record=record, actor=user, **kwargs
    )


def test_run_submit__valid_application__queued_encrypted_and_masked(
    released, environments, editor, django_capture_on_commit_callbacks
):
    # Given / When an editor submits an application
    with django_capture_on_commit_callbacks() as callbacks:
        run = submit(released, environments, editor)
    # Then it is queued, against the live release, with one enqueue waiting for the commit
    assert run.status == "queued" and run.release_id and run.config_version.number == 1
    assert len(callbacks) == 1
    # and the stored input is encrypted (no clear SSN anywhere in the row), masked for display
    assert "123-45-6789" not in run.input_encrypted
    assert decrypt_json(run.input_encrypted) == GOOD
    assert run.input_masked["ssn"] == "***-**-6789"
    assert run.input_masked["email"].endswith("@example.com") and "maria" not in run.input_masked["email"]


def test_run_execute__queued_run__result_stored_masked_with_metrics_and_audit(
    released,
    environments,
    editor,
):
    # Given a queued run
    run = submit(released, environments, editor, record={**GOOD, "email": "not-an-email"})
    # When the worker's service executes it
    done = services.run_execute(run.pk)
    # Then the engine's result is stored with the run's status, timings and attempt
    assert done.status == "failed" and done.attempts == 1 and done.duration_ms > 0
    rules = {r["id"]: r for s in done.result["stages"] for r in s["rules"]}
    assert rules["email_format"]["outcome"] == "fail"
    # and no PII survives in the stored result (the malformed email is quoted only masked)
    stored = json.dumps(done.result)
    assert "Maria Garcia" not in stored and "123-45-6789" not in stored and "1990-04-12" not in stored
    # and the metric rollups and the audit trail count it
    overall = MetricRollup.objects.get(pipeline=released, stage="", rule="", grain=FIVE_MINUTES)
    assert overall.counts == {"failed": 1} and sum(overall.histogram) == 1
    assert MetricRollup.objects.get(rule="email_format", grain=FIVE_MINUTES).counts == {"fail": 1}
    assert AuditEvent.objects.filter(action="run.completed", object_id=str(run.pk)).count() == 1


def test_run_execute__twice__second_call_changes_nothing(released, environments, editor):
    # Given a finished run
    run = submit(released, environments, editor)
    first = services.run_execute(run.pk)
    # When the same task is delivered again / Then nothing runs or is counted twice
    assert services.run_execute(run.pk) is None
    run.refresh_from_db()
    assert run.attempts == 1 and run.finished_at == first.finished_at
    assert MetricRollup.objects.get(pipeline=released, stage="", rule="", grain=FIVE_MINUTES).total == 1
    assert AuditEvent.objects.filter(action="run.completed").count() == 1


def test_run_submit__viewer__not_allowed(released, environments, viewer):
    with pytest.raises(NotAllowed):
        submit(released, environments, viewer)


@pytest.mark.parametrize(
    "record, message",
    [
        ([1, 2], "must be a JSON object"),
        ("text", "must be a JSON object"),
        ({"x": float("nan")}, "not valid JSON"),
        ({"blob": "x" * 70_000}, "the limit is"),
    ],
)
def test_run_submit__bad_record__clear_error_and_nothing_stored(
    released, environments, editor, record, message
):
    with pytest.raises(InvalidInput, match=message):
        submit(released, environments, editor, record=record)
    assert not Run.objects.exists()


def test_run_submit__unknown_stage_or_unreleased__clear_errors(released, environments, editor):
    with pytest.raises(InvalidInput, match="Unknown stage: nope"):
        submit(released, environments, editor, stages=["nope"])
    with pytest.raises(NotFound, match="has not been released to staging"):
        services.run_submit(pipeline=released, environment=environments["staging"], record=GOOD, actor=editor)


def test_run_submit__chosen_version__runs_it_not_the_live_one(released, environments, editor):
    # Given version 2 saved but not released
    v1 = released.versions.get()
    doc = json.loads(json.dumps(v1.document))
    doc["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 99
    v2 = config_services.config_version_create(
        pipeline=released, document=doc, base_version=v1, author=editor, message="99"
    )
    # When a run pins version 2
    run = submit(released, environments, editor, version=v2)
    done = services.run_execute(run.pk)
    # Then version 2 decided it (nobody is 99)
    assert done.release_id is None and done.config_version == v2
    assert done.status == "failed"


def test_runs_sweep__never_enqueued_and_lease_expired_runs__requeued_then_given_up(
    released, environments, editor, monkeypatch, settings
):
    # Given a run the broker never got, and a run whose worker died (its lease ran out an hour ago)
    lost = submit(released, environments, editor)
    stuck = submit(released, environments, editor)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Run.objects.filter(pk=stuck.pk).update(
        status="running", attempts=1, started_at=an_hour_ago, lease_expires_at=an_hour_ago
    )
    enqueued = []
    monkeypatch.setattr(services, "run_enqueue", lambda run_id, **_: enqueued.append(run_id) or True)
    # When the sweep runs a minute later
    counts = services.runs_sweep(now=timezone.now() + timedelta(minutes=1))
    # Then both are handed to the broker again, the stuck one back in the queue, its lease dropped
    assert set(enqueued) == {lost.pk, stuck.pk}
    assert counts["enqueued"] == 1 and counts["requeued"] == 1
    stuck.refresh_from_db()
    assert stuck.status == "queued" and stuck.lease_expires_at is None
    # When the stuck run used up its attempts and is delivered again / Then it is given up on as an error
    Run.objects.filter(pk=stuck.pk).update(attempts=settings.RUN_MAX_ATTEMPTS)
    assert services.run_execute(stuck.pk).status == "error"
    stuck.refresh_from_db()
    assert stuck.status == "error" and "gave up after 3 attempts" in stuck.error_message
    assert stuck.attempts == settings.RUN_MAX_ATTEMPTS and stuck.result is None


def test_run_enqueue__broker_down__run_stays_queued(released, environments, editor, dead_broker):
    # Given a broker where nothing listens
    run = submit(released, environments, editor)
    # When the run is enqueued / Then it fails softly and the run waits for the sweep
    assert services.run_enqueue(run.pk) is False
    run.refresh_from_db()
    assert run.status == "queued" and run.enqueued_at is None


# --- batches ---------------------------------------------------------------------------------


def jsonl(*records, bad_lines=()):
    lines = [json.dumps(r) for r in records]
    for index, text in bad_lines:
        lines.insert(index, text)
    return ("\n".join(lines) + "\n").encode()


def test_batch_create__file_with_bad_lines__good_rows_chunked_bad_rows_reported(
    released, environments, editor, settings, django_capture_on_commit_callbacks
):
    # Given a file of five good applications and one broken line, in chunks of two
    settings.BATCH_CHUNK_SIZE = 2
    data = jsonl(*[{**GOOD, "name": f"Applicant {i}"} for i in range(5)], bad_lines=[(2, "{oops")])
    # When uploaded
    with django_capture_on_commit_callbacks() as callbacks:
        batch = batches.batch_create(
            pipeline=released,
            environment=environments["development"],
            filename="day.jsonl",
            data=data,
            actor=editor,
        )
    # Then five records are queued in three chunks, and line 3 is reported
    assert (batch.total, batch.chunks.count()) == (5, 3)
    assert batch.rejected_rows == [{"line": 3, "reason": batch.rejected_rows[0]["reason"]}]
    assert len(callbacks) == 1  # one on-commit callback enqueues every chunk
    # When the chunks are processed (as the workers would)
    for chunk in batch.chunks.all():
        batches.batch_chunk_process(chunk.pk)
    # Then every record has a run with its line number, the counters add up, and the batch is complete
    batch.refresh_from_db()
    progress = batch_progress(batch)
    assert (progress.processed, progress.passed + progress.failed + progress.errored) == (5, 5)
    assert batch.status == "completed" and progress.percent == 100.0
    assert sorted(batch.runs.values_list("line_number", flat=True)) == [1, 2, 4, 5, 6]
    assert MetricRollup.objects.get(pipeline=released, stage="", rule="", grain=FIVE_MINUTES).total == 5
    assert AuditEvent.objects.filter(action="batch.completed").count() == 1


def test_batch_chunk_process__delivered_twice__written_once(released, environments, editor):
    batch = batches.batch_create(
        pipeline=released,
        environment=environments["development"],
        filename="a.jsonl",
        data=jsonl(GOOD, GOOD),
        actor=editor,
    )
    chunk = batch.chunks.get()
    assert batches.batch_chunk_process(chunk.pk) == 2
    assert batches.batch_chunk_process(chunk.pk) == 0
    batch.refresh_from_db()
    assert batch.processed == 2 and batch.runs.count() == 2


def test_batch_cancel__before_chunks_run__nothing_more_is_processed(released, environments, editor, settings):
    settings.BATCH_CHUNK_SIZE = 1
    batch = batches.batch_create(
        pipeline=released,
        environment=environments["development"],
        filename="a.jsonl",
        data=jsonl(GOOD, GOOD, GOOD),
        actor=editor,
    )
    first, *rest = batch.chunks.all()
    batches.batch_chunk_process(first.pk)
    batches.batch_cancel(batch=batch, actor=editor)
    for chunk in rest:
        assert batches.batch_chunk_process(chunk.pk) == 0
    batch.refresh_from_db()
    assert (batch.status, batch.processed, batch.runs.count()) == ("cancelled", 1, 1)
    with pytest.raises(InvalidInput, match="already cancelled"):
        batches.batch_cancel(batch=batch, actor=editor)


@pytest.mark.parametrize(
    "filename, data, error",
    [
        ("a.jsonl", b"{bad\n[1]\n", InvalidInput),
        ("a.xlsx", b"x", InvalidInput),
        ("a.csv", b"", InvalidInput),
    ],
)
def test_batch_create__unreadable_file__clear_error_nothing_stored(
    released, environments, editor, filename, data, error
):
    with pytest.raises(error):
        batches.batch_create(
            pipeline=released,
            environment=environments["development"],
            filename=filename,
            data=data,
            actor=editor,
        )
    assert not Batch.objects.exists()


def test_batch_create__oversized__413(released, environments, editor, settings):
    settings.BATCH_MAX_BYTES = 100
    with pytest.raises(TooLarge) as caught:
        batches.batch_create(
            pipeline=released,
            environment=environments["development"],
            filename="a.jsonl",
            data=jsonl(*[GOOD] * 5),
            actor=editor,
        )
    assert caught.value.status == 413


def test_dashboard__after_runs__counts_rates_and_rule_stats_from_rollups(
    released,
    environments,
    editor,
):
    # Given one passing and one failing run
    for record in (GOOD, {**GOOD, "email": "broken"}):
        services.run_execute(submit(released, environments, editor, record=record).pk)
    # When the dashboard is read
    data = dashboard(pipeline=released)
    # Then it shows both runs, a 50% failure rate and the failing rule
    assert data["total_runs"] == 2 and data["counts"] == {"passed": 1, "failed": 1}
    assert data["failure_rate"] == 0.5
    assert [r.rule for r in data["failing_rules"]] == ["email_format"]
    assert data["latency"]["p50"] is not None


def run_finished_at(when, pipeline, environments, user, monkeypatch, record=GOOD):
    """A run submitted and executed with the clock at `when` (it lands in when's five-minute bucket)."""
    monkeypatch.setattr(timezone, "now", lambda: when)
    run = services.run_execute(submit(pipeline, environments, user, record=record).pk)
    monkeypatch.undo()
    return run


def test_dashboard__runs_in_two_buckets_with_an_empty_one_between__the_empty_slot_is_a_zero(
    released, environments, editor, monkeypatch
):
    # Given a passing run at 10:01 and a failing one at 10:11, nothing between 10:05 and 10:10
    start = bucket_start(timezone.now()) - timedelta(hours=2)
    run_finished_at(start + timedelta(minutes=1), released, environments, editor, monkeypatch)
    run_finished_at(
        start + timedelta(minutes=11),
        released,
        environments,
        editor,
        monkeypatch,
        record={**GOOD, "email": "broken"},
    )
    # When the last hour is read at 10:12
    series = dashboard(pipeline=released, hours=1, now=start + timedelta(minutes=12))["series"]
    # Then the three buckets are three points in a row, the middle one zero
    labels = [datetime.fromisoformat(label) for label in series["labels"]]
    first = labels.index(start)
    assert labels[first : first + 3] == [start + timedelta(minutes=m) for m in (0, 5, 10)]
    assert series["passed"][first : first + 3] == [1, 0, 0]
    assert series["failed"][first : first + 3] == [0, 0, 1]
    assert series["error"][first : first + 3] == [0, 0, 0]
    # And every five-minute slot of the hour is there, oldest first, each status the same length
    assert len(labels) == 12 and labels[-1] == start + timedelta(minutes=10)
    assert all(b - a == timedelta(minutes=5) for a, b in pairwise(labels))
    assert {len(values) for values in series.values()} == {12}


def test_dashboard__no_runs__every_slot_of_the_window_zero(released):
    # Given no run / When the last six hours are read
    series = dashboard(pipeline=released, hours=6)["series"]
    # Then the chart still has its 72 five-minute slots, all zero
    assert len(series["labels"]) == 72
    assert all(set(values) == {0} for key, values in series.items() if key != "labels")


def test_batch_results_csv__formula_like_text__quoted_so_spreadsheets_keep_it_text(editor, environments):
    from pipelines_admin.runs.exports import batch_results_stream

    document = {
        "stages": {
            "checks": {
                "rules": {
                    "=SUM(1+1)": {"class": "RequiredFieldsRule", "params": {"required_fields": ["name"]}}
                }
            }
        }
    }
    pipeline = config_services.pipeline_create(slug="sheet", name="Sheet", document=document, author=editor)
    release_services.release_create(
        pipeline=pipeline,
        environment=environments["development"],
        version=pipeline.versions.get(),
        actor=editor,
    )
    batch = batches.batch_create(
        pipeline=pipeline,
        environment=environments["development"],
        filename="b.jsonl",
        data=b'{"email": "a@example.com"}\n',
        actor=editor,
    )
    batches.batch_chunk_process(batch.chunks.get().pk)
    text = "".join(batch_results_stream(batch, "csv")[0])
    assert "'=SUM(1+1)" in text and ",=SUM" not in text


NO_READABLE_BIRTH_DATE = {**GOOD, "date_of_birth": "15/04/1990"}


@pytest.fixture
def lenient_age(released, environments, editor):
    """Development's age check skips (instead of failing) a date of birth it cannot read."""
    release_services.override_set(
        pipeline=released,
        environment=environments["development"],
        actor=editor,
        override={
            "stages": {
                "business_rules": {"rules": {"age_verification": {"params": {"verification_strict": False}}}}
            }
        },
    )
    return released


def test_run_execute__age_not_checkable__undecided_naming_the_rule(lenient_age, environments, editor):
    # Given an application whose date of birth the lenient age check cannot read
    run = submit(lenient_age, environments, editor, record=NO_READABLE_BIRTH_DATE)
    # When it runs
    services.run_execute(run.pk)
    run.refresh_from_db()
    # Then it is undecided, never passed, and the result names the check that did not run
    assert run.status == "undecided" and run.finished
    assert [entry["rule"] for entry in run.result["undecided"]] == ["age_verification"]


def test_batch_chunk_process__undecided_record__counted_apart_from_passed(lenient_age, environments, editor):
    # Given a batch of one good application and one whose age cannot be checked
    batch = batches.batch_create(
        pipeline=lenient_age,
        environment=environments["development"],
        filename="a.jsonl",
        data=jsonl(GOOD, NO_READABLE_BIRTH_DATE),
        actor=editor,
    )
    # When it is processed
    batches.batch_chunk_process(batch.chunks.get().pk)
    batch.refresh_from_db()
    # Then one passed and one is undecided, in the counters, the progress and the audit event
    assert batch.counts() == {"passed": 1, "failed": 0, "review": 0, "undecided": 1, "error": 0}
    assert batch_progress(batch).undecided == 1
    assert AuditEvent.objects.get(action="batch.completed").data["undecided"] == 1


def test_run_submit__chosen_stages__partial_unless_every_enabled_stage_is_chosen(
    released, environments, editor
):
    # Given the two-stage pipeline
    # When one run chooses data_quality only and another chooses both stages
    partial = submit(released, environments, editor, stages=["data_quality"])
    whole = submit(released, environments, editor, stages=["business_rules", "data_quality"])
    # Then the first is partial and the second is a whole run
    assert (partial.partial, partial.stages) == (True, ["data_quality"])
    assert (whole.partial, whole.stages) == (False, None)
    # and the partial run, once run, is undecided though every rule it ran passed
    services.run_execute(partial.pk)
    partial.refresh_from_db()
    assert partial.status == "undecided" and partial.result["partial"] is True


def test_dashboard__rule_past_the_slow_threshold__flagged_with_how_often(released, environments, editor):
    # Given development's config flags any rule slower than 0 ms
    release_services.override_set(
        pipeline=released,
        environment=environments["development"],
        actor=editor,
        override={"execution_settings": {"performance_monitoring": {"slow_rule_threshold_ms": 0}}},
    )
    # When two applications run
    for _ in range(2):
        services.run_execute(submit(released, environments, editor).pk)
    # Then every rule that ran is flagged slow twice on the dashboards, and the run result says so
    data = dashboard(pipeline=released)
    assert {(r.rule, r.slow) for r in data["flagged_slow"]} == {
        ("required_fields", 2),
        ("email_format", 2),
        ("age_verification", 2),
    }
    assert all(r.slow == 2 for r in data["slowest_rules"])


def test_batch_chunk_process__write__batch_row_locked_only_after_the_runs_and_rollups(
    released, environments, editor
):
    """The chunks of one batch write their runs side by side: the batch's row (the lock
    they queue on) is taken by the counters' UPDATE, after the runs and rollups."""
    from django.db.models import QuerySet

    from pipelines_admin.runs.metrics import RollupAccumulator

    batch = batches.batch_create(
        pipeline=released,
        environment=environments["development"],
        filename="a.jsonl",
        data=jsonl(GOOD, GOOD),
        actor=editor,
    )
    events: list[tuple[str, str]] = []

    def spy(name, original):
        def wrapper(self, *args, **kwargs):
            events.append((name, self.model.__name__))
            return original(self, *args, **kwargs)

        return wrapper

    flush = RollupAccumulator.flush

    def flush_spy(self):
        events.append(("flush", "MetricRollup"))
        return flush(self)

    with (
        mock.patch.object(QuerySet, "bulk_create", spy("bulk_create", QuerySet.bulk_create)),
        mock.patch.object(QuerySet, "select_for_update", spy("lock", QuerySet.select_for_update)),
        mock.patch.object(QuerySet, "update", spy("update", QuerySet.update)),
        mock.patch.object(RollupAccumulator, "flush", flush_spy),
    ):
        assert batches.batch_chunk_process(batch.chunks.get().pk) == 2
    batch_row = [
        i for i, (what, model) in enumerate(events) if model == "Batch" and what in ("lock", "update")
    ]
    assert batch_row and batch_row[0] > events.index(("bulk_create", "Run"))
    assert batch_row[0] > events.index(("flush", "MetricRollup"))
    batch.refresh_from_db()
    assert (batch.status, batch.processed, sum(batch.counts().values())) == ("completed", 2, 2)
