"""Benchmark of /metrics: scrape time over many rollups and runs (figures, not tests).

    python bench/metrics.py [--rollup-rows N] [--runs N] [--scrapes N]

Runs in a throw-away SQLite database (or DATABASE_URL when set, created when missing:
`scripts/with-services .venv/bin/python bench/metrics.py` measures PostgreSQL), with the
demo pipelines. It fills the database as days of traffic would leave it:
1. a real batch of 500 applications through customer-onboarding (real rules, rollups
   and totals);
2. N five-minute metric rollup rows (default 100,000, rounded up to whole buckets):
   every stage and rule of the pipeline plus the run itself, in development, staging
   and production, one five-minute bucket after another going back in time, with their
   hour and day rows and the all-time totals. They are written through the real
   RollupAccumulator, as the workers write them: each bucket's runs (400 per
   environment) are the batch's real results (20 of them), each counted many times at
   once with add_run(times=n), and flushed a day of buckets at a time (the time spent in
   flush() is printed). The totals are then checked against the SQL sums of the
   five-minute rollups and of the day rollups;
3. N finished runs (default 200,000), plus 100 queued ones, a few queued batch chunks.

Then it scrapes /metrics with the token through Django's test client, as Prometheus
would, and prints the median and worst time, the number of queries and series, and the
time of each family. For comparison it times what reading the rollups at scrape time
would cost instead of the totals: the run and rule families' count and latency columns
summed in SQL (one aggregate query per family), over the day rows (the fewest rows that
hold all time: a year of this pipeline is about 30,000) and over the five-minute rows (a
year is about 9 million).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "bench" / "load"))

from batches import applications, batch_in_process, demo_setup  # noqa: E402

TOKEN = "bench-metrics-token-0123456789abcdef"  # noqa: S105 - the bench server's own


def run_results(batch, n: int) -> list[tuple]:
    """The (status, result, duration_ms) of the first n runs of the batch: real results."""
    return list(
        batch.runs.exclude(result=None)
        .order_by("line_number")
        .values_list("status", "result", "duration_ms")[:n]
    )


def rollups_fill(pipeline, results: list[tuple], rows: int, runs_per_bucket: int) -> dict:
    """At least `rows` five-minute rollup rows (whole buckets) of the pipeline in three
    environments, one bucket after another going back in time from a day ago, with their
    hour and day rows and the all-time totals: written through RollupAccumulator, each
    bucket's `runs_per_bucket` runs per environment split among `results` and counted
    with add_run(times=n), flushed a day of buckets at a time. Returns the five-minute
    rows, the number of runs and of flushes, and the seconds spent in flush()."""
    from django.db import transaction
    from django.utils import timezone

    from pipelines_admin.configs.models import Environment
    from pipelines_admin.runs.metrics import BUCKET_SECONDS, RollupAccumulator, bucket_start

    keys = {("", "")}
    for _, result, _ in results:
        for stage in (result or {}).get("stages", []):
            keys.add((stage.get("name", ""), ""))
            keys |= {(stage.get("name", ""), rule.get("id", "")) for rule in stage.get("rules", [])}
    environments = list(Environment.objects.filter(name__in=["development", "staging", "production"]))
    per_bucket = len(keys) * len(environments)
    buckets = -(-rows // per_bucket)
    start = bucket_start(timezone.now()) - timedelta(days=1)  # older than the real batch's bucket
    accumulator = RollupAccumulator()
    flushes, flush_seconds = 0, 0.0
    for index in range(buckets):
        when = start - timedelta(seconds=BUCKET_SECONDS * index)
        for environment in environments:
            for k, (status, result, duration_ms) in enumerate(results):
                times = runs_per_bucket // len(results) + (k < runs_per_bucket % len(results))
                if times:
                    accumulator.add_run(
                        pipeline_id=pipeline.pk,
                        environment_id=environment.pk,
                        finished_at=when,
                        status=status,
                        result=result,
                        duration_ms=duration_ms,
                        times=times,
                    )
        if index % 288 == 287 or index == buckets - 1:  # a day of buckets at a time
            started = time.perf_counter()
            with transaction.atomic():
                accumulator.flush()
            flush_seconds += time.perf_counter() - started
            flushes += 1
    return {
        "rows": buckets * per_bucket,
        "runs": buckets * len(environments) * runs_per_bucket,
        "flushes": flushes,
        "flush_seconds": flush_seconds,
    }


def totals_match_rollups() -> None:
    """The all-time totals are the SQL sums of the five-minute rollups, and of the day
    rollups: the run, stage and rule counts, histograms and number of results."""
    from django.db.models import Sum

    from pipelines_admin.runs.models import COUNTED, LATENCY_COLUMNS, MetricRollup, MetricTotal, count_column

    key = ("pipeline_id", "environment_id", "stage", "rule")
    totals = {
        tuple(getattr(row, k) for k in key): (
            {outcome: n for outcome, n in row.counts.items() if n},
            list(row.histogram),
            row.total,
        )
        for row in MetricTotal.objects.all()
    }
    for grain in (MetricRollup.Grain.FIVE_MINUTES, MetricRollup.Grain.DAY):
        sums = (
            MetricRollup.objects.filter(grain=grain)
            .values(*key)
            .annotate(
                **{f"c_{outcome}": Sum(count_column(outcome)) for outcome in COUNTED},
                **{f"h_{column}": Sum(column) for column in LATENCY_COLUMNS},
                t=Sum("total"),
            )
            .order_by()
        )
        summed = {
            tuple(row[k] for k in key): (
                {outcome: row[f"c_{outcome}"] for outcome in COUNTED if row[f"c_{outcome}"]},
                [row[f"h_{column}"] for column in LATENCY_COLUMNS],
                row["t"],
            )
            for row in sums
        }
        assert summed == totals, f"totals differ from the sums of the {grain.label} rollups"


def runs_fill(pipeline, environment, admin, n: int) -> None:
    """n finished runs and 100 queued ones, bulk-inserted (what the runs table holds; /metrics must not read it)."""
    from pipelines_admin.configs.selectors import release_live
    from pipelines_admin.runs.models import Run

    release = release_live(pipeline, environment)
    statuses = ["passed"] * 7 + ["failed"] * 2 + ["error"]
    for first in range(0, n + 100, 5000):
        Run.objects.bulk_create(
            [
                Run(
                    pipeline=pipeline,
                    environment=environment,
                    config_version_id=release.version_id,
                    release=release,
                    effective_hash=release.effective_hash,
                    source="api",
                    submitted_by=admin,
                    status="queued" if i >= n else statuses[i % len(statuses)],
                    input_encrypted="-",
                    input_masked={},
                    duration_ms=None if i >= n else 3.0,
                )
                for i in range(first, min(first + 5000, n + 100))
            ],
            batch_size=5000,
        )


def rollup_sums_in_sql(rounds: int) -> dict[str, tuple[int, float]]:
    """What the run and rule families would cost summed out of the rollups at scrape
    time, from the day rows (the fewest that hold all time) and from the five-minute
    rows: the integer count and latency columns summed in SQL, one aggregate query per
    family and grain. (rows read, median ms of `rounds`) per query."""
    from django.db.models import Sum

    from pipelines_admin.runs.models import LATENCY_COLUMNS, SLOW, UNKNOWN, MetricRollup, Run, count_column
    from rules_engine import OUTCOMES

    def sums(keys):
        return {
            **{f"c_{k}": Sum(count_column(k)) for k in keys},
            **{f"b{i}": Sum(column) for i, column in enumerate(LATENCY_COLUMNS)},
            "sum_ms": Sum("sum_ms"),
        }

    queries = {}
    for grain, label in ((MetricRollup.Grain.DAY, "day"), (MetricRollup.Grain.FIVE_MINUTES, "five-minute")):
        rows = MetricRollup.objects.filter(grain=grain)
        queries[f"runs, {label} rows"] = (
            rows.filter(stage="", rule=""),
            ("pipeline_id", "environment_id"),
            [*map(str, Run.FINISHED), UNKNOWN],
        )
        queries[f"rules, {label} rows"] = (
            rows.exclude(rule=""),
            ("pipeline_id", "environment_id", "stage", "rule"),
            [*OUTCOMES, SLOW, UNKNOWN],
        )
    timings = {}
    for name, (rows, key, outcomes) in queries.items():
        queryset = rows.values(*key).annotate(**sums(outcomes)).order_by()
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            list(queryset.all())  # a fresh queryset: no result cache
            times.append((time.perf_counter() - started) * 1000)
        timings[name] = (rows.count(), statistics.median(times))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rollup-rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200_000)
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--runs-per-bucket", type=int, default=400, help="per environment and five minutes")
    parser.add_argument("--templates", type=int, default=20, help="distinct run results the rollups count")
    parser.add_argument("--rounds", type=int, default=3, help="times each rollup sum is timed (median)")
    args = parser.parse_args()

    if not os.environ.get("VAR_DIR"):
        os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="rules-console-bench-")
    os.environ["METRICS_TOKEN"] = TOKEN
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipelines_admin.settings")
        import django

        django.setup()
        from run_load import create_database_if_missing

        create_database_if_missing()
    admin, pipeline, environment = demo_setup({})
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from prometheus_client import generate_latest

    from pipelines_admin.metrics.collectors import FAMILIES, REGISTRY, Scrape
    from pipelines_admin.runs.models import BatchChunk, MetricRollup, MetricTotal, Run

    started = time.perf_counter()
    batch, _ = batch_in_process(pipeline, environment, applications(500), admin)
    fill = rollups_fill(pipeline, run_results(batch, args.templates), args.rollup_rows, args.runs_per_bucket)
    runs_fill(pipeline, environment, admin, args.runs)
    BatchChunk.objects.filter(pk__in=BatchChunk.objects.values_list("pk", flat=True)[:3]).update(
        status="queued"
    )
    totals_match_rollups()
    if connection.vendor == "postgresql":  # the statistics autovacuum keeps: the planner's view of the table
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {MetricRollup._meta.db_table}")
    grains = dict(
        MetricRollup.objects.values("grain")
        .annotate(n=Count("pk"))
        .order_by("grain")
        .values_list("grain", "n")
    )
    print(
        f"database: {connection.vendor}; filled in {time.perf_counter() - started:.1f} s: "
        f"{MetricRollup.objects.count():,} rollup rows ("
        + ", ".join(f"{n:,} of {MetricRollup.Grain(grain).label}" for grain, n in grains.items())
        + f"), {MetricTotal.objects.count():,} total rows, {Run.objects.count():,} runs"
    )
    print(
        f"rollups of {fill['runs']:,} runs ({fill['rows']:,} five-minute rows, their hour and day rows, "
        f"the totals) written through RollupAccumulator in {fill['flushes']} flush(es), a day of buckets each: "
        f"{fill['flush_seconds']:.1f} s in flush(); the totals equal the SQL sums of the five-minute "
        "and of the day rollups"
    )

    client = Client(HTTP_HOST="localhost")
    client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")  # warm up: imports, connection
    times = []
    for _ in range(args.scrapes):
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
    body = response.content.decode()
    series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    print(
        f"/metrics, {args.scrapes} scrapes: median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms; "
        f"{len(queries.captured_queries)} queries, {series:,} series, {len(body):,} bytes"
    )

    t0 = time.perf_counter()
    generate_latest(REGISTRY)
    print(f"  {'read and encoded, no HTTP':34s} {(time.perf_counter() - t0) * 1000:7.2f} ms, of which:")
    scrape = Scrape()
    t0 = time.perf_counter()
    scrape.totals  # noqa: B018  (the shared query, timed on its own)
    read = [(time.perf_counter() - t0) * 1000]
    print(f"  {'metric totals (shared)':34s} {read[0]:7.2f} ms")
    for family in FAMILIES:
        t0 = time.perf_counter()
        list(family(scrape))
        read.append((time.perf_counter() - t0) * 1000)
        print(f"  {family.__name__:34s} {read[-1]:7.2f} ms")
    print(f"  {'queries read into families, in all':34s} {sum(read):7.2f} ms")

    print(f"instead, summing the rollups in SQL at each scrape (median of {args.rounds}):")
    for name, (rows, ms) in rollup_sums_in_sql(args.rounds).items():
        print(f"  {name:34s} {ms:7.1f} ms ({rows:,} rows)")


if __name__ == "__main__":
    main()
