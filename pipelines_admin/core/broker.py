"""The filesystem broker (`filesystem://`, development and tests): kombu's filesystem
transport, with every message file appearing whole and unreadable files skipped.

kombu creates a message file under its final name (`<ms>_<uuid>.<queue>.msg`) and only
then writes the message into it, so a worker polling the folder can take the file while
it is still empty or half written and fail to decode it (kombu issue #1551); the error
stops the worker's consumer and the message is lost. Here a message is written to a
hidden file in the same folder (`.<final name>.part`, a name no queue reads), flushed to
disk, then renamed to its final name in one step.

A message file that still cannot be read (left by an older process, cut short by a full
disk) is logged, without its contents, and dropped: the worker goes on with the next
message. Queued work whose message was lost this way is sent again by the sweep
(`pipelines_admin.core.jobs`).

`use_for_filesystem_urls()` makes `filesystem://` broker URLs select this transport;
other URLs (`redis://` in production) are left as they are.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.json import dumps

logger = logging.getLogger(__name__)

#: The URL scheme (kombu's transport alias) this transport answers to.
SCHEME = "filesystem"

#: How the file of a message being written is named: a leading dot and a suffix after
#: `.msg`, so its name never ends in `.<queue>.msg` and no queue reads, counts or purges it.
_PARTIAL_NAME = ".{}.part"


def _message_file_name(queue: str) -> str:
    """kombu's name for a message file: a millisecond clock (the order queues are read
    in), a unique id and the queue."""
    return f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"


def _is_message(payload: Any) -> bool:
    """Whether a decoded file has the shape kombu's virtual channels build a message
    from: a mapping whose properties carry a delivery tag."""
    if not isinstance(payload, dict):
        return False
    properties = payload.get("properties")
    return isinstance(properties, dict) and "delivery_tag" in properties


class Channel(filesystem.Channel):
    """kombu's filesystem channel, writing each message whole and skipping files that
    are not messages."""

    def _put(self, queue, payload, **kwargs):
        """Put a message on `queue`: written under a hidden name, flushed to disk, then
        renamed to the name the queue reads."""
        data = dumps(payload).encode()
        name = _message_file_name(queue)
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, _PARTIAL_NAME.format(name))
        try:
            with open(partial, "xb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue):
        """The next message of `queue`; a file that does not decode to a message is
        logged and dropped, and the next one is taken (Empty when there is none)."""
        while True:
            try:
                payload = super()._get(queue)
            except (Empty, ChannelError, OSError):
                # no message, or the folder itself cannot be read: kombu's own handling
                raise
            except Exception as exc:  # noqa: BLE001 - whatever decoding raised, the file was not a message
                # the exception's text may quote the file, so only its class is logged
                logger.error(
                    "Dropped a message file of queue %s that could not be decoded (%s)",
                    queue,
                    type(exc).__name__,
                )
                continue
            if _is_message(payload):
                return payload
            logger.error(
                "Dropped a message file of queue %s that is not a message (a JSON %s)",
                queue,
                type(payload).__name__,
            )


class Transport(filesystem.Transport):
    """kombu's filesystem transport with the channel above."""

    Channel = Channel


def use_for_filesystem_urls() -> None:
    """Make `filesystem://` broker URLs select this transport (kombu resolves the URL's
    scheme through its alias table when a connection is made). Called where the Celery
    app is created, before any connection."""
    TRANSPORT_ALIASES[SCHEME] = f"{__name__}:{Transport.__name__}"
