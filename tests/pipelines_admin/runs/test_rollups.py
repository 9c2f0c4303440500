"""Metric rollups at three grains: what the accumulator writes at each, which grain a
dashboard window is read at, that the SQL sums give the figures of the runs added up by
hand, and the migration of rollups written before grains."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from pipelines_admin.runs.metrics import (
    BUCKETS,
    RollupAccumulator,
    bucket_start,
    latency_bucket,
    quantile,
)
from pipelines_admin.runs.models import MetricRollup
from pipelines_admin.runs.selectors import dashboard, dashboard_grain

pytestmark = pytest.mark.django_db

Grain = MetricRollup.Grain
NOW = datetime(2026, 3, 9, 10, 12, 30, tzinfo=UTC)
STATUSES = ("passed", "failed", "review", "undecided", "error")
OUTCOMES = ("pass", "fail", "skip", "error", "timeout")


#: the windows the tests read, in hours
WINDOWS = (1, 24, 168, 24 * 30)
#: minutes from the start of each window at which runs finish too: around the edges of
#: its first five-minute bucket, first whole hour and first whole day
EDGES = (-4, -1, 1, 3, 20, 50, 80, 300, 1500)


def random_runs(n: int, seed: int = 3) -> list[dict]:
    """n runs finished over the 31 days before NOW, and runs around the start of each
    window, each with two rules of one stage."""
    rng = random.Random(seed)
    when = [NOW - timedelta(seconds=rng.randrange(31 * 86400)) for _ in range(n)]
    edges = (NOW - timedelta(hours=hours) + timedelta(minutes=m) for hours in WINDOWS for m in EDGES)
    when += [edge for edge in edges if edge <= NOW]
    runs = []
    for finished_at in when:
        rules = [
            {
                "id": rule,
                "outcome": rng.choice(OUTCOMES),
                "duration_ms": rng.choice((0.05, 0.3, 3.0, 40.0, 700.0)),
                "slow": rng.random() < 0.1,
            }
            for rule in ("email_format", "age_check")
        ]
        runs.append(
            {
                "finished_at": finished_at,
                "status": rng.choice(STATUSES),
                "duration_ms": rng.choice((0.2, 4.0, 30.0, 900.0, 20000.0)),
                "result": {
                    "stages": [{"name": "checks", "status": "passed", "duration_ms": 1.0, "rules": rules}]
                },
            }
        )
    return runs


def flush(pipeline, environment, runs: list[dict]) -> None:
    accumulator = RollupAccumulator()
    for run in runs:
        accumulator.add_run(pipeline_id=pipeline.pk, environment_id=environment.pk, **run)
    accumulator.flush()


@pytest.mark.parametrize(
    "hours,grain",
    [(1, Grain.FIVE_MINUTES), (6, Grain.FIVE_MINUTES), (23, Grain.FIVE_MINUTES), (24, Grain.HOUR)]
    + [(168, Grain.HOUR), (24 * 23, Grain.HOUR), (24 * 24, Grain.DAY), (24 * 90, Grain.DAY)],
)
def test_dashboard_grain__window__coarsest_grain_with_24_slots(hours, grain):
    # Given a window of `hours` / When its grain is chosen / Then it is the coarsest with 24 slots or more
    assert dashboard_grain(hours) == grain


@pytest.mark.parametrize("hours", WINDOWS)
def test_dashboard__random_runs_over_a_month__sql_sums_equal_the_runs_added_up_by_hand(
    released, environments, hours
):
    # Given 600 runs spread over a month and some around each window's start, flushed in
    # three parts (so rows are added to)
    development = environments["development"]
    runs = random_runs(600)
    for part in (runs[:200], runs[200:400], runs[400:]):
        flush(released, development, part)
    # When the dashboard reads the window
    data = dashboard(pipeline=released, environment=development, hours=hours, now=NOW)
    # Then it counts the runs finished from the first five-minute bucket of the window on
    first_bucket = bucket_start(NOW - timedelta(hours=hours)) + timedelta(minutes=5)
    inside = [run for run in runs if run["finished_at"] >= first_bucket]
    assert data["grain"] == dashboard_grain(hours)
    assert data["total_runs"] == len(inside) > 0
    assert data["counts"] == dict(Counter(run["status"] for run in inside))
    histogram = [0] * BUCKETS
    for run in inside:
        histogram[latency_bucket(run["duration_ms"])] += 1
    assert data["latency"] == {f"p{q}": quantile(histogram, q / 100) for q in (50, 95, 99)}
    # and each rule's counts, slow flags, percentiles and mean are those of its runs
    by_rule: dict = defaultdict(lambda: {"counts": Counter(), "hist": [0] * BUCKETS, "sum": 0.0})
    for run in inside:
        for rule in run["result"]["stages"][0]["rules"]:
            stats = by_rule[rule["id"]]
            stats["counts"][rule["outcome"]] += 1
            stats["counts"]["slow"] += rule["slow"]
            if rule["outcome"] != "skip":
                stats["hist"][latency_bucket(rule["duration_ms"])] += 1
                stats["sum"] += rule["duration_ms"]
    shown = {r.rule: r for r in data["slowest_rules"]}
    assert set(shown) == set(by_rule)
    for rule, stats in by_rule.items():
        assert shown[rule].counts == {k: n for k, n in stats["counts"].items() if n}
        assert shown[rule].total == sum(n for k, n in stats["counts"].items() if k != "slow")
        assert shown[rule].p95 == quantile(stats["hist"], 0.95)
        assert shown[rule].mean_ms == pytest.approx(stats["sum"] / sum(stats["hist"]))
    # and the series has every slot of the grain, each the runs finished in it
    step = timedelta(seconds=data["grain"])
    labels = [datetime.fromisoformat(label) for label in data["series"]["labels"]]
    assert labels[0] == bucket_start(first_bucket, data["grain"])
    assert labels[-1] == bucket_start(NOW, data["grain"])
    assert all(b - a == step for a, b in pairwise(labels))
    for status in STATUSES:
        per_slot = Counter(
            bucket_start(run["finished_at"], data["grain"]) for run in inside if run["status"] == status
        )
        assert data["series"][status] == [per_slot[label] for label in labels]


def test_dashboard__a_week__read_at_hours_not_five_minutes(released, environments):
    # Given runs over a month
    development = environments["development"]
    flush(released, development, random_runs(300))
    # When a week is read / Then the five-minute rows of whole hours are not summed: the
    # hour rows are, plus the five-minute rows of the window's partial first hour
    queries = MetricRollup.objects.filter(pipeline=released)
    week = dashboard(pipeline=released, hours=168, now=NOW)
    first_bucket = bucket_start(NOW - timedelta(hours=168)) + timedelta(minutes=5)
    whole_hours = bucket_start(first_bucket, Grain.HOUR) + timedelta(hours=1)
    hour_rows = queries.filter(grain=Grain.HOUR, bucket_start__gte=whole_hours, stage="", rule="")
    head_rows = queries.filter(
        grain=Grain.FIVE_MINUTES,
        bucket_start__gte=first_bucket,
        bucket_start__lt=whole_hours,
        stage="",
        rule="",
    )
    assert week["total_runs"] == sum(row.total for row in [*hour_rows, *head_rows])
    assert len(week["series"]["labels"]) == 169


@pytest.mark.django_db(transaction=True)
def test_migration__json_rollups_of_the_old_shape__columns_and_hour_and_day_rows(released, environments):
    # Given rollups written before grains: five-minute rows with JSON counts and histograms
    executor = MigrationExecutor(connection)
    old = [("runs", "0005_claim_lease")]
    executor.migrate(old)
    executor.loader.build_graph()
    old_rollup = executor.loader.project_state(old).apps.get_model("runs", "MetricRollup")
    development = environments["development"]
    histogram = [0] * BUCKETS
    histogram[3], histogram[9] = 2, 1
    rows = [
        (datetime(2026, 3, 1, 10, 0, tzinfo=UTC), "", "", {"passed": 2, "failed": 1}),
        (datetime(2026, 3, 1, 10, 55, tzinfo=UTC), "", "", {"passed": 1, "error": 2}),
        (datetime(2026, 3, 1, 11, 5, tzinfo=UTC), "", "", {"undecided": 3}),
        (datetime(2026, 3, 1, 10, 0, tzinfo=UTC), "checks", "email_format", {"pass": 2, "slow": 1, "odd": 1}),
    ]
    for start, stage, rule, counts in rows:
        old_rollup.objects.create(
            pipeline_id=released.pk,
            environment_id=development.pk,
            bucket_start=start,
            stage=stage,
            rule=rule,
            counts=counts,
            histogram=histogram,
            total=3,
            sum_ms=12.5,
        )
    # When the migrations run
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    # Then each row's counts and histogram are in its columns, an outcome without a column as "unknown"
    five = MetricRollup.objects.filter(grain=Grain.FIVE_MINUTES)
    assert five.count() == 4
    rule_row = five.get(rule="email_format")
    assert rule_row.counts == {"pass": 2, "slow": 1, "unknown": 1} and rule_row.histogram == histogram
    # and the hour and day rows are the five-minute rows summed
    runs = MetricRollup.objects.filter(stage="", rule="")
    hours = {row.bucket_start.hour: row for row in runs.filter(grain=Grain.HOUR)}
    assert set(hours) == {10, 11}
    assert hours[10].counts == {"passed": 3, "failed": 1, "error": 2} and hours[10].total == 6
    assert hours[10].histogram == [2 * n for n in histogram] and hours[10].sum_ms == 25.0
    day = runs.get(grain=Grain.DAY)
    assert day.bucket_start == datetime(2026, 3, 1, tzinfo=UTC)
    assert day.counts == {"passed": 3, "failed": 1, "undecided": 3, "error": 2} and day.total == 9
    assert MetricRollup.objects.filter(rule="email_format").count() == 3


@pytest.mark.parametrize("flushes", [1, 2])
def test_flush__totals__as_many_statements_for_20_rules_as_for_2_and_added_up(
    released, environments, flushes
):
    """Batch chunks hold their rollup rows' locks until they commit: the totals are written
    set-based, not one locked read-modify-write per row."""
    from django.test.utils import CaptureQueriesContext

    from pipelines_admin.runs.models import MetricTotal

    environment = environments["development"]

    def flush(rules: int) -> int:
        accumulator = RollupAccumulator()
        result = {
            "stages": [
                {
                    "name": "s",
                    "status": "pass",
                    "duration_ms": 2.0,
                    "rules": [{"id": f"r{i}", "outcome": "pass", "duration_ms": 1.0} for i in range(rules)],
                }
            ]
        }
        for _ in range(3):
            accumulator.add_run(
                pipeline_id=released.pk,
                environment_id=environment.pk,
                finished_at=NOW,
                status="passed",
                result=result,
                duration_ms=3.0,
            )
        with CaptureQueriesContext(connection) as queries:
            accumulator.flush()
        return len(queries)

    statements = [flush(2) for _ in range(flushes)][-1], [flush(20) for _ in range(flushes)][-1]
    assert statements[0] == statements[1]
    rule_total = MetricTotal.objects.get(pipeline=released, environment=environment, stage="s", rule="r1")
    assert (rule_total.total, rule_total.counts, rule_total.sum_ms) == (
        6 * flushes,
        {"pass": 6 * flushes},
        6.0 * flushes,
    )
    assert sum(rule_total.histogram) == 6 * flushes
    run_total = MetricTotal.objects.get(pipeline=released, environment=environment, stage="", rule="")
    assert (run_total.total, run_total.counts) == (6 * flushes, {"passed": 6 * flushes})
    assert MetricTotal.objects.get(environment=environment, stage="s", rule="r19").total == 3 * flushes
