"""Locust users for the load test: people in the console and API clients.

bench/load/run_load.py runs it: it starts the server, the worker and the services,
signs every load account in through the login form once, and hands this file the
sessions and API tokens in LOAD_CREDENTIALS_FILE (JSON: username, sessionid, csrftoken,
token). Virtual user n acts as account n (modulo their number), as a person who is
already signed in: a console session lasts for days, and signing in costs a password
hash by design (the driver measures signing in on its own).

- ConsoleUser (3 in 4) browses: pipelines, a pipeline, runs, a run, dashboards, audit,
  the try-run page, loading each page's CSS and JavaScript the first time it sees them
  (a browser's cache), and submits a test application through the try-run form with
  its CSRF token, then follows the run the way the page does (htmx, every second)
  until it has a decision.
- ApiUser (1 in 4) submits applications with `POST /api/v1/runs/` and its personal API
  token, polls each until it has a decision, and lists runs and pipelines.

Each user thinks for LOAD_WAIT_MIN..LOAD_WAIT_MAX seconds (default 0.5..1.5) between
tasks. A response counts as an error when its status is not the expected one or its
body is not what the page shows. The id of every run submitted is appended to
LOAD_RUNS_FILE (when set), so that the driver can check that each one was decided.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from pathlib import Path

import gevent
from locust import HttpUser, between, events, task

REPO = Path(__file__).resolve().parent.parent.parent
SAMPLES = [
    s["record"] for s in json.loads((REPO / "rules_engine/examples/applications.json").read_text("utf-8"))
]
PIPELINES = ("customer-onboarding", "basic-onboarding")
ENVIRONMENT = os.environ.get("LOAD_ENVIRONMENT", "development")
CREDENTIALS_FILE = os.environ.get("LOAD_CREDENTIALS_FILE", "")
RUNS_FILE = os.environ.get("LOAD_RUNS_FILE", "")
POLL_SECONDS = 1.0
POLL_LIMIT = 60  # a run still undecided after a minute of polling counts as an error

RUN_LINK = re.compile(r'href="/runs/([0-9a-f-]{36})/"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STATIC_LINK = re.compile(r'(?:href|src)="(/static/[^"]+)"')
RUN_PATH = re.compile(r"/runs/([0-9a-f-]{36})/$")
STILL_POLLING = 'hx-trigger="every 1s"'

CREDENTIALS: list[dict] = json.loads(Path(CREDENTIALS_FILE).read_text()) if CREDENTIALS_FILE else []
_user_numbers = itertools.count()
_runs_log = open(RUNS_FILE, "a", encoding="ascii") if RUNS_FILE else None


@events.test_start.add_listener
def check_credentials(environment, **kwargs):
    if not CREDENTIALS:
        raise SystemExit("LOAD_CREDENTIALS_FILE names no credentials: run bench/load/run_load.py.")


def record_run(run_id: str) -> None:
    if _runs_log is not None:
        _runs_log.write(run_id + "\n")
        _runs_log.flush()


def application() -> dict:
    record = dict(random.choice(SAMPLES))
    record["application_id"] = f"load-{random.randrange(10**9):09d}"
    return record


class LoadUser(HttpUser):
    abstract = True
    wait_time = between(
        float(os.environ.get("LOAD_WAIT_MIN", "0.5")), float(os.environ.get("LOAD_WAIT_MAX", "1.5"))
    )

    def on_start(self):
        self.account = CREDENTIALS[next(_user_numbers) % len(CREDENTIALS)]

    def expect(self, response, status: int, *, contains: str | None = None) -> bool:
        """Mark the response failed unless it has `status` (and `contains` in its body)."""
        if response.status_code != status:
            reason = f"no answer: {response.error!r}" if response.status_code == 0 else response.status_code
            response.failure(f"{reason} (expected {status})")
            return False
        if contains is not None and contains not in response.text:
            response.failure(f"the answer lacks {contains!r}")
            return False
        response.success()
        return True


class ConsoleUser(LoadUser):
    """A person in the browser console, signed in."""

    weight = 3

    def on_start(self):
        super().on_start()
        self.client.cookies.set("sessionid", self.account["sessionid"])
        self.client.cookies.set("csrftoken", self.account["csrftoken"])
        self.run_ids: list[str] = []
        self.cached: set[str] = set()  # static files this "browser" has loaded already

    def fetch_static(self, page: str):
        """What a browser loads the first time a page names it, then keeps in its cache."""
        for path in sorted(set(STATIC_LINK.findall(page)) - self.cached):
            self.cached.add(path)
            with self.client.get(path, name="/static/[file]", catch_response=True) as response:
                self.expect(response, 200)

    def page(self, path: str, name: str, contains: str, *, htmx: bool = False):
        headers = {"HX-Request": "true"} if htmx else {}
        with self.client.get(path, name=name, headers=headers, catch_response=True) as response:
            if not self.expect(response, 200, contains=contains):
                return None
        if not htmx:
            self.fetch_static(response.text)
        return response

    @task(3)
    def pipelines(self):
        self.page("/", "/", "customer-onboarding")

    @task(2)
    def pipeline_detail(self):
        slug = random.choice(PIPELINES)
        self.page(f"/pipelines/{slug}/", "/pipelines/[slug]/", slug)

    @task(3)
    def runs(self):
        response = self.page("/runs/", "/runs/", 'id="run-table"')
        if response is not None:
            self.run_ids = RUN_LINK.findall(response.text)[:20] or self.run_ids

    @task(3)
    def run_detail(self):
        if self.run_ids:
            self.page(f"/runs/{random.choice(self.run_ids)}/", "/runs/[id]/", 'id="run-result"')

    @task(1)
    def dashboards(self):
        self.page("/dashboards/", "/dashboards/", "<h1>Dashboards</h1>")

    @task(1)
    def audit(self):
        self.page("/audit/", "/audit/", 'id="event-table"')

    @task(1)
    def try_run_page(self):
        self.page(
            f"/pipelines/{random.choice(PIPELINES)}/try/", "/pipelines/[slug]/try/", "csrfmiddlewaretoken"
        )

    @task(2)
    def try_run_submit(self):
        slug = random.choice(PIPELINES)
        form = self.page(f"/pipelines/{slug}/try/", "/pipelines/[slug]/try/", "csrfmiddlewaretoken")
        if form is None:
            return
        token = CSRF_INPUT.search(form.text)
        data = {
            "csrfmiddlewaretoken": token.group(1) if token else "",
            "environment": ENVIRONMENT,
            "version": "",
            "record": json.dumps(application()),
        }
        with self.client.post(
            f"/pipelines/{slug}/try/",
            name="/pipelines/[slug]/try/ (submit)",
            data=data,
            allow_redirects=False,
            catch_response=True,
            headers={"Referer": f"{self.client.base_url}/pipelines/{slug}/try/"},
        ) as response:
            if not self.expect(response, 302):
                return
            match = RUN_PATH.search(response.headers.get("Location", ""))
            if not match:
                response.failure(f"sent to {response.headers.get('Location')!r}, not to a run")
                return
        run_id = match.group(1)
        record_run(run_id)
        self.page(f"/runs/{run_id}/", "/runs/[id]/", 'id="run-result"')
        # the run page asks for its result every second (htmx) until the run is decided
        for attempt in range(1, POLL_LIMIT + 1):
            gevent.sleep(POLL_SECONDS)
            with self.client.get(
                f"/runs/{run_id}/",
                name="/runs/[id]/ (htmx poll)",
                headers={"HX-Request": "true"},
                catch_response=True,
            ) as response:
                if (
                    not self.expect(response, 200, contains='id="run-result"')
                    or STILL_POLLING not in response.text
                ):
                    return
                if attempt == POLL_LIMIT:
                    response.failure(f"run {run_id} still undecided after {POLL_LIMIT} polls")


class ApiUser(LoadUser):
    """A client of the REST API with a personal token."""

    weight = 1

    def on_start(self):
        super().on_start()
        self.client.headers["Authorization"] = f"Bearer {self.account['token']}"

    @task(3)
    def submit_and_follow(self):
        payload = {"pipeline": random.choice(PIPELINES), "environment": ENVIRONMENT, "record": application()}
        with self.client.post(
            "/api/v1/runs/", name="/api/v1/runs/ (submit)", json=payload, catch_response=True
        ) as response:
            if not self.expect(response, 202):
                return
            run = response.json()
        record_run(run["id"])
        for attempt in range(1, POLL_LIMIT + 1):
            gevent.sleep(POLL_SECONDS)
            with self.client.get(
                f"/api/v1/runs/{run['id']}/", name="/api/v1/runs/[id]/", catch_response=True
            ) as response:
                if not self.expect(response, 200) or response.json()["status"] not in {"queued", "running"}:
                    return
                if attempt == POLL_LIMIT:
                    response.failure(f"run {run['id']} still undecided after {POLL_LIMIT} polls")

    @task(1)
    def list_runs(self):
        with self.client.get(
            f"/api/v1/runs/?environment={ENVIRONMENT}", name="/api/v1/runs/", catch_response=True
        ) as response:
            self.expect(response, 200, contains='"results"')

    @task(1)
    def list_pipelines(self):
        with self.client.get(
            "/api/v1/pipelines/", name="/api/v1/pipelines/", catch_response=True
        ) as response:
            self.expect(response, 200, contains="customer-onboarding")
