"""A real webhook receiver on the loopback interface, checking each delivery the way the
README tells receivers to: the signature (webhooks.signing.verify), the timestamp
window, and a delivery id never seen before."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines_admin.webhooks.signing import verify


@dataclass
class Receiver:
    """What the receiver accepted and refused; `secret` is set once the webhook exists."""

    port: int
    secret: str = ""
    #: the status it answers an accepted delivery with (500: a receiver failing)
    answer: int = 200
    accepted: list[dict] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, why = receiver.check(self.headers, body)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(why.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def check(self, headers, body: bytes) -> tuple[int, str]:
        with self.lock:
            if not verify(
                self.secret, headers.get("X-Pipelines-Timestamp"), headers.get("X-Pipelines-Signature"), body
            ):
                self.refused.append((401, headers.get("X-Pipelines-Delivery", "")))
                return 401, "bad signature or stale timestamp"
            delivery = headers.get("X-Pipelines-Delivery", "")
            if delivery in self.seen:
                self.refused.append((409, delivery))
                return 409, "replayed delivery"
            self.seen.add(delivery)
            if self.answer >= 300:
                return self.answer, "receiver trouble"
            self.accepted.append(
                {"event": headers.get("X-Pipelines-Event"), "delivery": delivery, "body": json.loads(body)}
            )
            return self.answer, "ok"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def receiver():
    running = Receiver(port=0).start()
    yield running
    running.stop()


@pytest.fixture
def down_receiver():
    """A receiver not started yet: nothing listens on its port until `start()`."""
    waiting = Receiver(port=free_port())
    yield waiting
    waiting.stop()
