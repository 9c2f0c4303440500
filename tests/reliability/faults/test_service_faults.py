"""An outside service that fails: the generic HTTP adapter against a vendor on loopback
that answers 503, answers garbage, answers too late, drops the connection, or fails
twice and then answers.

The rule retries with exponential backoff as its `retry` settings say, then ends in a
clear `error` (or `timeout`, when its own time limit is the shorter), naming what went
wrong. The server counts the requests it got: exactly one per attempt, never more, and
a run delivered twice to the worker calls the service no more than once per attempt
of its first delivery."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import rules_engine
from rules_engine.services import registry_from_spec

MAX_ATTEMPTS = 3
BACKOFF = 0.05  # seconds before the 2nd attempt; 0.1 before the 3rd
RETRY = {"max_attempts": MAX_ATTEMPTS, "backoff_seconds": BACKOFF, "backoff_multiplier": 2}
VERIFIED = {"verified": True, "confidence": 0.93, "verification_id": "v-1", "reasons": []}
APPLICANT = {
    "name": "Maria Garcia",
    "email": "maria.garcia@example.com",
    "date_of_birth": "1990-04-12",
    "ssn": "123-45-6789",
    "address": "350 Fifth Avenue",
    "city": "New York",
    "state": "NY",
    "zip_code": "10118",
}


class Vendor(BaseHTTPRequestHandler):
    """A KYC vendor whose behaviour is the first part of the path: /ok, /s503, /garbage,
    /list, /slow (answers after 1 s), /reset (closes the connection), /flaky2 (503 twice,
    then answers)."""

    requests: Counter = Counter()
    lock = threading.Lock()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        kind = self.path.strip("/").split("/")[0]
        with Vendor.lock:
            Vendor.requests[kind] += 1
            count = Vendor.requests[kind]
        if kind == "slow":
            time.sleep(1.0)
        if kind == "s503" or kind == "flaky2" and count <= 2:
            self._send(503, b'{"error": "maintenance"}')
        elif kind == "garbage":
            self._send(200, b"<html>Service temporarily unavailable</html>")
        elif kind == "list":
            self._send(200, b"[1, 2, 3]")
        elif kind == "reset":
            self.close_connection = True
            self.connection.shutdown(2)
        else:
            self._send(200, json.dumps(VERIFIED).encode())

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format, *args):  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def vendor_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Vendor)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def fresh_counts():
    Vendor.requests.clear()


def kyc_pipeline(vendor_url: str, kind: str, *, adapter_timeout=0.3, rule: dict | None = None):
    config = {
        "stages": {
            "compliance": {
                "rules": {
                    "kyc": {
                        "class": "KYCIdentityRule",
                        "params": {"kyc_service": "service:KYCService:vendor"},
                        "retry": RETRY,
                        **(rule or {}),
                    }
                }
            }
        }
    }
    services = registry_from_spec(
        {
            "bindings": {
                "KYCService:vendor": {
                    "type": "http",
                    "url": f"{vendor_url}/{kind}",
                    "timeout_seconds": adapter_timeout,
                }
            }
        }
    )
    return rules_engine.compile_pipeline(config, services)


@pytest.mark.parametrize(
    "kind,message",
    [
        ("s503", "HTTP 503"),
        ("garbage", "not valid JSON"),
        ("list", "not an object"),
        ("slow", "no answer within 0.3s"),
        ("reset", "KYCService:vendor"),
    ],
)
def test_http_service__fails_every_time__retried_with_backoff_then_a_clear_error(vendor_url, kind, message):
    # Given a KYC rule retried 3 times (backoff 0.05 s, then 0.1 s) against a failing vendor
    with kyc_pipeline(vendor_url, kind) as pipeline:
        started = time.perf_counter()
        # When an application runs
        rule = pipeline.run(APPLICANT).rule("kyc")
        elapsed = time.perf_counter() - started
    # Then the rule ends in error after 3 attempts, saying what went wrong
    assert (rule.outcome, rule.attempts) == ("error", MAX_ATTEMPTS), rule
    assert message in rule.message, rule.message
    # the vendor got exactly one request per attempt
    assert Vendor.requests[kind] == MAX_ATTEMPTS
    # and the attempts were spaced by the backoff
    assert elapsed >= BACKOFF + 2 * BACKOFF


def test_http_service__fails_twice_then_answers__passes_on_the_third_attempt(vendor_url):
    # Given a vendor that answers 503 twice, then verifies the applicant
    with kyc_pipeline(vendor_url, "flaky2") as pipeline:
        rule = pipeline.run(APPLICANT).rule("kyc")
    # Then the third attempt passes, and nothing was asked a fourth time
    assert (rule.outcome, rule.attempts) == ("pass", 3), rule
    assert Vendor.requests["flaky2"] == 3


def test_http_service__no_retry_settings__one_request_one_error(vendor_url):
    # Given the same rule without retry settings
    config = {
        "stages": {
            "compliance": {
                "rules": {
                    "kyc": {
                        "class": "KYCIdentityRule",
                        "params": {"kyc_service": "service:KYCService:vendor"},
                    }
                }
            }
        }
    }
    services = registry_from_spec(
        {"bindings": {"KYCService:vendor": {"type": "http", "url": f"{vendor_url}/s503"}}}
    )
    with rules_engine.compile_pipeline(config, services) as pipeline:
        rule = pipeline.run(APPLICANT).rule("kyc")
    # Then one request, and the error
    assert (rule.outcome, rule.attempts) == ("error", 1)
    assert Vendor.requests["s503"] == 1


def test_http_service__rule_time_limit_shorter_than_the_vendor__timeout_outcome_each_attempt(vendor_url):
    # Given a vendor answering after 1 s, an adapter waiting 5 s, and a rule limited to 0.2 s
    with kyc_pipeline(vendor_url, "slow", adapter_timeout=5, rule={"timeout_seconds": 0.2}) as pipeline:
        started = time.perf_counter()
        rule = pipeline.run(APPLICANT).rule("kyc")
        elapsed = time.perf_counter() - started
    # Then the rule is a timeout after its attempts, each abandoned at 0.2 s, and the run
    # did not wait for the vendor
    assert (rule.outcome, rule.attempts) == ("timeout", MAX_ATTEMPTS), rule
    assert elapsed < 1.5
    time.sleep(0.1)
    assert Vendor.requests["slow"] == MAX_ATTEMPTS


# ------------------------------------------------------------- through a run


@pytest.mark.django_db
def test_run__http_binding_down__error_run_then_a_second_delivery_calls_nobody(
    vendor_url, released, environments, editor, publisher
):
    # Given development bound to a vendor that answers 503, and a pipeline whose KYC rule retries 3 times
    from pipelines_admin.audit.models import AuditEvent
    from pipelines_admin.configs import services as config_services
    from pipelines_admin.runs import services
    from pipelines_admin.runs.models import MetricRollup

    development = environments["development"]
    config_services.service_binding_set(
        environment=development,
        interface="KYCService",
        name="vendor",
        actor=publisher,
        kind="http",
        url=f"{vendor_url}/s503",
        timeout_seconds=1,
    )
    document = released.versions.get().document
    document["stages"]["compliance"] = {
        "rules": {
            "kyc": {
                "class": "KYCIdentityRule",
                "params": {"kyc_service": "service:KYCService:vendor"},
                "retry": RETRY,
            }
        }
    }
    version = config_services.config_version_create(
        pipeline=released,
        document=document,
        base_version=released.versions.get(),
        author=editor,
        message="KYC through the vendor",
    )
    run = services.run_submit(
        pipeline=released, environment=development, record=APPLICANT, actor=editor, version=version
    )
    # When the worker executes it, and the broker delivers it a second time
    services.run_execute(run.pk)
    services.run_execute(run.pk)
    # Then the run is an error whose KYC rule tried 3 times, each a request to the vendor, and no more
    run.refresh_from_db()
    kyc = [r for s in run.result["stages"] for r in s["rules"] if r["id"] == "kyc"][0]
    assert (run.status, run.attempts, kyc["outcome"], kyc["attempts"]) == ("error", 1, "error", MAX_ATTEMPTS)
    assert "HTTP 503" in kyc["message"]
    assert Vendor.requests["s503"] == MAX_ATTEMPTS
    # and it was recorded once: one audit event, counted once in the metrics
    assert AuditEvent.objects.filter(action="run.completed", object_id=str(run.pk)).count() == 1
    whole_run = MetricRollup.objects.filter(
        pipeline=released, grain=MetricRollup.Grain.FIVE_MINUTES, stage="", rule=""
    )
    assert sum(row.total for row in whole_run) == 1
