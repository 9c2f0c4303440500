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
3. Batch throughput through a real worker: `celery -A pipelines_admin worker
   --pool=prefork` with 1 and with 2 processes, the batch submitted as the console
   submits it, timed until the batch is completed, beside the engine alone.
4. The development worker's memory (DEBUG on) over batches in a row, with and without
   its query log emptied after each task.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

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

    from bench.load.run_load import create_database_if_missing
    from pipelines_admin.configs.models import Environment, Pipeline
    from pipelines_admin.demo.pipelines import demo_pipelines_ensure

    create_database_if_missing()
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


# -- 3 and 4: through a real worker ----------------------------------------------------

#: the worker as `make run` starts it, without beat, on a queue of its own
WORKER_COMMAND = ["-m", "celery", "-A", "pipelines_admin"]
#: the same worker with the query log kept: what the development worker did before
#: pipelines_admin.celery emptied it after each task
WORKER_KEEPING_QUERY_LOG = [
    "-c",
    "import sys; from celery.signals import task_postrun; "
    "from pipelines_admin.celery import _forget_queries, app; "
    "task_postrun.disconnect(_forget_queries); app.worker_main(sys.argv[1:])",
]


def worker_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("through a real worker (sections 3 and 4)")
    group.add_argument("--worker-records", type=int, default=6000, help="applications per timed batch")
    group.add_argument("--worker-processes", default="1,2", help="worker processes to time, comma-separated")
    group.add_argument("--worker-rounds", type=int, default=3, help="rounds (0 skips section 3)")
    group.add_argument(
        "--memory-batches", type=int, default=10, help="batches in a row for section 4 (0 skips it)"
    )
    group.add_argument("--memory-records", type=int, default=1000, help="applications per batch in section 4")


class BenchWorker:
    """A `celery worker --pool=prefork --concurrency=N` child process on a private queue,
    pointed at this process's database and broker (as tests/conftest.py starts one)."""

    def __init__(self, processes: int, *, debug: bool = False, keep_query_log: bool = False):
        from django.conf import settings
        from django.db import connection

        from bench.load.run_load import Process, wait_until
        from pipelines_admin.celery import app

        self.queue = app.conf.task_default_queue
        self.log_path = Path(settings.VAR_DIR) / f"worker-{uuid.uuid4().hex[:8]}.log"
        env = dict(
            os.environ,
            DATABASE_URL=database_url(connection.settings_dict),
            CELERY_TASK_DEFAULT_QUEUE=self.queue,
            DEBUG="true" if debug else "false",
            SECRET_KEY=settings.SECRET_KEY,
            RUN_INPUT_KEYS=",".join(settings.RUN_INPUT_KEYS),
            LOG_LEVEL="WARNING",
        )
        entry = WORKER_KEEPING_QUERY_LOG if keep_query_log else WORKER_COMMAND
        started = time.perf_counter()
        self.process = Process(
            f"worker x{processes}",
            [
                sys.executable,
                *entry,
                "worker",
                "--pool=prefork",
                f"--concurrency={processes}",
                "--loglevel=info",
                "-Q",
                self.queue,
                "--hostname",
                f"bench-{uuid.uuid4().hex[:8]}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            env,
            self.log_path,
        )
        wait_until(lambda: " ready." in self.process.log_text(), 120, "the worker", [self.process])
        self.startup_seconds = time.perf_counter() - started

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time (user + system) so far of the worker's processes: (main, pool)."""
        import psutil

        main = psutil.Process(self.process.process.pid)
        pool = sum(sum(child.cpu_times()[:2]) for child in main.children())
        return sum(main.cpu_times()[:2]), pool

    def children_rss(self) -> list[int]:
        import psutil

        return [child.memory_info().rss for child in psutil.Process(self.process.process.pid).children()]

    def stop(self) -> None:
        self.process.stop()


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL that points the worker at the database this process uses."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user, password = settings_dict.get("USER") or "", settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"


def batch_through_worker(pipeline, environment, records: list[dict], admin, timeout: float = 600):
    """Submit the records as a batch, as the console does (the chunks go to the broker when
    the transaction commits), and wait until a worker has completed it: (batch, seconds)."""
    from pipelines_admin.core.canonical import canonical_json
    from pipelines_admin.runs.batches import batch_create
    from pipelines_admin.runs.models import Batch

    data = "\n".join(canonical_json(r) for r in records).encode()
    started = time.perf_counter()
    batch = batch_create(
        pipeline=pipeline, environment=environment, filename="bench.jsonl", data=data, actor=admin
    )
    deadline = started + timeout
    while Batch.objects.filter(pk=batch.pk, status=Batch.Status.COMPLETED).count() == 0:
        if time.perf_counter() > deadline:
            raise SystemExit(f"the batch was not completed within {timeout} s")
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    batch.refresh_from_db()
    return batch, seconds


def server_cpu_seconds(port: int | None) -> float:
    """CPU time so far of the local server listening on `port` and of its children (the
    PostgreSQL or Redis that scripts/with-services started); 0 when there is none."""
    import psutil

    if not port:
        return 0.0
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == int(port) and conn.pid:
            server = psutil.Process(conn.pid)
            processes = [server, *server.children(recursive=True)]
            total = 0.0
            for process in processes:
                try:
                    total += sum(process.cpu_times()[:2])
                except psutil.NoSuchProcess:
                    pass
            return total
    return 0.0


def worker_warm_up(pipeline, environment, records: list[dict], admin, processes: int) -> float:
    """A small batch first, in chunks of two, so that each worker process has loaded what
    it loads on its first chunk (the compiled pipeline, the libraries rules load lazily)
    before the timed batch; its seconds."""
    from django.test.utils import override_settings

    with override_settings(BATCH_CHUNK_SIZE=2):
        _, seconds = batch_through_worker(pipeline, environment, records[: 4 * processes], admin)
    return seconds


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):8.2f}  (min {min(values):.2f}, max {max(values):.2f})"


def chunk_overhead(pipeline, environment, records: list[dict], admin) -> dict[str, float]:
    """Microseconds per application in this process: the engine alone, the chunk path
    (section 1's work), what the chunk path adds, and of that the metric rollup write
    (RollupAccumulator.flush, timed where the chunk path calls it)."""
    from django.test.utils import override_settings

    from pipelines_admin.runs.metrics import RollupAccumulator

    spent = [0.0]
    flush = RollupAccumulator.flush

    def timed_flush(self):
        started = time.perf_counter()
        try:
            return flush(self)
        finally:
            spent[0] += time.perf_counter() - started

    engine_us = 1e6 / engine_alone_rate(pipeline, environment, records)
    # as a production worker runs it: DEBUG off, so no query is logged
    with override_settings(DEBUG=False), mock.patch.object(RollupAccumulator, "flush", timed_flush):
        _, seconds = batch_in_process(pipeline, environment, records, admin)
    chunk_us = seconds / len(records) * 1e6
    rollups_us = spent[0] / len(records) * 1e6
    return {"engine": engine_us, "chunk": chunk_us, "added": chunk_us - engine_us, "rollups": rollups_us}


def worker_throughput(args, admin, pipeline, environment) -> None:
    """Section 3: applications/s through a real worker of 1 and 2 processes, beside the
    engine alone on the same records in this process; rounds interleaved."""
    from django.db import connection

    from pipelines_admin.celery import app

    app.conf.task_default_queue = f"bench-{uuid.uuid4().hex[:12]}"
    counts = [int(n) for n in args.worker_processes.split(",") if n.strip()]
    records = applications(args.worker_records, seed=11)
    engine: list[float] = []
    through: dict[int, list[float]] = {n: [] for n in counts}
    startup: dict[int, list[float]] = {n: [] for n in counts}
    warm_up: dict[int, list[float]] = {n: [] for n in counts}
    overheads: list[dict[str, float]] = []
    engine_cpu: list[float] = []
    cpu: dict[tuple[int, str], list[float]] = {}
    broker_port = urlsplit(app.conf.broker_url).port
    database_port = connection.settings_dict.get("PORT")
    for _ in range(args.worker_rounds):
        overheads.append(chunk_overhead(pipeline, environment, records[: args.records], admin))
        started = time.process_time()
        engine.append(engine_alone_rate(pipeline, environment, records))
        engine_cpu.append((time.process_time() - started) / len(records) * 1e6)
        for n in counts:
            worker = BenchWorker(n)
            try:
                warm_up[n].append(worker_warm_up(pipeline, environment, records, admin, n))
                main0, pool0 = worker.cpu_seconds()
                servers0 = [server_cpu_seconds(database_port), server_cpu_seconds(broker_port)]
                here0 = time.process_time()
                batch, seconds = batch_through_worker(pipeline, environment, records, admin)
                here = time.process_time() - here0
                servers = [server_cpu_seconds(database_port), server_cpu_seconds(broker_port)]
                main, pool = worker.cpu_seconds()
            finally:
                worker.stop()
            assert batch.processed == len(records), batch.processed
            through[n].append(len(records) / seconds)
            startup[n].append(worker.startup_seconds)
            for what, spent in (
                ("worker pool", pool - pool0),
                ("worker main", main - main0),
                ("database server", servers[0] - servers0[0]),
                ("broker server", servers[1] - servers0[1]),
                ("submitting process", here),
            ):
                cpu.setdefault((n, what), []).append(spent / len(records) * 1e6)
    print(
        f"\nthrough a real worker ({connection.vendor}, {app.conf.broker_url.split(':')[0]} broker; "
        f"{len(records)} applications, chunks of {args.chunk_size}, {args.worker_rounds} rounds; "
        f"worker start-up and warm-up not timed)"
    )
    print(f"engine alone, 1 process     {spread(engine)} applications/s")
    for n in counts:
        ratios = [rate / (e * n) for rate, e in zip(through[n], engine, strict=True)]
        print(f"worker x{n}, applications/s {spread(through[n])}")
        print(f"worker x{n}, per process / engine alone {spread(ratios)}")
        print(f"worker x{n}, start-up s      {spread(startup[n])}")
        print(f"worker x{n}, warm-up s       {spread(warm_up[n])}")
        added = [n * 1e6 / rate - 1e6 / e for rate, e in zip(through[n], engine, strict=True)]
        print(f"worker x{n}, added us/app   {spread(added)} (per process, over the engine alone)")
    for key, label in (
        ("engine", "engine alone"),
        ("chunk", "chunk path, in process"),
        ("added", "added by the chunk path"),
        ("rollups", "of which the rollup write"),
    ):
        print(f"{label:27s} {spread([o[key] for o in overheads])} us/application")
    shares = [o["rollups"] / o["added"] for o in overheads]
    print(f"rollup write / added       {spread(shares)}")
    print(f"CPU, engine alone          {spread(engine_cpu)} us/application")
    for (n, what), values in cpu.items():
        print(f"CPU, worker x{n}, {what:18s} {spread(values)} us/application")
    for n in counts:
        efficiency = [e / p for e, p in zip(engine_cpu, cpu[(n, "worker pool")], strict=True)]
        print(f"CPU, engine alone / worker x{n} pool {spread(efficiency)}")
    if 1 in through:
        for n in counts:
            if n != 1:
                speedups = [a / b for a, b in zip(through[n], through[1], strict=True)]
                print(f"speed-up x{n} over x1       {spread(speedups)}")


def worker_memory(args, admin, pipeline, environment) -> None:
    """Section 4: the resident memory of a development worker's process (DEBUG on) after
    each of several batches in a row, with the query log emptied after each task (as
    pipelines_admin.celery does) and kept (as before it did)."""
    from pipelines_admin.celery import app

    app.conf.task_default_queue = f"bench-{uuid.uuid4().hex[:12]}"
    records = applications(args.memory_records, seed=13)
    print(
        f"\ndevelopment worker (DEBUG on, 1 process): memory after each of {args.memory_batches} "
        f"batches of {len(records)} applications"
    )
    for keep in (True, False):
        worker = BenchWorker(1, debug=True, keep_query_log=keep)
        try:
            rss = [sum(worker.children_rss())]
            for _ in range(args.memory_batches):
                batch_through_worker(pipeline, environment, records, admin)
                rss.append(sum(worker.children_rss()))
        finally:
            worker.stop()
        growth = [(b - a) / 2**20 for a, b in zip(rss, rss[1:], strict=False)]
        label = "query log kept   " if keep else "query log emptied"
        later = f"{statistics.mean(growth[1:]):6.2f}" if len(growth) > 1 else "     -"
        print(
            f"{label}: RSS {rss[0] / 2**20:6.1f} -> {rss[-1] / 2**20:6.1f} MiB; growth per batch: "
            f"first {growth[0]:6.2f} MiB (warming up), then {later} MiB on average "
            f"(last {growth[-1]:.2f})"
        )


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
    worker_arguments(parser)
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

    # 3 and 4. through a real worker
    if args.worker_rounds:
        worker_throughput(args, admin, pipeline, environment)
    if args.memory_batches:
        worker_memory(args, admin, pipeline, environment)

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
