"""The filesystem broker (`filesystem://`, development and tests): kombu's filesystem
transport, with every message file appearing whole.

kombu creates a message file under its final name (`<ms>_<uuid>.<queue>.msg`) and only
then writes the message into it, so a worker polling the folder can take the file while
it is still empty or half written and fail to decode it (kombu issue #1551); the error
stops the worker's consumer and the message is lost. Here a message is written to a
hidden file in the same folder (`.<final name>.part`, a name no queue reads), flushed to
disk, then renamed to its final name in one step.

`use_for_filesystem_urls()` makes `filesystem://` broker URLs select this transport;
other URLs (`redis://` in production) are left as they are.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.json import dumps

#: The URL scheme (kombu's transport alias) this transport answers to.
SCHEME = "filesystem"

#: How the file of a message being written is named: a leading dot and a suffix after
#: `.msg`, so its name never ends in `.<queue>.msg` and no queue reads, counts or purges it.
_PARTIAL_NAME = ".{}.part"


def _message_file_name(queue: str) -> str:
    """kombu's name for a message file: a millisecond clock (the order queues are read
    in), a unique id and the queue."""
    return f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"


class Channel(filesystem.Channel):
    """kombu's filesystem channel, writing each message whole."""

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


class Transport(filesystem.Transport):
    """kombu's filesystem transport with the channel above."""

    Channel = Channel


def use_for_filesystem_urls() -> None:
    """Make `filesystem://` broker URLs select this transport (kombu resolves the URL's
    scheme through its alias table when a connection is made). Called where the Celery
    app is created, before any connection."""
    TRANSPORT_ALIASES[SCHEME] = f"{__name__}:{Transport.__name__}"
