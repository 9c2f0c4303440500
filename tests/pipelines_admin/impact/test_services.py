import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.configs import services as config_services
from pipelines_admin.core.errors import InvalidInput, NotAllowed, NotFound
from pipelines_admin.impact import services
from pipelines_admin.impact.models import ImpactChunk, ImpactReport
from pipelines_admin.impact.selectors import impact_summary
from pipelines_admin.impact.tally import DIRECTIONS, ImpactTally, empty
from pipelines_admin.releases import services as release_services
from pipelines_admin.runs import services as run_services
from pipelines_admin.runs.models import Run

pytestmark = pytest.mark.django_db


def born(years_ago: int) -> str:
    today = date.today()
    return today.replace(year=today.year - years_ago, day=min(today.day, 28)).isoformat()


AGES = [born(36), born(19), born(12), born(56), born(20), born(45)]  # two 18-20 year olds, one minor


def past_runs(pipeline, environment, editor, n=12):
    """n finished runs in `environment`: adults, teenagers and a malformed email."""
    runs = []
    for i in range(n):
        record = {
            "name": f"Person {i}",
            "email": f"person{i}@example.com",
            "date_of_birth": AGES[i % len(AGES)],
            "ssn": f"123-45-{6000 + i}",
        }
        if i == n - 1:
            record["email"] = "not-an-email"
        run = run_services.run_submit(pipeline=pipeline, environment=environment, record=record, actor=editor)
        runs.append(run_services.run_execute(run.pk))
    return runs


def stricter_version(pipeline, editor, minimum_age=21):
    document = pipeline.versions.order_by("-number").first().document
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = minimum_age
    return config_services.config_version_create(
        pipeline=pipeline,
        document=document,
        base_version=pipeline.versions.order_by("-number").first(),
        author=editor,
        message=f"minimum age {minimum_age}",
    )


@pytest.fixture
def history(released, environments, editor):
    return past_runs(released, environments["development"], editor)


def test_impact__stricter_age__flips_counted_rule_by_rule(history, released, environments, editor, settings):
    settings.IMPACT_CHUNK_SIZE = 5  # three chunks
    v2 = stricter_version(released, editor)
    report = services.impact_run_now(
        pipeline=released, environment=environments["development"], actor=editor, version=v2, last=100
    )
    assert report.status == "completed" and report.total == report.processed == 12
    assert report.chunks.count() == 3 and not report.chunks.exclude(status="done").exists()
    summary = impact_summary(report)
    # the 19 and 20 year olds (two of every six) now fail
    assert summary.replayed == 12
    assert summary.flips == {"to_fail": 4, "to_pass": 0, "other": 0, "to_review": 0, "from_review": 0}
    assert summary.unchanged + summary.flipped == 12
    age = next(r for r in summary.rules if r.key == "business_rules/age_verification")
    assert age.changed == summary.flips["to_fail"]
    assert age.after.get("fail", 0) - age.before.get("fail", 0) == summary.flips["to_fail"]
    assert [r.key for r in summary.rules if r.changed] == ["business_rules/age_verification"]
    # the decisions table and the latencies are filled in
    decisions = dict(summary.decisions)
    assert decisions["passed"][1] == summary.flips["to_fail"]  # passed -> failed
    assert summary.latency["before"]["p50"] is not None and summary.latency["after"]["p95"] is not None
    # the sample holds the flipped applications, both results, PII masked
    assert len(report.samples) == summary.flips["to_fail"]
    sample = report.samples[0]
    assert sample["direction"] == "to_fail" and sample["before"]["status"] == "passed"
    assert sample["after"]["status"] == "failed"
    stored = json.dumps([report.samples, report.tally])
    assert "123-45-60" not in stored and "@example.com" in stored and "person0@" not in stored
    assert AuditEvent.objects.filter(action="impact.completed", object_id=str(report.pk)).count() == 1


def test_impact__nothing_written_per_application(history, released, environments, editor):
    runs_before = Run.objects.count()
    events_before = AuditEvent.objects.count()
    services.impact_run_now(
        pipeline=released,
        environment=environments["development"],
        actor=editor,
        version=stricter_version(released, editor),
        last=5,
    )
    assert Run.objects.count() == runs_before
    # a version, the start and the end of the analysis: no event per replayed application
    assert AuditEvent.objects.count() == events_before + 3


def test_impact__window__latest_runs_of_that_environment_only(history, released, environments, editor):
    release_services.release_create(
        pipeline=released, environment=environments["staging"], version=released.versions.get(), actor=editor
    )
    past_runs(released, environments["staging"], editor, n=3)
    report = services.impact_run_now(
        pipeline=released,
        environment=environments["development"],
        actor=editor,
        version=stricter_version(released, editor),
        last=4,
    )
    ids = [i for chunk in report.chunks.all() for i in chunk.run_ids]
    assert ids == [str(r.pk) for r in sorted(history, key=lambda r: r.created_at, reverse=True)[:4]]


def test_impact__override_candidate(history, released, environments, editor):
    patch = {"stages": {"business_rules": {"enabled": False}}}
    report = services.impact_run_now(
        pipeline=released, environment=environments["development"], actor=editor, override=patch, last=100
    )
    summary = impact_summary(report)
    assert "proposed override" in report.candidate_label
    assert summary.flips == {
        "to_fail": 0,
        "to_pass": 2,
        "other": 0,
        "to_review": 0,
        "from_review": 0,
    }  # the minors


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"last": 0}, InvalidInput, "between 1 and"),
        ({"last": 10, "version": "same"}, InvalidInput, "exactly what runs"),
        ({"last": 10, "override": []}, InvalidInput, "JSON object"),
    ],
)
def test_impact_start__bad_requests__refused_nothing_stored(
    history, released, environments, editor, kwargs, error, message
):
    if kwargs.get("version") == "same":
        kwargs["version"] = released.versions.get()
    with pytest.raises(error, match=message):
        services.impact_start(
            pipeline=released, environment=environments["development"], actor=editor, **kwargs
        )
    assert not ImpactReport.objects.exists()


def test_impact_start__no_runs_or_not_released__clear_errors(released, environments, editor):
    v2 = stricter_version(released, editor)
    with pytest.raises(InvalidInput, match="no finished runs"):
        services.impact_start(
            pipeline=released, environment=environments["development"], actor=editor, version=v2, last=10
        )
    with pytest.raises(NotFound, match="not been released"):
        services.impact_start(
            pipeline=released, environment=environments["staging"], actor=editor, version=v2, last=10
        )


def test_impact_start__viewer__not_allowed(history, released, environments, viewer, editor):
    v2 = stricter_version(released, editor)
    with pytest.raises(NotAllowed):
        services.impact_start(
            pipeline=released, environment=environments["development"], actor=viewer, version=v2, last=10
        )


def test_impact_chunks__redelivered_and_cancelled__counted_once(
    history, released, environments, editor, settings, django_capture_on_commit_callbacks
):
    settings.IMPACT_CHUNK_SIZE = 4
    with django_capture_on_commit_callbacks() as callbacks:
        report = services.impact_start(
            pipeline=released,
            environment=environments["development"],
            actor=editor,
            version=stricter_version(released, editor),
            last=12,
        )
    assert report.status == "queued" and len(callbacks) == 1
    first, second, third = report.chunks.order_by("index")
    assert services.impact_chunk_process(first.pk) == 4
    assert services.impact_chunk_process(first.pk) == 0  # delivered again
    report.refresh_from_db()
    assert (report.status, report.processed, report.percent) == ("running", 4, 33)
    services.impact_cancel(report=report, actor=editor)
    assert services.impact_chunk_process(second.pk) == 0
    report.refresh_from_db()
    assert report.status == "cancelled" and report.processed == 4 and report.tally["replayed"] == 4
    assert set(report.chunks.values_list("status", flat=True)) == {"done", "cancelled"}
    with pytest.raises(InvalidInput, match="already cancelled"):
        services.impact_cancel(report=report, actor=editor)


def test_impact_sweep__lost_chunks__enqueued_again(history, released, environments, editor, settings):
    from datetime import timedelta
    from unittest import mock

    from django.utils import timezone

    report = services.impact_start(
        pipeline=released,
        environment=environments["development"],
        actor=editor,
        version=stricter_version(released, editor),
        last=12,
    )
    later = timezone.now() + timedelta(seconds=settings.RUN_REQUEUE_AFTER_SECONDS + 1)
    with mock.patch("pipelines_admin.impact.services.chunk_enqueue", return_value=True) as enqueue:
        assert services.impact_sweep(later)["impact_chunks_requeued"] == report.chunks.count()
    assert enqueue.call_count == ImpactChunk.objects.filter(report=report).count()


STATUS = st.sampled_from(["passed", "failed", "review", "undecided", "error"])
OUTCOME = st.sampled_from(["pass", "fail", "skip", "error", "timeout"])
APPLICATION = st.tuples(
    STATUS,
    st.dictionaries(st.sampled_from(["a", "b", "c"]), OUTCOME),
    st.floats(0, 5000),
    STATUS,
    st.dictionaries(st.sampled_from(["a", "b", "d"]), OUTCOME),
    st.floats(0, 5000),
)


def as_result(status, outcomes):
    return {
        "status": status,
        "stages": [{"name": "s", "rules": [{"id": k, "outcome": v} for k, v in outcomes.items()]}],
    }


@given(st.lists(APPLICATION, max_size=30), st.integers(0, 30))
@hsettings(max_examples=60, deadline=None)
def test_tally__chunks_merged__same_as_one_pass(applications, cut):
    def tally(apps):
        t = ImpactTally()
        for bs, bo, bms, as_, ao, ams in apps:
            t.add(bs, as_result(bs, bo), bms, as_, as_result(as_, ao), ams)
        return t.data

    whole = tally(applications)
    merged = ImpactTally(empty()).merge(tally(applications[:cut])).merge(tally(applications[cut:])).data
    assert merged["decisions"] == whole["decisions"] and merged["rules"] == whole["rules"]
    assert merged["flips"] == whole["flips"] and merged["replayed"] == whole["replayed"] == len(applications)
    assert merged["latency"]["after"]["histogram"] == whole["latency"]["after"]["histogram"]
    assert merged["latency"]["before"]["sum_ms"] == pytest.approx(whole["latency"]["before"]["sum_ms"])
    assert whole["unchanged"] + sum(whole["flips"][d] for d in DIRECTIONS) == len(applications)
