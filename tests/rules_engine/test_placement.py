"""Where rules run: the calling thread unless their I/O can overlap or only abandoning
can bound it; and durations that are the rule's own time."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import rules_engine
from rules_engine.rules import data_quality, parsed_values
from rules_engine.services import HttpServiceAdapter, ServiceRegistry, simulated_registry
from rules_engine.services.simulated import SimulatedKYCService, SimulatedService
from tests.rules_engine.testing_rules import rules_for_tests, services_for_tests

ONBOARDING = Path(rules_engine.__file__).parent / "examples" / "customer_onboarding.json"
APPLICANT = {
    "name": "Ann Marie Smith",
    "email": "ann.smith@example.com",
    "phone": "(212) 555-0100",
    "address": "1 Main St",
    "city": "New York",
    "state": "NY",
    "zip_code": "10001",
    "date_of_birth": "1990-04-01",
    "ssn": "123-45-6789",
    "annual_income": 90000,
    "country": "US",
}


@pytest.fixture
def service_threads(monkeypatch):
    """The thread of every simulated service call, by interface."""
    seen: dict[str, set[int]] = {}
    enter = SimulatedService._enter

    def recording_enter(self, operation):
        seen.setdefault(self.interface, set()).add(threading.get_ident())
        return enter(self, operation)

    monkeypatch.setattr(SimulatedService, "_enter", recording_enter)
    return seen


@pytest.fixture
def email_threads(monkeypatch):
    """The thread of every email validation, and whether it asked for the MX look-up
    (answered without the network)."""
    seen: list[tuple[int, bool]] = []
    validate = data_quality.validate_email

    def recording_validate(value, check_deliverability=False, timeout=None):
        seen.append((threading.get_ident(), check_deliverability))
        return validate(value, check_deliverability=False)

    # the offline check reads through parsed_values (one check per address); the MX
    # look-up is the rule's own call
    parsed_values.forget_all()
    monkeypatch.setattr(parsed_values, "validate_email", recording_validate)
    monkeypatch.setattr(data_quality, "validate_email", recording_validate)
    yield seen
    parsed_values.forget_all()


def test_run__onboarding_on_zero_latency_services__every_rule_runs_on_the_calling_thread(
    service_threads, email_threads
):
    # Given the onboarding pipeline (parallel stages, check_mx_record on) on simulated
    # services without latency
    config = rules_engine.load_config(ONBOARDING)
    with rules_engine.compile_pipeline(config, simulated_registry()) as pipeline:
        # When a record runs without network look-ups
        result = pipeline.run(APPLICANT)
    # Then every service call and the email check happened on the calling thread
    assert result.status == "passed"
    here = threading.get_ident()
    assert len(service_threads) == 10
    assert all(threads == {here} for threads in service_threads.values()), service_threads
    assert email_threads == [(here, False)]


def test_run__email_mx_check_with_network_allowed__runs_on_the_pool(email_threads):
    # Given the email rule with check_mx_record in a sequential stage
    config = {
        "stages": {
            "dq": {"rules": {"email": {"class": "EmailFormatRule", "params": {"check_mx_record": True}}}}
        }
    }
    with rules_engine.compile_pipeline(config) as pipeline:
        # When one run allows network look-ups and one does not
        offline = pipeline.run({"email": "a@example.com"})
        online = pipeline.run({"email": "a@example.com"}, context={"allow_network": True})
    # Then the look-up that may wait on DNS runs where its timeout can abandon it,
    # and the run without it stays on the calling thread
    here = threading.get_ident()
    assert offline.rule("email").outcome == online.rule("email").outcome == "pass"
    assert email_threads[0] == (here, False)
    assert email_threads[1][0] != here and email_threads[1][1] is True


class RecordingKYC(SimulatedKYCService):
    """A simulated KYC service that notes the thread of each call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.threads: list[int] = []

    def verify_identity(self, payload):
        self.threads.append(threading.get_ident())
        return super().verify_identity(payload)


def kyc_config(parallel: bool, timeout: float | None = None, stage_timeout: float | None = None) -> dict:
    rule = {"class": "KYCIdentityRule", "params": {"kyc_service": "service:KYCService:vendor"}}
    if timeout is not None:
        rule["timeout_seconds"] = timeout
    stage = {"parallel_execution": parallel, "rules": {"kyc": rule, "other": {"class": "KYCIdentityRule"}}}
    if stage_timeout is not None:
        stage["timeout_seconds"] = stage_timeout
    return {"stages": {"compliance": stage}}


def test_run__simulated_service_without_latency_in_parallel_stage__takes_no_pool_hop():
    # Given a parallel stage whose KYC service answers at once
    kyc = RecordingKYC("vendor")
    registry = simulated_registry().bind("KYCService", "vendor", kyc)
    with rules_engine.compile_pipeline(kyc_config(parallel=True), registry) as pipeline:
        # When a record runs
        result = pipeline.run(APPLICANT)
    # Then the call was made on the calling thread
    assert result.rule("kyc").outcome == "pass"
    assert kyc.threads == [threading.get_ident()]


def test_run__slow_simulated_service_in_sequential_stage__runs_inline_and_is_cut_at_the_rule_timeout():
    # Given a sequential stage whose KYC service takes 2 s, under a 0.2 s rule timeout
    kyc = RecordingKYC("vendor", latency_ms=2000)
    registry = simulated_registry().bind("KYCService", "vendor", kyc)
    with rules_engine.compile_pipeline(kyc_config(parallel=False, timeout=0.2), registry) as pipeline:
        # When a record runs
        started = time.perf_counter()
        result = pipeline.run(APPLICANT)
        elapsed = time.perf_counter() - started
    # Then the call ran on the calling thread, ended at the rule's deadline, and the
    # rule is a timeout (not a pass, not a plain error)
    verdict = result.rule("kyc")
    assert kyc.threads == [threading.get_ident()]
    assert verdict.outcome == "timeout"
    assert verdict.details["timeout_seconds"] == 0.2
    assert elapsed < 1.0
    assert result.status == "error"


class _SlowHandler(BaseHTTPRequestHandler):
    """Answers a verified identity after 2 s."""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(2.0)
        payload = json.dumps({"verified": True, "confidence": 0.9}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def slow_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class RecordingHttpAdapter(HttpServiceAdapter):
    """The HTTP adapter, noting the thread of each call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.threads: list[int] = []

    def call(self, operation, payload):
        self.threads.append(threading.get_ident())
        return super().call(operation, payload)


@pytest.mark.parametrize(
    ("rule_timeout", "stage_timeout", "expected_message"),
    [(0.3, None, "rule's time limit of 0.3 s"), (None, 0.3, "Stage compliance timed out after 0.3 s")],
)
def test_run__inline_http_call__is_bounded_by_the_rule_and_stage_timeout(
    slow_server, rule_timeout, stage_timeout, expected_message
):
    # Given a sequential stage whose KYC vendor answers over HTTP after 2 s (client
    # timeout 5 s), under a 0.3 s rule or stage timeout
    adapter = RecordingHttpAdapter("KYCService", "vendor", slow_server, timeout_seconds=5)
    registry = simulated_registry().bind("KYCService", "vendor", adapter)
    config = kyc_config(parallel=False, timeout=rule_timeout, stage_timeout=stage_timeout)
    with rules_engine.compile_pipeline(config, registry) as pipeline:
        # When a record runs
        started = time.perf_counter()
        result = pipeline.run(APPLICANT)
        elapsed = time.perf_counter() - started
    # Then the call was made on the calling thread and ended at the deadline
    verdict = result.rule("kyc")
    assert adapter.threads == [threading.get_ident()]
    assert verdict.outcome == "timeout"
    assert expected_message in verdict.message
    assert elapsed < 1.5
    assert result.status == "error"


def test_run__pool_rule_finishing_while_an_inline_rule_runs__duration_is_its_own_time():
    # Given a parallel stage: a 20 ms rule on the pool, then a 300 ms rule inline
    config = {
        "stages": {
            "s": {
                "parallel_execution": True,
                "rules": {
                    "pooled": {"class": "OutcomeRule", "params": {"sleep": 0.02, "blocking": True}},
                    "inline": {"class": "OutcomeRule", "params": {"sleep": 0.3}},
                },
            }
        }
    }
    with rules_engine.compile_pipeline(config, services_for_tests(), rules=rules_for_tests()) as pipeline:
        pipeline.run({})  # start the pool's threads
        # When a record runs (the pool rule finishes long before the inline one)
        result = pipeline.run({}).to_dict()
    # Then the pool rule's duration is its own 20 ms, not the time until the
    # coordinating thread was free to notice
    durations = {rule["id"]: rule["duration_ms"] for rule in result["stages"][0]["rules"]}
    assert 20 <= durations["pooled"] < 150
    assert durations["inline"] >= 300


def test_compile__placements__follow_services_and_stage(slow_server):
    # Given one rule on each kind of service, in a sequential and a parallel stage
    registry = (
        ServiceRegistry()
        .bind("KYCService", "instant", SimulatedKYCService("instant"))
        .bind("KYCService", "slow", SimulatedKYCService("slow", latency_ms=20))
        .bind("KYCService", "http", HttpServiceAdapter("KYCService", "http", slow_server))
        .bind("KYCService", "opaque", lambda payload: {"verified": True, "confidence": 0.9})
    )

    def stage(parallel: bool) -> dict:
        return {
            "parallel_execution": parallel,
            "rules": {
                f"{name}_{'p' if parallel else 's'}": {
                    "class": "KYCIdentityRule",
                    "params": {"kyc_service": f"service:KYCService:{name}"},
                }
                for name in ("instant", "slow", "http", "opaque")
            },
        }

    config = {"stages": {"sequential": stage(False), "parallel": stage(True)}}
    # When it is compiled
    pipeline = rules_engine.compile_pipeline(config, registry)
    from rules_engine.executor.placement import INLINE, INLINE_BOUNDED, POOL

    # Then only waiting calls leave the thread: bounded ones stay in a sequential stage
    where = {rule.rule_id: rule.where for rule in pipeline.rules}
    assert where == {
        "instant_s": INLINE,
        "slow_s": INLINE_BOUNDED,
        "http_s": INLINE_BOUNDED,
        "opaque_s": POOL,
        "instant_p": INLINE,
        "slow_p": POOL,
        "http_p": POOL,
        "opaque_p": POOL,
    }
