"""Impact analysis counts the applications a candidate would refer to a person, and
those it would no longer refer, besides the approvals it would lose or gain."""

from __future__ import annotations

import pytest

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.impact import services
from pipelines_admin.impact.selectors import impact_summary
from pipelines_admin.impact.tally import ImpactTally, flip_direction, review_flip
from tests.pipelines_admin.decided import ROUTING, routed  # noqa: F401 - a fixture
from tests.pipelines_admin.impact.test_services import past_runs

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "before,after,direction,review",
    [
        ("passed", "review", "to_fail", "to_review"),
        ("failed", "review", "other", "to_review"),
        ("review", "passed", "to_pass", "from_review"),
        ("review", "error", "other", "from_review"),
        ("review", "review", None, None),
        ("failed", "undecided", "other", None),
    ],
)
def test_flip__each_pair_of_decisions__its_direction_and_review_flip(before, after, direction, review):
    assert (flip_direction(before, after), review_flip(before, after)) == (direction, review)


def test_tally__flips_to_and_from_review__counted_besides_their_direction():
    tally = ImpactTally()
    for before, after in (
        ("passed", "review"),
        ("failed", "review"),
        ("review", "passed"),
        ("passed", "passed"),
    ):
        tally.add(before, None, 1.0, after, None, 1.0)
    flips = tally.data["flips"]
    assert flips == {"to_fail": 1, "to_pass": 1, "other": 1, "to_review": 2, "from_review": 1}
    assert tally.data["unchanged"] == 1 and tally.data["decisions"]["failed"] == {"review": 1}


def test_impact__override_refers_the_declined__flips_to_review_counted(released, environments, editor):
    # Given twelve past runs in development: two minors and a malformed email were declined
    development = environments["development"]
    past_runs(released, development, editor)
    # When an override that refers them to a person is analysed
    report = services.impact_run_now(
        pipeline=released, environment=development, actor=editor, override=ROUTING, last=100
    )
    # Then the three flip from failed to review: counted among the others, and as to_review
    summary = impact_summary(report)
    assert summary.flips == {"to_fail": 0, "to_pass": 0, "other": 3, "to_review": 3, "from_review": 0}
    assert summary.flipped == 3 and summary.unchanged == 9
    assert dict(summary.decisions)["failed"] == [0, 0, 3, 0, 0]  # passed, failed, review, undecided, error
    event = AuditEvent.objects.get(action="impact.completed", object_id=str(report.pk))
    assert (event.data["flips_to_review"], event.data["flips_from_review"]) == (3, 0)


def test_impact__candidate_declines_what_went_to_review__flips_from_review_counted(
    routed, environments, editor
):
    # Given twelve past runs in development, where the two minors and the malformed email went to review
    development = environments["development"]
    runs = past_runs(routed, development, editor)
    assert sorted(run.status for run in runs).count("review") == 3
    # When a candidate without the routing (an empty override) is analysed
    report = services.impact_run_now(
        pipeline=routed, environment=development, actor=editor, override={}, last=100
    )
    # Then the three flip from review to failed
    summary = impact_summary(report)
    assert summary.flips == {"to_fail": 0, "to_pass": 0, "other": 3, "to_review": 0, "from_review": 3}
    assert dict(summary.decisions)["review"] == [0, 3, 0, 0, 0]
    assert {sample["direction"] for sample in report.samples} == {"other"}
    assert {(s["before_status"], s["after_status"]) for s in report.samples} == {("review", "failed")}
