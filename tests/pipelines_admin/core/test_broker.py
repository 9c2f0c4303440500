"""The filesystem broker (pipelines_admin.core.broker): a worker polling the folder only
ever finds whole messages (kombu's own transport lets it take a message file before it
is written, kombu issue #1551), a file that is not a message is dropped without stopping
the consumer, and `filesystem://` selects this transport while Redis is left alone."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from queue import Empty

import pytest
from django.conf import settings
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.exceptions import ChannelError
from kombu.transport import filesystem, redis

from pipelines_admin.celery import app
from pipelines_admin.core import broker
from pipelines_admin.health.tasks import ping

QUEUE = "work"


def message(tag: str, body: str = "") -> dict:
    """A payload as kombu's virtual channels store it (what `_put` receives)."""
    return {"body": body, "properties": {"delivery_tag": tag}, "headers": {}}


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "queue"
    path.mkdir()
    return path


@pytest.fixture
def connect(folder):
    """Connections to the folder through a given transport class, closed afterwards."""
    opened: list[Connection] = []

    def make(transport=broker.Transport) -> Connection:
        conn = Connection(
            "filesystem://",
            transport=transport,
            transport_options={
                "data_folder_in": str(folder),
                "data_folder_out": str(folder),
                "control_folder": str(folder.parent / "control"),
            },
        )
        opened.append(conn)
        return conn

    yield make
    for conn in opened:
        conn.release()


def test_put__a_worker_polls_while_many_messages_are_sent__every_message_arrives_whole(connect, folder):
    # Given a reader polling the queue as fast as it can, as a worker does
    writer, reader = connect().default_channel, connect().default_channel
    count, body = 500, "x" * 65536  # large messages: a write takes long enough to be caught midway
    received: list[dict] = []
    failures: list[str] = []
    sending = threading.Event()
    sending.set()

    def poll() -> None:
        while sending.is_set() or any(name.endswith(f".{QUEUE}.msg") for name in os.listdir(folder)):
            try:
                received.append(reader._get(QUEUE))
            except Empty:
                continue
            except Exception as exc:  # noqa: BLE001 - any error is what the test looks for
                failures.append(type(exc).__name__)

    polling = threading.Thread(target=poll)
    polling.start()
    # When another thread sends many messages into the folder
    try:
        for i in range(count):
            writer._put(QUEUE, message(str(i), body))
    finally:
        sending.clear()
        polling.join(timeout=60)
    # Then every message arrived, once and whole, and reading never failed
    assert failures == []
    assert sorted(int(m["properties"]["delivery_tag"]) for m in received) == list(range(count))
    assert all(m["body"] == body for m in received)
    # and no file of a message being written is left behind
    assert os.listdir(folder) == []


@pytest.mark.parametrize(
    "transport",
    [
        broker.Transport,
        pytest.param(
            filesystem.Transport,
            marks=pytest.mark.xfail(
                strict=True, reason="kombu issue #1551: the message file exists before it is written"
            ),
            id="kombu-stock-transport",
        ),
    ],
)
def test_put__a_worker_looks_at_every_step_of_a_write__never_finds_a_partial_message(
    connect, transport, caplog
):
    # Given a reader that polls the queue at every step the writer takes (each call into
    # C code: creating, locking, writing, syncing, renaming the file)
    writer, reader = connect(transport).default_channel, connect(transport).default_channel
    seen: list[dict] = []
    failures: list[str] = []

    def look(frame, event, arg) -> None:
        if event == "c_call":
            try:
                seen.append(reader._get(QUEUE))
            except Empty:
                pass
            except Exception as exc:  # noqa: BLE001 - any error is what the test looks for
                failures.append(type(exc).__name__)

    caplog.set_level(logging.ERROR, logger=broker.__name__)
    # When a message is sent
    sys.setprofile(look)
    try:
        writer._put(QUEUE, message("1", "the body"))
    finally:
        sys.setprofile(None)
    # Then the reader never found the message before it was whole: it reads it after
    try:
        seen.append(reader._get(QUEUE))
    except Empty:
        pass
    assert failures == []
    assert caplog.records == []
    assert seen == [message("1", "the body")]


def test_put__the_rename_fails__channel_error_and_no_file_left(connect, folder, monkeypatch):
    # Given a folder where the written message cannot be put in place
    channel = connect().default_channel

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(broker.os, "replace", refuse)
    # When a message is sent
    with pytest.raises(ChannelError):
        channel._put(QUEUE, message("1"))
    # Then the sender is told, as kombu tells it, and the folder holds no partial file
    assert os.listdir(folder) == []


def test_publish__fanout_exchange__every_bound_queue_gets_the_message(connect):
    # Given two queues bound to a fanout exchange
    conn = connect()
    exchange = Exchange(f"fan-{uuid.uuid4().hex[:8]}", type="fanout")
    queues = [Queue(f"fan-{i}-{uuid.uuid4().hex[:8]}", exchange) for i in range(2)]
    for q in queues:
        q(conn.default_channel).declare()
    # When a message is published to the exchange
    Producer(conn.default_channel).publish({"n": 1}, exchange=exchange, serializer="json")
    # Then each queue receives it
    for q in queues:
        got = q(conn.default_channel).get(no_ack=True)
        assert got is not None and got.payload == {"n": 1}


def _older_file(folder, queue: str, content: bytes) -> None:
    """A message file named as kombu names them, from before any message sent now."""
    (folder / f"1_{uuid.uuid4()}.{queue}.msg").write_bytes(content)


UNREADABLE = [
    pytest.param(b"", id="empty"),
    pytest.param(b'{"body": "eyJpZCI6IDQy', id="cut-short"),
    pytest.param(b"\xff\xfe\x00garbage", id="not-text"),
    pytest.param(b'[1, "run-4242"]', id="json-not-a-message"),
    pytest.param(b'{"body": "run-4242"}', id="no-properties"),
    pytest.param(b'{"__type__": "unknown", "__value__": "run-4242"}', id="undecodable-value"),
]


@pytest.mark.parametrize("content", UNREADABLE)
def test_get__unreadable_message_file__logged_dropped_and_the_next_message_taken(
    connect, folder, caplog, content
):
    # Given a message file that is not a message, ahead of a good one in the queue
    channel = connect().default_channel
    _older_file(folder, QUEUE, content)
    channel._put(QUEUE, message("good"))
    caplog.set_level(logging.ERROR, logger=broker.__name__)
    # When the queue is read
    got = channel._get(QUEUE)
    # Then the good message comes back, the bad file is gone and the queue is empty
    assert got == message("good")
    assert os.listdir(folder) == []
    with pytest.raises(Empty):
        channel._get(QUEUE)
    # and the drop is logged with the queue, never with the file's contents
    [record] = caplog.records
    assert record.levelno == logging.ERROR and QUEUE in record.getMessage()
    assert "run-4242" not in caplog.text and "eyJpZCI6" not in caplog.text


def test_drain_events__empty_message_file_before_a_message__the_consumer_goes_on(connect, folder, caplog):
    # Given a consumer of a queue whose folder holds an empty message file, then a message
    conn = connect()
    queue = Queue(QUEUE, Exchange(QUEUE, type="direct"), routing_key=QUEUE)
    queue(conn.default_channel).declare()
    _older_file(folder, QUEUE, b"")
    Producer(conn.default_channel).publish({"n": 1}, exchange=queue.exchange, routing_key=QUEUE)
    bodies: list = []
    caplog.set_level(logging.ERROR, logger=broker.__name__)
    with Consumer(conn.default_channel, [queue], callbacks=[lambda body, msg: bodies.append(body)]):
        # When the consumer drains events
        conn.drain_events(timeout=5)
    # Then it did not fail: it skipped the empty file and delivered the message
    assert bodies == [{"n": 1}]
    assert len(caplog.records) == 1


def test_celery_app__filesystem_url__the_projects_transport():
    # Given the Celery app / When a connection is made for the documented default URL
    with app.connection_for_write("filesystem://") as conn:
        # Then it uses the transport that writes messages whole
        assert conn.get_transport_cls() is broker.Transport


def test_celery_app__redis_url__kombus_redis_transport():
    # Given the Celery app / When a connection is made for a Redis URL (nothing connects yet)
    with app.connection_for_write("redis://127.0.0.1:1/0") as conn:
        # Then Redis keeps kombu's own transport
        assert conn.get_transport_cls() is redis.Transport


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker__empty_message_file_in_its_queue__logs_it_and_answers_the_next_task(
    celery_worker_process,
):
    # Given a real worker consuming its queue on the filesystem broker
    if not app.conf.broker_url.startswith("filesystem://"):
        pytest.skip("the filesystem broker only")
    token = uuid.uuid4().hex
    # When an empty message file lands in its queue before a task is sent
    folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"]
    _older_file(Path(folder), celery_worker_process.queue, b"")
    result = ping.delay(token)
    # Then the worker is still consuming: it answers the task
    try:
        answer = result.get(timeout=90)
    except Exception:  # noqa: BLE001 - any failure shows the worker's log
        pytest.fail("worker did not answer; its log:\n" + celery_worker_process.log())
    assert answer["token"] == token
    # and it logged the empty file it dropped
    deadline = time.monotonic() + 10
    while "Dropped a message file" not in celery_worker_process.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"Dropped a message file of queue {celery_worker_process.queue}" in celery_worker_process.log()
