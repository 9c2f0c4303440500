"""Load test on loopback: the console and run submission at 10, 50 and 100 concurrent users.

    scripts/with-services python bench/load/run_load.py            # what `make load` runs
    python bench/load/run_load.py --users 10 --duration 20         # SQLite + filesystem broker

Against the database and broker in DATABASE_URL and CELERY_BROKER_URL (PostgreSQL and
Redis under scripts/with-services; SQLite and the filesystem transport in a throw-away
folder otherwise) it sets the console up as in production: DEBUG off, a SECRET_KEY and
RUN_INPUT_KEYS of its own, static files collected and served by WhiteNoise, gunicorn
with the image's sync workers, a Celery worker with docker-compose.yml's concurrency.
Plain HTTP on 127.0.0.1 stands for the TLS proxy in front: no redirect to https, no
Secure flag on cookies. Then:

1. migrates, creates the demo pipelines and one account per virtual user (load-001,
   ...: viewer and editor), starts gunicorn on 127.0.0.1 at a free port and a worker
   on a queue of its own;
2. signs every account in through the login form (a few at a time: each login costs
   a deliberately slow password hash) and creates an API token with that session;
3. for each number of users, runs Locust headless (bench/load/locustfile.py) for a
   fixed time, then waits for every run submitted to be decided;
4. revokes the tokens and prints, per step: users, requests, requests/s, p50/p95/p99
   latency (ms), errors, error rate, runs submitted, runs decided, runs lost (queued,
   running or in error after --drain-timeout), then the same by request.

Everything listens on, and connects to, 127.0.0.1 only. Exits 1 when any request
failed, any user code raised, the server logged an error, or any submitted run was not
decided; `--json-out FILE` also writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import platform
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
ACCOUNT_PREFIX = "load-"


def log(message: str) -> None:
    print(f"[load] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="10,50,100", help="comma-separated numbers of concurrent users")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load at each number of users")
    parser.add_argument(
        "--ramp",
        type=float,
        default=5.0,
        help="seconds over which the users of a step start (spawn rate = users / ramp)",
    )
    parser.add_argument(
        "--web-workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "3")),
        help="gunicorn worker processes (the image's default: 3)",
    )
    parser.add_argument("--web-threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument(
        "--worker-concurrency", type=int, default=4, help="Celery worker processes (compose: 4)"
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=0,
        help="load accounts, signed in once each (default: the largest number of users)",
    )
    parser.add_argument(
        "--sign-in-concurrency", type=int, default=4, help="accounts signing in at once before the steps"
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=120.0,
        help="seconds to wait after a step for its runs to be decided",
    )
    parser.add_argument(
        "--static",
        choices=("manifest", "plain"),
        default="manifest",
        help="collect static files as production does (hashed, compressed: slower to set up) "
        "or plainly copied",
    )
    parser.add_argument("--json-out", type=Path, help="also write the figures here as JSON")
    parser.add_argument(
        "--keep-logs", type=Path, help="copy the server's, the worker's and Locust's logs here"
    )
    return parser.parse_args(argv)


def fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def production_env(args, workdir: Path, queue: str) -> dict[str, str]:
    """The environment of every process of the run: the production settings, loopback only."""
    env = dict(os.environ)
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "RUN_INPUT_KEYS": os.environ.get("RUN_INPUT_KEYS") or fernet_key(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # plain HTTP on loopback, as behind a proxy that terminates TLS: no redirect to
            # https and cookies without the Secure flag (docker-compose.yml's default)
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "VAR_DIR": str(workdir / "var"),
            "STATIC_MANIFEST": "true" if args.static == "manifest" else "false",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipelines_admin.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def create_database_if_missing() -> None:
    """PostgreSQL: create the database DATABASE_URL names (scripts/with-services starts an
    empty cluster)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    import psycopg
    from psycopg import sql

    params = connection.settings_dict
    with psycopg.connect(
        dbname="postgres",
        host=params["HOST"],
        port=params["PORT"] or None,
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        autocommit=True,
    ) as db:
        if db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [params["NAME"]]).fetchone() is None:
            db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(params["NAME"])))
            log(f"database {params['NAME']} created")


def prepare_database(args, accounts: int, password: str) -> str:
    """Migrate, collect static files, create the demo pipelines and the load accounts.
    Returns the database's vendor."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection, transaction

    from pipelines_admin.accounts.roles import EDITOR, VIEWER

    create_database_if_missing()
    call_command("migrate", "--noinput", verbosity=0)
    started = time.monotonic()
    call_command("collectstatic", "--noinput", verbosity=0)
    log(f"static files collected ({args.static}) in {time.monotonic() - started:.0f} s")
    call_command("ensure_demo_data", stdout=open(os.devnull, "w"))
    hashed = make_password(password)  # once: the same hash for every account
    # the role groups come from a data migration; a test database flushed between tests lacks them
    groups = [Group.objects.get_or_create(name=role)[0] for role in (VIEWER, EDITOR)]
    user_model = get_user_model()
    with transaction.atomic():
        for number in range(1, accounts + 1):
            user, _ = user_model.objects.update_or_create(
                username=f"{ACCOUNT_PREFIX}{number:03d}", defaults={"password": hashed, "is_active": True}
            )
            user.groups.set(groups)
    vendor = connection.vendor
    connection.close()
    return vendor


class Process:
    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def wait_until(check, timeout: float, what: str, processes: list[Process]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if not process.alive():
                raise SystemExit(
                    f"{process.name} exited while waiting for {what}:\n{process.log_text()[-3000:]}"
                )
        if check():
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:  # noqa: S310 - loopback http
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def sign_in(base_url: str, username: str, password: str) -> tuple[dict | None, float, str]:
    """Sign in through the login form as a browser does, then create an API token with
    that session. Returns (credentials, milliseconds the login took, error or "")."""
    import requests

    session = requests.Session()
    try:
        form = session.get(f"{base_url}/login/", timeout=120)
        if form.status_code != 200 or "csrftoken" not in session.cookies:
            return None, 0.0, f"login form: {form.status_code}"
        started = time.perf_counter()
        login = session.post(
            f"{base_url}/login/",
            timeout=120,
            data={
                "username": username,
                "password": password,
                "next": "",
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"Referer": f"{base_url}/login/"},
        )
        elapsed = (time.perf_counter() - started) * 1000
        if (
            login.status_code != 200
            or 'action="/logout/"' not in login.text
            or "sessionid" not in session.cookies
        ):
            return None, elapsed, f"login: {login.status_code} at {login.url}"
        csrf = session.cookies["csrftoken"]  # a new one after signing in
        token = session.post(
            f"{base_url}/api/v1/tokens/",
            json={"name": "load test"},
            timeout=120,
            headers={"X-CSRFToken": csrf, "Referer": f"{base_url}/account/tokens/"},
        )
        if token.status_code != 201:
            return None, elapsed, f"token: {token.status_code} {token.text[:200]}"
        body = token.json()
    except requests.RequestException as exc:
        return None, 0.0, f"{type(exc).__name__}: {exc}"
    return (
        {
            "username": username,
            "sessionid": session.cookies["sessionid"],
            "csrftoken": csrf,
            "token": body["token"],
            "token_id": body["id"],
        },
        elapsed,
        "",
    )


def sign_in_all(base_url: str, accounts: int, password: str, concurrency: int) -> tuple[list[dict], dict]:
    from concurrent.futures import ThreadPoolExecutor

    names = [f"{ACCOUNT_PREFIX}{n:03d}" for n in range(1, accounts + 1)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outcomes = list(pool.map(lambda name: sign_in(base_url, name, password), names))
    elapsed = time.monotonic() - started
    credentials = [c for c, _, _ in outcomes if c]
    errors = [e for _, _, e in outcomes if e]
    times = [ms for c, ms, _ in outcomes if c]
    return credentials, {
        "accounts": accounts,
        "concurrency": concurrency,
        "errors": len(errors),
        "error_messages": sorted(set(errors))[:10],
        "elapsed_s": round(elapsed, 1),
        "per_second": round(len(credentials) / elapsed, 1) if elapsed else None,
        "p50_ms": percentile(times, 0.5),
        "p95_ms": percentile(times, 0.95),
        "max_ms": max(times) if times else None,
    }


def revoke_tokens(base_url: str, credentials: list[dict]) -> int:
    """Revoke the load tokens with themselves; returns how many failed."""
    import requests

    failed = 0
    for account in credentials:
        try:
            answer = requests.delete(
                f"{base_url}/api/v1/tokens/{account['token_id']}/",
                timeout=60,
                headers={"Authorization": f"Bearer {account['token']}"},
            )
            failed += answer.status_code != 204
        except requests.RequestException:
            failed += 1
    return failed


def read_stats(prefix: Path) -> dict:
    """The Aggregated row and each request's row of Locust's CSV, plus failures and exceptions."""
    with open(f"{prefix}_stats.csv", newline="") as f:
        rows = list(csv.DictReader(f))

    def figures(row: dict) -> dict:
        def number(key: str):
            value = row.get(key, "")
            return float(value) if value not in ("", "N/A") else None

        return {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": number("Requests/s"),
            "median": number("50%"),
            "p95": number("95%"),
            "p99": number("99%"),
            "max": number("Max Response Time"),
        }

    total = next(row for row in rows if row["Name"] == "Aggregated")
    endpoints = {f"{row['Type']} {row['Name']}": figures(row) for row in rows if row["Name"] != "Aggregated"}
    with open(f"{prefix}_failures.csv", newline="") as f:
        failures = [
            {"request": f"{r['Method']} {r['Name']}", "error": r["Error"], "count": int(r["Occurrences"])}
            for r in csv.DictReader(f)
        ]
    with open(f"{prefix}_exceptions.csv", newline="") as f:
        exceptions = [
            {"count": int(r["Count"]), "message": r["Message"], "where": r["Nodes"]}
            for r in csv.DictReader(f)
        ]
    return {"total": figures(total), "endpoints": endpoints, "failures": failures, "exceptions": exceptions}


def drain_runs(since, recorded: set[str], timeout: float) -> dict:
    """Wait until every run the load accounts submitted since `since` is decided."""
    from django.db import connection
    from django.db.models import Count

    from pipelines_admin.runs.models import Run

    runs = Run.objects.filter(submitted_by__username__startswith=ACCOUNT_PREFIX, created_at__gte=since)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not runs.exclude(status__in=Run.FINISHED).exists():
            break
        time.sleep(0.5)
    drained_in = time.monotonic() - started
    by_status = dict(runs.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    stored = {str(pk) for pk in runs.values_list("pk", flat=True)}
    # a decision: approved, declined, or referred to a person (the review queue)
    decisions = (Run.Status.PASSED, Run.Status.FAILED, Run.Status.REVIEW)
    decided = runs.filter(status__in=decisions)
    waits = sorted(
        (r.finished_at - r.created_at).total_seconds()
        for r in decided.only("created_at", "finished_at")
        if r.finished_at
    )
    connection.close()
    return {
        "submitted": len(stored),
        "decided": sum(by_status.get(s, 0) for s in decisions),
        "by_status": by_status,
        "lost": sum(by_status.get(s, 0) for s in (Run.Status.QUEUED, Run.Status.RUNNING)),
        "run_errors": by_status.get(Run.Status.ERROR, 0),
        "not_stored": len(recorded - stored),  # a 2xx answer for a run that is not in the database
        "decision_p50_s": round(waits[len(waits) // 2], 2) if waits else None,
        "decision_p99_s": round(waits[min(len(waits) - 1, int(len(waits) * 0.99))], 2) if waits else None,
        "drain_s": round(drained_in, 1),
    }


def run_step(
    args, users: int, base_url: str, env: dict[str, str], workdir: Path, credentials_file: Path
) -> dict:
    from django.utils import timezone

    prefix = workdir / f"locust-{users}"
    runs_file = workdir / f"runs-{users}.txt"
    spawn_rate = max(1.0, users / args.ramp) if args.ramp > 0 else users
    locust_env = dict(env, LOAD_CREDENTIALS_FILE=str(credentials_file), LOAD_RUNS_FILE=str(runs_file))
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        base_url,
        "-u",
        str(users),
        "-r",
        f"{spawn_rate:g}",
        "-t",
        f"{args.duration}s",
        "--stop-timeout",
        "70",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    since = timezone.now()
    log(f"{users} users for {args.duration} s (spawn rate {spawn_rate:g}/s)")
    started, cpu_before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(workdir / f"locust-{users}.log", "wb") as out:
        code = subprocess.run(
            command, cwd=REPO, env=locust_env, stdout=out, stderr=subprocess.STDOUT
        ).returncode
    elapsed, cpu_after = time.monotonic() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    # the load generator shares the machine: how much of it Locust itself took
    locust_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    load_average = os.getloadavg()[0]
    stats = read_stats(prefix)
    recorded = set(runs_file.read_text().split()) if runs_file.exists() else set()
    runs = drain_runs(since, recorded, args.drain_timeout)
    total = stats["total"]
    exceptions = sum(e["count"] for e in stats["exceptions"])
    errors = total["failures"] + exceptions + (1 if code else 0)
    return {
        "users": users,
        "duration_s": args.duration,
        "elapsed_s": round(elapsed, 1),
        "requests": total["requests"],
        "rps": total["rps"],
        "p50_ms": total["median"],
        "p95_ms": total["p95"],
        "p99_ms": total["p99"],
        "max_ms": total["max"],
        "errors": errors,
        "error_rate": errors / total["requests"] if total["requests"] else 0.0,
        "locust_cpu_s": round(locust_cpu, 1),
        "load_average_1m": round(load_average, 1),
        "locust_exit_code": code,
        "failures": stats["failures"],
        "exceptions": stats["exceptions"],
        "endpoints": stats["endpoints"],
        "runs": runs,
    }


def fmt(value, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(results: list[dict]) -> str:
    head = (
        "users",
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "error rate",
        "runs submitted",
        "runs decided",
        "runs lost",
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    for r in results:
        runs = r["runs"]
        lines.append(
            "| "
            + " | ".join(
                [
                    str(r["users"]),
                    str(r["requests"]),
                    fmt(r["rps"], 1),
                    fmt(r["p50_ms"]),
                    fmt(r["p95_ms"]),
                    fmt(r["p99_ms"]),
                    str(r["errors"]),
                    f"{r['error_rate']:.2%}",
                    str(runs["submitted"]),
                    str(runs["decided"]),
                    str(runs["lost"] + runs["run_errors"] + runs["not_stored"]),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def endpoint_table(result: dict) -> str:
    lines = [
        f"{result['users']} users, by request:",
        f"  {'request':48s} {'count':>7s} {'fail':>5s} {'p50':>6s} {'p95':>6s} {'p99':>6s} {'max':>7s}",
    ]
    for name, e in sorted(result["endpoints"].items()):
        lines.append(
            f"  {name:48s} {e['requests']:7d} {e['failures']:5d} {fmt(e['median']):>6s} "
            f"{fmt(e['p95']):>6s} {fmt(e['p99']):>6s} {fmt(e['max']):>7s}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    # stopped from outside: stop gunicorn, the worker and Locust too (the finally blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    steps = [int(n) for n in args.users.split(",") if n.strip()]
    accounts = args.accounts or max(steps)
    password = secrets.token_urlsafe(18)
    with tempfile.TemporaryDirectory(prefix="rules-console-load-") as tmp:
        workdir = Path(tmp)
        queue = f"load-{uuid.uuid4().hex[:12]}"
        env = production_env(args, workdir, queue)
        django_setup(env)
        from django.conf import settings

        vendor = prepare_database(args, accounts, password)
        broker = settings.CELERY_BROKER_URL.split("://")[0]
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        web = Process(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "pipelines_admin.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.web_workers),
                "--threads",
                str(args.web_threads),
                "--log-level",
                "warning",
                "--access-logfile",
                str(workdir / "access.log"),
            ],
            env,
            workdir / "gunicorn.log",
        )
        worker = Process(
            "celery worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "pipelines_admin",
                "worker",
                "--loglevel=info",
                f"--concurrency={args.worker_concurrency}",
                "-Q",
                queue,
                "--hostname",
                f"{queue}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            env,
            workdir / "worker.log",
        )
        processes = [web, worker]
        results: list[dict] = []
        try:
            wait_until(lambda: healthy(base_url), 60, "the console's /healthz", processes)
            wait_until(lambda: " ready." in worker.log_text(), 60, "the worker", processes)
            log(
                f"console on {base_url} ({args.web_workers} gunicorn workers x {args.web_threads} threads), "
                f"worker x {args.worker_concurrency}, database {vendor}, broker {broker}"
            )
            credentials, signed_in = sign_in_all(base_url, accounts, password, args.sign_in_concurrency)
            log(
                f"{len(credentials)}/{accounts} accounts signed in through the login form in {signed_in['elapsed_s']} s "
                f"({signed_in['concurrency']} at a time): login p50 {fmt(signed_in['p50_ms'])} ms, "
                f"p95 {fmt(signed_in['p95_ms'])} ms"
            )
            for message in signed_in["error_messages"]:
                log(f"  sign-in error: {message}")
            if not credentials:
                raise SystemExit("no account could sign in")
            credentials_file = workdir / "credentials.json"
            credentials_file.write_text(json.dumps(credentials))
            for users in steps:
                result = run_step(args, users, base_url, env, workdir, credentials_file)
                results.append(result)
                log(
                    f"{users} users: {result['requests']} requests, {result['errors']} errors, "
                    f"{result['runs']['decided']}/{result['runs']['submitted']} runs decided"
                )
                for failure in result["failures"][:10]:
                    log(f"  failure x{failure['count']}: {failure['request']}: {failure['error']}")
                for exception in result["exceptions"][:5]:
                    log(f"  exception x{exception['count']}: {exception['message']}")
            for process in processes:
                if not process.alive():
                    raise SystemExit(f"{process.name} died during the load:\n{process.log_text()[-3000:]}")
            signed_in["revoke_errors"] = revoke_tokens(base_url, credentials)
        finally:
            for process in processes:
                process.stop()
            if args.keep_logs:
                import shutil

                args.keep_logs.mkdir(parents=True, exist_ok=True)
                for path in workdir.glob("*.log"):
                    shutil.copy(path, args.keep_logs / path.name)
        # errors the clients may not see: a worker timeout, an exception in a task
        server_errors = [
            f"{process.name}: {line}"
            for process in processes
            for line in process.log_text().splitlines()
            if any(mark in line for mark in ("ERROR", "CRITICAL", "Traceback"))
        ]
        for line in server_errors[:20]:
            log(line)

    summary = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "database": vendor,
        "broker": broker,
        "web_workers": args.web_workers,
        "web_threads": args.web_threads,
        "worker_concurrency": args.worker_concurrency,
        "duration_s": args.duration,
        "ramp_s": args.ramp,
        "server_errors": len(server_errors),
        "sign_in": signed_in,
        "steps": results,
    }
    print(
        f"\nLoad test: {vendor} + {broker}, {os.cpu_count()} CPUs, gunicorn {args.web_workers}x{args.web_threads}, "
        f"Celery worker x{args.worker_concurrency}, {args.duration} s per step\n"
    )
    print(table(results))
    print(
        f"\nSigning in before the steps: {signed_in['accounts']} accounts through the login form, "
        f"{signed_in['concurrency']} at a time: {signed_in['per_second']} logins/s, login p50 "
        f"{fmt(signed_in['p50_ms'])} ms, p95 {fmt(signed_in['p95_ms'])} ms, max {fmt(signed_in['max_ms'])} ms, "
        f"{signed_in['errors']} errors; {signed_in['revoke_errors']} errors revoking the tokens after\n"
    )
    for result in results:
        print(endpoint_table(result))
        print(f"  runs: {result['runs']}")
        print(
            f"  Locust took {result['locust_cpu_s']} CPU-seconds in {result['elapsed_s']} s; "
            f"1-minute load average at the end {result['load_average_1m']}\n"
        )
    if args.json_out:
        args.json_out.write_text(json.dumps(summary, indent=2))
    bad = [
        r
        for r in results
        if r["errors"] or r["runs"]["lost"] or r["runs"]["run_errors"] or r["runs"]["not_stored"]
    ]
    if bad or server_errors or signed_in["errors"] or signed_in["revoke_errors"]:
        print("FAILED: errors, lost runs or server errors (see above)")
        return 1
    print("OK: no errors, every submitted run decided")
    return 0


if __name__ == "__main__":
    sys.exit(main())
