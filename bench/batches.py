"""Benchmarks of batches and dashboards (figures, not tests).

    python bench/batches.py [--records N] [--chunk-size N] [--days D]

Runs in a throw-away SQLite database (or DATABASE_URL when set):
1. Batch throughput: N generated applications through the demo customer-onboarding
   pipeline, chunk by chunk in this process (the work a worker does per chunk: engine
   runs, masking, encryption, one bulk write per chunk, metric rollups), against the
   engine alone on the same records. Prints applications/s and the ratio.
2. Dashboard read time for the last 24 hours and the last D days, at 10,000 and at
   1,000,000 runs (--dashboard-runs) spread evenly over D days: the rollup rows those
   runs leave behind, written through the real accumulator (the batch's own results,
   counted many at a time: the rows are exactly what that many runs would write), one
   environment per number of runs. Medians of several interleaved rounds, and the ratio
   of the larger number's time to the smaller's (the dashboards never read runs, and
   read rollups at a grain chosen by the window, so that ratio should stay near 1).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def applications(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    states = [("CA", "94105", "415"), ("NY", "10001", "212"), ("TX", "73301", "512"), ("FL", "33101", "305")]
    out = []
    for i in range(n):
        state, zip_code, area = rng.choice(states)
        out.append(
            {
                "name": f"Applicant Number{i}",
                "email": f"applicant{i}@example.com",
                "phone": f"({area}) 555-{i % 10000:04d}",
                "area_code": area,
                "address": f"{100 + i} Main St",
                "city": "Springfield",
                "state": state,
                "zip_code": zip_code,
                "country": "US",
                "date_of_birth": f"{rng.randint(1950, 2004)}-0{rng.randint(1, 9)}-15",
                "ssn": f"{rng.randint(100, 599)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
                "annual_income": rng.randint(30000, 200000),
                "monthly_debt": rng.randint(100, 3000),
                "credit_score": rng.randint(600, 820),
            }
        )
    return out


def demo_setup(settings_env: dict[str, str]):
    """Django on a throw-away SQLite database (or DATABASE_URL when set), migrated, with
    the demo pipelines: (a superuser, customer-onboarding, development)."""
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="rules-console-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipelines_admin.settings")
    os.environ.update(settings_env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from pipelines_admin.configs.models import Environment, Pipeline
    from pipelines_admin.demo.pipelines import demo_pipelines_ensure

    call_command("migrate", verbosity=0)
    admin = get_user_model().objects.create_superuser("bench", password="bench-password-1")  # noqa: S106 - a throwaway bench database
    demo_pipelines_ensure(actor=admin)
    return (
        admin,
        Pipeline.objects.get(slug="customer-onboarding"),
        Environment.objects.get(name="development"),
    )


def engine_alone_rate(pipeline, environment, records: list[dict]) -> float:
    """Applications/s of the compiled live config alone, nothing stored."""
    from pipelines_admin.configs.engine import compiled_pipeline
    from pipelines_admin.configs.selectors import effective_config

    engine = compiled_pipeline(effective_config(pipeline, environment).document, environment)
    started = time.perf_counter()
    for record in records:
        engine.run(record).to_dict()
    return len(records) / (time.perf_counter() - started)


def batch_in_process(pipeline, environment, records: list[dict], admin):
    """The records as a batch, chunk by chunk in this process (a worker's work): (batch, seconds)."""
    from pipelines_admin.core.canonical import canonical_json
    from pipelines_admin.runs.batches import batch_chunk_process, batch_create

    data = "\n".join(canonical_json(r) for r in records).encode()
    started = time.perf_counter()
    batch = batch_create(
        pipeline=pipeline, environment=environment, filename="bench.jsonl", data=data, actor=admin
    )
    for chunk_id in batch.chunks.order_by("index").values_list("pk", flat=True):
        batch_chunk_process(chunk_id)
    seconds = time.perf_counter() - started
    batch.refresh_from_db()
    return batch, seconds


def rollups_of_runs(pipeline, environment, results: list[tuple], runs: int, days: int, now) -> None:
    """The rollup rows `runs` runs leave behind, spread evenly over the `days` days before
    `now` (each five-minute bucket its share, each share split among `results`, the
    (status, result, duration_ms) of real runs), written through RollupAccumulator: a
    group of alike runs is counted with add_run(times=n), which writes what n calls would."""
    from django.db import transaction

    from pipelines_admin.runs.metrics import BUCKET_SECONDS, RollupAccumulator, bucket_start

    buckets = days * 86400 // BUCKET_SECONDS
    first = bucket_start(now) - timedelta(seconds=BUCKET_SECONDS * (buckets - 1))
    accumulator = RollupAccumulator()
    for index in range(buckets):
        in_bucket = runs // buckets + (index < runs % buckets)
        finished_at = first + timedelta(seconds=BUCKET_SECONDS * index)
        for k, (status, result, duration_ms) in enumerate(results):
            times = in_bucket // len(results) + (k < in_bucket % len(results))
            if times:
                accumulator.add_run(
                    pipeline_id=pipeline.pk,
                    environment_id=environment.pk,
                    finished_at=finished_at,
                    status=status,
                    result=result,
                    duration_ms=duration_ms,
                    times=times,
                )
        if index % 288 == 287 or index == buckets - 1:  # a day at a time, as many flushes would
            with transaction.atomic():
                accumulator.flush()


def dashboard_read_times(pipeline, environments: dict, windows: tuple, rounds: int) -> dict:
    """Median ms of dashboard() per (runs, hours), the environments read in turn each round."""
    import statistics

    from pipelines_admin.runs.selectors import dashboard

    times: dict = {key: [] for key in ((runs, hours) for runs in environments for hours in windows)}
    for _ in range(rounds):
        for hours in windows:
            for runs, environment in environments.items():
                started = time.perf_counter()
                dashboard(pipeline=pipeline, environment=environment, hours=hours)
                times[(runs, hours)].append((time.perf_counter() - started) * 1000)
    return {key: statistics.median(values) for key, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=250)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument(
        "--dashboard-runs", type=int, nargs=2, default=[10_000, 1_000_000], help="the two numbers of runs"
    )
    parser.add_argument("--dashboard-templates", type=int, default=20, help="distinct run results")
    parser.add_argument("--rounds", type=int, default=7, help="dashboard reads per window and number")
    args = parser.parse_args()

    admin, pipeline, environment = demo_setup({"BATCH_CHUNK_SIZE": str(args.chunk_size)})
    from django.db import connection
    from django.utils import timezone

    from pipelines_admin.configs.models import Environment
    from pipelines_admin.runs.models import MetricRollup
    from pipelines_admin.runs.selectors import dashboard

    records = applications(args.records)

    # 1. the engine alone, then the same records as a batch
    engine_rate = engine_alone_rate(pipeline, environment, records)
    batch, seconds = batch_in_process(pipeline, environment, records, admin)
    batch_rate = len(records) / seconds
    print(f"engine alone        {engine_rate:10.0f} applications/s")
    print(
        f"batch (one process) {batch_rate:10.0f} applications/s  ({batch.processed} processed, "
        f"chunks of {args.chunk_size}; ratio to the engine {batch_rate / engine_rate:.2f})"
    )

    # 2. dashboards over the rollups of 10k and 1M runs spread over the days
    results = list(
        batch.runs.exclude(result=None)
        .order_by("line_number")
        .values_list("status", "result", "duration_ms")[: args.dashboard_templates]
    )
    now = timezone.now()
    counts = sorted(args.dashboard_runs)
    environments = dict(
        zip(counts, Environment.objects.exclude(pk=environment.pk).order_by("position"), strict=False)
    )
    for runs, env in environments.items():
        started = time.perf_counter()
        rollups_of_runs(pipeline, env, results, runs, args.days, now)
        rows = MetricRollup.objects.filter(environment=env).count()
        print(
            f"rollups of {runs:>9,} runs over {args.days} days: {rows:,} rows "
            f"({time.perf_counter() - started:.1f} s to write)"
        )
    if connection.vendor == "postgresql":  # the statistics autovacuum keeps: the planner's view of the table
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {MetricRollup._meta.db_table}")
    windows = (24, args.days * 24)
    medians = dashboard_read_times(pipeline, environments, windows, args.rounds)
    for hours in windows:
        for runs, env in environments.items():
            data = dashboard(pipeline=pipeline, environment=env, hours=hours)
            print(
                f"dashboard, last {hours:4d} h at {runs:>9,} runs: {medians[(runs, hours)]:7.1f} ms "
                f"(median of {args.rounds}; {data['total_runs']:,} runs in the window, "
                f"read at {data['grain']} s slots)"
            )
        print(
            f"dashboard, last {hours:4d} h: {counts[-1]:,} runs / {counts[0]:,} runs = "
            f"{medians[(counts[-1], hours)] / medians[(counts[0], hours)]:.2f}"
        )


if __name__ == "__main__":
    main()
