"""Signing a webhook delivery, and the receiver's check of it.

Each delivery is sent with

    X-Pipelines-Timestamp: <unix seconds>
    X-Pipelines-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>
    X-Pipelines-Delivery:  <delivery uuid>

The receiver's recipe (this module has no Django in it: copy it as it is):

1. Compute the signature of the exact bytes received with the subscription's secret and
   compare it in constant time (`hmac.compare_digest`): `verify` does this.
2. Refuse a timestamp outside the tolerance window (five minutes either way): a captured
   request cannot be replayed later. `verify` does this too.
3. Refuse a delivery id seen before (keep the ids of the last tolerance window): a
   captured request cannot be replayed within the window either. A re-send from the
   console is a new delivery of the same event: dedupe on the body's event `id` if
   handling an event twice matters.
"""

from __future__ import annotations

import hashlib
import hmac
import time

VERSION = "v1"
TOLERANCE_SECONDS = 300


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def sign(secret: str, timestamp: int | str, body: str | bytes) -> str:
    """`v1=<hex>`: HMAC-SHA256 with `secret` over `f"{timestamp}.{body}"`."""
    message = _bytes(str(timestamp)) + b"." + _bytes(body)
    return f"{VERSION}=" + hmac.new(_bytes(secret), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: int | str | None,
    signature: str | None,
    body: str | bytes,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when `signature` (the X-Pipelines-Signature header, one or more `v1=<hex>`
    separated by commas) signs `body` at `timestamp` with `secret`, and `timestamp` is
    within `tolerance` seconds of `now` (default: the clock). The receiver still refuses
    a delivery id it has seen before."""
    if not secret or not signature or timestamp is None:
        return False
    try:
        sent = int(str(timestamp).strip())
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        return False
    expected = sign(secret, sent, body)
    candidates = [part.strip() for part in signature.split(",")]
    # compare with each candidate, all of them, in constant time
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected.encode("ascii"), candidate.encode("ascii", "replace"))
    return matched
