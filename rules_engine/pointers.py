"""JSON pointers (RFC 6901): how problems, provenance and the console name a place in a
document. ``~`` is written ``~0`` and ``/`` is written ``~1`` inside a token."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def escape_token(token: Any) -> str:
    """One key or list index as a pointer token."""
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape_token(token: str) -> str:
    """The key a pointer token names."""
    return token.replace("~1", "/").replace("~0", "~")


def json_pointer(parts: Iterable[Any]) -> str:
    """The pointer of a path given as keys and list indexes ("" for the whole document)."""
    return "".join("/" + escape_token(part) for part in parts)
