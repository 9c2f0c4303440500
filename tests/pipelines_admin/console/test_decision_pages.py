"""The console's pages show decisions: a run's status, reasons and next steps; review
as a decision of its own in the runs list, the batch pages and the dashboards."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from pipelines_admin.impact import services as impact_services
from pipelines_admin.runs import batches
from pipelines_admin.runs import services as run_services
from pipelines_admin.testcases import services as case_services
from tests.pipelines_admin.conftest import ADULT
from tests.pipelines_admin.decided import REFERRED, ROUTING, routed  # noqa: F401 - a fixture
from tests.pipelines_admin.impact.test_services import past_runs

pytestmark = pytest.mark.django_db


def run_of(record, pipeline, environments, editor):
    run = run_services.run_submit(
        pipeline=pipeline, environment=environments["development"], record=record, actor=editor
    )
    return run_services.run_execute(run.pk)


@pytest.fixture
def referred_run(routed, environments, editor):
    return run_of(REFERRED, routed, environments, editor)


@pytest.fixture
def passed_run(routed, environments, editor):
    return run_of(ADULT, routed, environments, editor)


def page(client, run) -> str:
    return client.get(reverse("console:run-detail", kwargs={"run_id": run.pk})).content.decode()


def section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</section>", start)]


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# -- the run page --------------------------------------------------------------------------------


def test_run_detail__referred_run__decision_panel_with_each_reason_and_the_next_steps(
    client, viewer, referred_run
):
    # Given a run referred to a person / When a viewer opens it
    client.force_login(viewer)
    html = page(client, referred_run)
    # Then the decision panel names the decision, each reason's rule, code and message, and the next steps
    panel = section(html, "decision")
    assert 'Decision: <span class="decision-label">To review</span>' in panel
    words = text(panel)
    assert "Why it goes to a person" in words and "2 approvals from different reviewers needed" in words
    assert "age_verification business_rules" in words and "AGE_UNCONFIRMED" in words
    assert "We need to confirm your age." in words
    assert "email_format data_quality" in words and "none declared" in words
    steps = panel[panel.index('class="next-steps"') :]
    assert steps.index("Confirm your email address") < steps.index("Send a copy of an identity document")
    # and it comes before the rule-by-rule trace
    assert html.index('id="decision"') < html.index('class="stage stage-')


def test_run_detail__referred_run__routed_rule_marked_in_the_trace(client, viewer, referred_run):
    client.force_login(viewer)
    html = page(client, referred_run)
    trace = html[html.index('class="stage stage-') :]
    rows = {row.split("</th>")[0].split(">")[-1]: row for row in trace.split("<tr>")[1:] if "</th>" in row}
    assert "routed to review" in rows["age_verification"] and "routed to review" in rows["email_format"]
    assert "routed to review" not in rows["required_fields"]


def test_run_detail__passed_run__no_reasons_and_no_next_steps_said_so(client, viewer, passed_run):
    client.force_login(viewer)
    panel = text(section(page(client, passed_run), "decision"))
    assert "Decision: Passed" in panel
    assert "No reasons: every check passed." in panel and "Next steps No next steps." in panel


def test_run_detail__run_recorded_before_decisions__no_decision_recorded_and_nothing_derived(
    client, viewer, passed_run
):
    # Given a run whose result was recorded before results held a decision
    passed_run.result = {key: value for key, value in passed_run.result.items() if key != "decision"}
    passed_run.save(update_fields=["result"])
    # When its page is shown
    client.force_login(viewer)
    response = client.get(reverse("console:run-detail", kwargs={"run_id": passed_run.pk}))
    # Then it says no decision was recorded, and derives no reasons or next steps
    panel = text(section(response.content.decode(), "decision"))
    assert response.status_code == 200
    assert "No decision recorded" in panel and "Next steps" not in panel and "Passed" not in panel


def test_run_detail__queued_run__no_decision_panel_yet(client, viewer, routed, environments, editor):
    run = run_services.run_submit(
        pipeline=routed, environment=environments["development"], record=ADULT, actor=editor
    )
    client.force_login(viewer)
    assert 'id="decision"' not in page(client, run)


def test_run_detail__polled_fragment__decision_panel_arrives_with_the_result(
    client, viewer, routed, environments, editor
):
    # Given a queued run whose page polls
    run = run_services.run_submit(
        pipeline=routed, environment=environments["development"], record=REFERRED, actor=editor
    )
    client.force_login(viewer)
    url = reverse("console:run-detail", kwargs={"run_id": run.pk})
    # When the worker finishes it and the page polls again
    run_services.run_execute(run.pk)
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    # Then the fragment brings the decision panel
    assert "<html" not in html and "AGE_UNCONFIRMED" in section(html, "decision")


# -- lists, batches, dashboards ----------------------------------------------------------------


def test_runs_page__status_filter__review_offered_and_only_referred_runs_listed(
    client, viewer, referred_run, passed_run
):
    client.force_login(viewer)
    html = client.get("/runs/?status=review").content.decode()
    assert "<option selected>review</option>" in html
    table = html[html.index('id="run-table"') :]
    assert str(referred_run.pk)[:8] in table and str(passed_run.pk)[:8] not in table
    assert 'class="status status-review">review</span>' in table


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


def test_batch_detail__one_referred__summary_says_how_many_went_to_review(client, viewer, referred_batch):
    client.force_login(viewer)
    html = client.get(
        reverse("console:batch-detail", kwargs={"batch_id": referred_batch.pk})
    ).content.decode()
    progress = section(html, "progress")
    assert ">1 to review</span>" in progress and ">2 passed</span>" in progress
    assert 'class="bar review w-33"' in progress


def test_batch_detail__results__each_line_with_its_decision_reasons_and_next_steps(
    client, viewer, referred_batch
):
    client.force_login(viewer)
    html = client.get(
        reverse("console:batch-detail", kwargs={"batch_id": referred_batch.pk})
    ).content.decode()
    results = section(html, "results")
    rows = results[results.index("<tbody>") :].split("<tr>")[1:]
    assert len(rows) == 3
    assert "status-passed" in rows[0] and "status-review" in rows[1]
    words = text(rows[1])
    # each reason code with its customer message; the rule named where the code is not its id
    assert "email_format AGE_UNCONFIRMED We need to confirm your age. (age_verification)" in words
    assert "Send a copy of an identity document" in words and "Confirm your email address" in words


def test_batch_detail__results_filtered_by_review__only_the_referred_line(client, viewer, referred_batch):
    client.force_login(viewer)
    url = reverse("console:batch-detail", kwargs={"batch_id": referred_batch.pk})
    results = section(client.get(f"{url}?status=review").content.decode(), "results")
    rows = results[results.index("<tbody>") :].split("<tr>")[1:]
    assert len(rows) == 1 and ">2</a>" in rows[0]
    assert '<a href="?status=review" aria-current="page">' in results


def test_batches_page__referred_run__counted_in_the_review_column(client, viewer, referred_batch):
    client.force_login(viewer)
    html = client.get(reverse("console:batches")).content.decode()
    assert '<td class="num count-review">1</td>' in html


def test_dashboards_page__referred_run__review_tile_and_series(client, viewer, referred_run, passed_run):
    client.force_login(viewer)
    html = client.get(reverse("console:dashboards")).content.decode()
    tile = html[html.index(">To review<") :]
    assert tile.index('<span class="value review">1</span>') < tile.index("</div>")
    series = json.loads(re.search(r'id="throughput-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert sum(series["review"]) == 1 and sum(series["passed"]) == 1


# -- test cases --------------------------------------------------------------------------------


def test_test_case_form__expected_decision__review_offered_and_saved(client, editor, routed):
    # Given an editor on the new test case page
    client.force_login(editor)
    url = reverse("console:test-case-new", kwargs={"slug": routed.slug})
    html = client.get(url).content.decode()
    # Then review is one of the expected decisions, said what it means
    assert '<option value="review">review (nothing failed; a rule referred it to a person)</option>' in html
    # When a case expecting review is saved
    response = client.post(
        url, {"name": "referred", "record": json.dumps(REFERRED), "status": "review", "fields_expected": ""}
    )
    # Then it is stored expecting review
    assert response.status_code == 302
    case = routed.test_cases.get()
    assert case_services.case_content(case)[1] == {"status": "review"}


# -- impact analysis ---------------------------------------------------------------------------


def test_impact_report__override_refers_the_declined__review_flips_in_headline_tiles_and_table(
    client, viewer, released, environments, editor
):
    # Given an analysis of an override that refers three declined applications to a person
    past_runs(released, environments["development"], editor)
    report = impact_services.impact_run_now(
        pipeline=released, environment=environments["development"], actor=editor, override=ROUTING, last=100
    )
    # When a viewer opens the report
    client.force_login(viewer)
    html = client.get(
        reverse("console:impact-report", kwargs={"slug": released.slug, "report_id": report.pk})
    ).content.decode()
    # Then the headline, the tiles and the decisions table count the flips to review
    headline = text(html[html.index('class="headline"') : html.index('class="tiles impact-tiles"')])
    assert "3 would change between failed, review, undecided and error" in headline
    assert "3 would now go to review and 0 that went to review would no longer" in headline
    tiles = html[html.index('class="tiles impact-tiles"') : html.index('id="decisions"')]
    assert '<span class="label">Would now go to review</span><span class="value review">3</span>' in tiles
    assert (
        '<span class="label">Would no longer go to review</span><span class="value review">0</span>' in tiles
    )
    decisions = section(html, "decisions")
    assert '<th scope="col" class="num">review</th>' in decisions
    assert 'title="failed → review">3<' in decisions
