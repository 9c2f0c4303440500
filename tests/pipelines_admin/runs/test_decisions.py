"""Decisions of runs: the decision block a result records, read for pages and exports;
runs referred to a person counted in batches, rollups, totals and the dashboards; batch
downloads carrying each decision's reasons and next steps."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.runs import batches
from pipelines_admin.runs.decisions import decision_of
from pipelines_admin.runs.exports import batch_results_stream
from pipelines_admin.runs.metrics import RollupAccumulator
from pipelines_admin.runs.models import MetricRollup, MetricTotal
from pipelines_admin.runs.selectors import batch_progress, dashboard
from tests.pipelines_admin.conftest import ADULT
from tests.pipelines_admin.decided import REFERRED, REVIEW_DECISION, routed  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def jsonl(*records) -> bytes:
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


@pytest.fixture
def finished_batch(routed, environments, editor):
    """A batch of three applications, the second referred to a person, processed."""
    batch = batches.batch_create(
        pipeline=routed,
        environment=environments["development"],
        filename="day.jsonl",
        data=jsonl(ADULT, REFERRED, ADULT),
        actor=editor,
    )
    batches.batch_chunk_process(batch.chunks.get().pk)
    batch.refresh_from_db()
    return batch


# -- reading a decision ----------------------------------------------------------------------


def test_decision_of__review_result__status_reasons_next_steps_and_routing():
    # Given a result referred to a person / When its decision is read
    decision = decision_of({"status": "review", "decision": REVIEW_DECISION})
    # Then each reason keeps its rule, reason code and customer message, in order
    assert decision is not None and decision.status == "review" and decision.label == "To review"
    assert [(r.rule, r.reason_code, r.customer_message) for r in decision.reasons] == [
        ("email_format", "email_format", None),
        ("age_verification", "AGE_UNCONFIRMED", "We need to confirm your age."),
    ]
    assert decision.next_steps == ("Confirm your email address", "Send a copy of an identity document")
    assert decision.review is not None and decision.review.approvals == 2
    assert decision.reason_codes == ["email_format", "AGE_UNCONFIRMED"]
    assert decision.customer_messages == ["We need to confirm your age."]


@pytest.mark.parametrize("result", [None, {}, {"status": "passed", "stages": []}, {"decision": "passed"}])
def test_decision_of__result_without_a_decision_block__none_derived(result):
    # Given a result recorded before decisions were (or no result at all)
    # When its decision is read / Then there is none: nothing is made up from the status
    assert decision_of(result) is None


# -- counted -------------------------------------------------------------------------------


def test_batch_chunk_process__referred_record__counted_in_review_apart_from_passed(finished_batch):
    # Given a batch of two applications that pass and one referred to a person, processed
    batch = finished_batch
    # Then the referred one is counted under review, in the counters, the progress and the audit event
    assert batch.counts() == {"passed": 2, "failed": 0, "review": 1, "undecided": 0, "error": 0}
    assert batch.review == 1 and batch_progress(batch).review == 1
    assert AuditEvent.objects.get(action="batch.completed").data["review"] == 1
    assert batch.runs.get(line_number=2).status == "review"


def test_batch_chunk_process__referred_record__rollups_of_every_grain_and_the_totals_count_it(
    finished_batch,
):
    # Given a processed batch with one run referred to a person
    # Then the run rollups of each grain count it in n_review, and so do the all-time totals
    for grain in MetricRollup.Grain:
        row = MetricRollup.objects.get(grain=grain, stage="", rule="")
        assert (row.n_review, row.n_passed, row.total) == (1, 2, 3), grain
    assert MetricTotal.objects.get(stage="", rule="").counts == {"passed": 2, "review": 1}


def test_rollup_flush__review_run__counted_and_shown_by_the_dashboard(released, environments):
    # Given a passed run and a run referred to a person, flushed by the accumulator
    now = datetime.now(UTC)
    accumulator = RollupAccumulator()
    for status in ("passed", "review"):
        accumulator.add_run(
            pipeline_id=released.pk,
            environment_id=environments["development"].pk,
            finished_at=now,
            status=status,
            result={"stages": []},
            duration_ms=2.0,
        )
    accumulator.flush()
    # When the dashboard reads the last hour
    data = dashboard(pipeline=released, hours=1, now=now)
    # Then review is counted among the decisions and has its own series in the chart
    assert data["counts"] == {"passed": 1, "review": 1} and data["total_runs"] == 2
    assert sum(data["series"]["review"]) == 1 and sum(data["series"]["passed"]) == 1


# -- downloads ----------------------------------------------------------------------------------


def test_batch_results_csv__referred_record__reason_codes_messages_and_next_steps_in_columns(
    finished_batch,
):
    # Given a processed batch with one run referred to a person
    # When its results are downloaded as CSV
    text = "".join(batch_results_stream(finished_batch, "csv")[0])
    rows = list(csv.DictReader(io.StringIO(text)))
    # Then the existing columns come first, then the decision's
    header = text.splitlines()[0].split(",")
    assert header[:8] == [
        "line",
        "run_id",
        "status",
        "failed_rules",
        "checks_not_run",
        "duration_ms",
        "error",
        "input",
    ]
    assert header[8:] == ["reason_codes", "customer_messages", "next_steps"]
    # and the referred row carries its reason codes, customer messages and next steps
    referred = rows[1]
    assert referred["status"] == "review"
    assert referred["reason_codes"] == "email_format | AGE_UNCONFIRMED"
    assert referred["customer_messages"] == "We need to confirm your age."
    assert referred["next_steps"] == "Confirm your email address | Send a copy of an identity document"
    assert (rows[0]["status"], rows[0]["reason_codes"], rows[0]["next_steps"]) == ("passed", "", "")


def test_batch_results_csv__runs_recorded_before_decisions__decision_cells_empty(finished_batch):
    # Given a batch whose runs were recorded before results held a decision
    for run in finished_batch.runs.all():
        run.result = {key: value for key, value in run.result.items() if key != "decision"}
        run.save(update_fields=["result"])
    # When downloaded as CSV
    rows = list(csv.DictReader(io.StringIO("".join(batch_results_stream(finished_batch, "csv")[0]))))
    # Then every row is there, its decision cells empty
    assert [row["status"] for row in rows] == ["passed", "review", "passed"]
    assert {(row["reason_codes"], row["customer_messages"], row["next_steps"]) for row in rows} == {
        ("", "", "")
    }


def test_batch_results_jsonl__referred_record__decision_key_with_reasons_and_next_steps(finished_batch):
    # Given a processed batch with one run referred to a person
    # When its results are downloaded as JSON Lines
    lines = [
        json.loads(line) for line in "".join(batch_results_stream(finished_batch, "jsonl")[0]).splitlines()
    ]
    # Then each line has the decision: the referred one its reasons, next steps and routing
    assert [line["decision"]["status"] for line in lines] == ["passed", "review", "passed"]
    referred = lines[1]["decision"]
    assert referred == REVIEW_DECISION


def test_batch_results_jsonl__run_recorded_before_decisions__decision_null(finished_batch):
    run = finished_batch.runs.get(line_number=1)
    run.result = {key: value for key, value in run.result.items() if key != "decision"}
    run.save(update_fields=["result"])
    lines = [
        json.loads(line) for line in "".join(batch_results_stream(finished_batch, "jsonl")[0]).splitlines()
    ]
    assert lines[0]["decision"] is None and lines[1]["decision"]["status"] == "review"
