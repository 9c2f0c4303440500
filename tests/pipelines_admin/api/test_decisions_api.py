"""The API's runs, batches and dashboards carry decisions: review as a status of its
own, how many of a batch went to review, a run's decision in its result."""

from __future__ import annotations

import json

import pytest

from pipelines_admin.impact import services as impact_services
from pipelines_admin.runs import batches
from pipelines_admin.runs import services as run_services
from tests.pipelines_admin.conftest import ADULT
from tests.pipelines_admin.decided import REFERRED, REVIEW_DECISION, ROUTING, routed  # noqa: F401 - a fixture
from tests.pipelines_admin.impact.test_services import past_runs

pytestmark = pytest.mark.django_db


@pytest.fixture
def referred_batch(routed, environments, editor):
    batch = batches.batch_create(
        pipeline=routed,
        environment=environments["development"],
        filename="day.jsonl",
        data=("\n".join(json.dumps(r) for r in (ADULT, REFERRED, ADULT)) + "\n").encode(),
        actor=editor,
    )
    batches.batch_chunk_process(batch.chunks.get().pk)
    return batch


def test_batch_detail__one_referred__review_count_beside_the_others(token_client, viewer, referred_batch):
    body = token_client(viewer).get(f"/api/v1/batches/{referred_batch.pk}/").json()
    assert (body["passed"], body["failed"], body["review"], body["undecided"], body["errored"]) == (
        2,
        0,
        1,
        0,
        0,
    )


def test_runs_list__status_review__only_referred_runs(token_client, viewer, referred_batch):
    body = token_client(viewer).get("/api/v1/runs/?status=review").json()
    assert [(run["status"], run["line_number"]) for run in body["results"]] == [("review", 2)]


def test_run_detail__referred__result_holds_the_decision(token_client, viewer, referred_batch):
    run = referred_batch.runs.get(line_number=2)
    body = token_client(viewer).get(f"/api/v1/runs/{run.pk}/").json()
    decision = body["result"]["decision"]
    assert body["status"] == decision["status"] == "review"
    assert decision == REVIEW_DECISION


def test_dashboard_summary__referred_run__counted_and_in_the_series(
    token_client, viewer, routed, environments, editor
):
    for record in (ADULT, REFERRED):
        run = run_services.run_submit(
            pipeline=routed, environment=environments["development"], record=record, actor=editor
        )
        run_services.run_execute(run.pk)
    body = token_client(viewer).get("/api/v1/dashboards/summary/?hours=1").json()
    assert body["counts"] == {"passed": 1, "review": 1}
    assert sum(body["series"]["review"]) == 1


def test_schema__run_status_and_batch__review_documented(token_client, viewer):
    schema = token_client(viewer).get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert "review" in components["RunSummary"]["properties"]["status"]["description"]
    assert "review" in components["Batch"]["properties"]
    assert "review" in components["Series"]["properties"]
    assert '"review"' in components["CaseInput"]["properties"]["expected"]["description"]


def test_impact_report__override_refers_the_declined__flips_to_review_in_the_summary(
    token_client, viewer, released, environments, editor
):
    past_runs(released, environments["development"], editor)
    report = impact_services.impact_run_now(
        pipeline=released, environment=environments["development"], actor=editor, override=ROUTING, last=100
    )
    body = token_client(viewer).get(f"/api/v1/pipelines/{released.slug}/impact-reports/{report.pk}/").json()
    assert body["summary"]["flips"] == {
        "to_fail": 0,
        "to_pass": 0,
        "other": 3,
        "to_review": 3,
        "from_review": 0,
    }
    assert body["summary"]["decisions"]["failed"]["review"] == 3
