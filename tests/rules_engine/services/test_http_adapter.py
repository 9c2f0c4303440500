"""The generic HTTP JSON adapter, against a local http.server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rules_engine.services import (
    HttpServiceAdapter,
    ServiceConfigurationError,
    ServiceHTTPError,
    ServiceResponseError,
    ServiceTimeout,
    ServiceUnavailable,
)


class _Handler(BaseHTTPRequestHandler):
    """Answers by path: /ok/..., /error/..., /garbage/..., /list/..., /slow/..."""

    seen: list[dict] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.seen.append(
            {
                "path": self.path,
                "body": body,
                "authorization": self.headers.get("Authorization"),
                "content_type": self.headers.get("Content-Type"),
            }
        )
        kind = self.path.strip("/").split("/")[0]
        if kind == "flaky":  # fails with 503 until it has been asked `n` times (the path's second part)
            wanted = int(self.path.strip("/").split("/")[1])
            if sum(1 for seen in _Handler.seen if seen["path"] == self.path) < wanted:
                self._send(503, b'{"error": "busy"}')
                return
        if kind == "refuse":
            self._send(400, b'{"error": "bad request"}')
            return
        if kind == "slow":
            time.sleep(1.0)
        if kind == "error":
            self._send(500, b'{"error": "boom"}')
        elif kind == "garbage":
            self._send(200, b"<html>not json")
        elif kind == "list":
            self._send(200, b"[1, 2]")
        else:
            self._send(200, json.dumps({"verified": True, "confidence": 0.9, "echo": body}).encode())

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
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_http_adapter__ok_answer__posts_operation_and_payload_to_operation_path(server):
    # Given an adapter for a KYC vendor at /ok
    adapter = HttpServiceAdapter("KYCService", "jumio", f"{server}/ok/", timeout_seconds=2)
    # When its interface operation is called
    answer = adapter.verify_identity({"applicant": {"name": "Maria"}})
    # Then it POSTed {"operation", "payload"} as JSON to <url>/<operation> and returned the object
    request = _Handler.seen[-1]
    assert request["path"] == "/ok/verify_identity"
    assert request["body"] == {"operation": "verify_identity", "payload": {"applicant": {"name": "Maria"}}}
    assert request["content_type"] == "application/json"
    assert answer["verified"] is True


def test_http_adapter__append_operation_off__posts_to_the_url_itself(server):
    # Given append operation off; When http adapter runs; Then it posts to the url itself
    adapter = HttpServiceAdapter("SanctionsService", "wc", f"{server}/ok/screening", append_operation=False)
    adapter.screen({"name": "x"})
    assert _Handler.seen[-1]["path"] == "/ok/screening"


def test_http_adapter__secret_env__is_read_at_call_time_and_sent_as_bearer(server, monkeypatch):
    # Given the secret's variable set only after the adapter was built
    adapter = HttpServiceAdapter("KYCService", "jumio", f"{server}/ok", secret_env="JUMIO_API_KEY")
    monkeypatch.setenv("JUMIO_API_KEY", "s3cret-value")
    # When called
    adapter.verify_identity({})
    # Then the header carries it, and the adapter itself holds no copy of it
    assert _Handler.seen[-1]["authorization"] == "Bearer s3cret-value"
    assert "s3cret-value" not in repr(adapter) and "s3cret-value" not in repr(vars(adapter))


def test_http_adapter__secret_env_unset__raises_configuration_error_naming_the_variable(server, monkeypatch):
    # Given secret env unset; When http adapter runs; Then it raises configuration error naming the variable
    monkeypatch.delenv("MISSING_KEY_FOR_TEST", raising=False)
    adapter = HttpServiceAdapter("KYCService", "jumio", f"{server}/ok", secret_env="MISSING_KEY_FOR_TEST")
    with pytest.raises(ServiceConfigurationError, match="MISSING_KEY_FOR_TEST"):
        adapter.verify_identity({})


def test_http_adapter__http_500__raises_http_error_with_status(server):
    # Given http 500; When http adapter runs; Then it raises http error with status
    adapter = HttpServiceAdapter("KYCService", "jumio", f"{server}/error")
    with pytest.raises(ServiceHTTPError, match="HTTP 500") as caught:
        adapter.verify_identity({})
    assert caught.value.status == 500 and isinstance(caught.value, ServiceUnavailable)


def test_http_adapter__garbage_body__raises_response_error(server):
    # Given garbage body; When http adapter runs; Then it raises response error
    adapter = HttpServiceAdapter("KYCService", "jumio", f"{server}/garbage")
    with pytest.raises(ServiceResponseError, match="not valid JSON"):
        adapter.verify_identity({})


def test_http_adapter__json_but_not_object__raises_response_error(server):
    # Given json but not object; When http adapter runs; Then it raises response error
    adapter = HttpServiceAdapter("KYCService", "jumio", f"{server}/list")
    with pytest.raises(ServiceResponseError, match="not an object"):
        adapter.verify_identity({})


def test_http_adapter__slow_server__raises_timeout(server):
    # Given slow server; When http adapter runs; Then it raises timeout
    adapter = HttpServiceAdapter("KYCService", "jumio", f"{server}/slow", timeout_seconds=0.2)
    started = time.perf_counter()
    with pytest.raises(ServiceTimeout, match="no answer within 0.2s"):
        adapter.verify_identity({})
    assert time.perf_counter() - started < 0.9


def test_http_adapter__call_deadline__ends_a_slow_call_there(server):
    # Given a slow server and a 5 s client timeout, under a call deadline 0.2 s away
    from rules_engine.services.interfaces import call_deadline

    adapter = HttpServiceAdapter("KYCService", "jumio", f"{server}/slow", timeout_seconds=5)
    started = time.perf_counter()
    # When the adapter is called; Then it gives up at the deadline
    with call_deadline(started + 0.2), pytest.raises(ServiceTimeout, match="no answer within"):
        adapter.verify_identity({})
    assert 0.2 <= time.perf_counter() - started < 0.9


def test_http_adapter__call_deadline__starts_no_retry_after_it(server):
    # Given a failing server and retries 1 s apart, under a call deadline 0.3 s away
    from rules_engine.services.interfaces import call_deadline

    adapter = HttpServiceAdapter(
        "KYCService", "jumio", f"{server}/error", retries=3, retry_backoff_seconds=1.0
    )
    started = time.perf_counter()
    # When the adapter is called; Then the last failure is raised at the deadline
    with call_deadline(started + 0.3), pytest.raises(ServiceHTTPError):
        adapter.verify_identity({})
    assert 0.3 <= time.perf_counter() - started < 0.9


def test_http_adapter__nothing_listening__raises_unavailable():
    # Given nothing listening; When http adapter runs; Then it raises unavailable
    adapter = HttpServiceAdapter("KYCService", "jumio", "http://127.0.0.1:9/kyc", timeout_seconds=1)
    with pytest.raises(ServiceUnavailable):
        adapter.verify_identity({})


def test_http_adapter__unknown_operation__is_an_attribute_error():
    # Given unknown operation; When http adapter runs; Then it is an attribute error
    adapter = HttpServiceAdapter("KYCService", "jumio", "http://127.0.0.1:9")
    assert not hasattr(adapter, "screen")
    with pytest.raises(AttributeError):
        adapter.send({})


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"interface": "KYCServce", "url": "http://x"}, "unknown service interface"),
        ({"interface": "KYCService", "url": "ftp://x"}, "must start with http"),
    ],
)
def test_http_adapter__bad_construction__raises_value_error(kwargs, message):
    # Given bad construction; When http adapter runs; Then it raises value error
    with pytest.raises(ValueError, match=message):
        HttpServiceAdapter(kwargs["interface"], "n", kwargs["url"])


def test_http_adapter__retries__transient_failures_sent_again_until_an_answer(server):
    # Given an endpoint that answers 503 twice, then 200, and an adapter allowed 2 retries
    _Handler.seen.clear()
    adapter = HttpServiceAdapter(
        "KYCService",
        "vendor",
        f"{server}/flaky/3",
        append_operation=False,
        retries=2,
        retry_backoff_seconds=0.01,
    )
    # When called / Then the third attempt's answer comes back
    assert adapter.call("verify_identity", {"name": "A"})["verified"] is True
    assert len(_Handler.seen) == 3


def test_http_adapter__retries_used_up__last_failure_raised(server):
    _Handler.seen.clear()
    adapter = HttpServiceAdapter(
        "KYCService",
        "vendor",
        f"{server}/flaky/9",
        append_operation=False,
        retries=1,
        retry_backoff_seconds=0.01,
    )
    with pytest.raises(ServiceHTTPError, match="503"):
        adapter.call("verify_identity", {})
    assert len(_Handler.seen) == 2


def test_http_adapter__client_error__not_retried(server):
    # a 4xx says the request itself is wrong: sending it again changes nothing
    _Handler.seen.clear()
    adapter = HttpServiceAdapter(
        "KYCService",
        "vendor",
        f"{server}/refuse",
        append_operation=False,
        retries=3,
        retry_backoff_seconds=0.01,
    )
    with pytest.raises(ServiceHTTPError, match="400"):
        adapter.call("verify_identity", {})
    assert len(_Handler.seen) == 1


def test_http_adapter__longest_call__every_attempt_timing_out_and_the_waits():
    adapter = HttpServiceAdapter(
        "KYCService",
        "vendor",
        "https://kyc.example.com",
        timeout_seconds=2,
        retries=2,
        retry_backoff_seconds=0.5,
    )
    assert adapter.longest_call_seconds() == 2 * 3 + 0.5 + 1.0
    with pytest.raises(ValueError, match="retries"):
        HttpServiceAdapter("KYCService", "vendor", "https://kyc.example.com", retries=6)
