"""Encryption of stored run inputs (Fernet: AES-128-CBC with HMAC-SHA256).

RUN_INPUT_KEYS lists keys newest first: the first encrypts, all of them decrypt, so a
new key can be put in front and old inputs still read."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.RUN_INPUT_KEYS))


def encrypt_json(value: Any) -> str:
    return cipher().encrypt(json.dumps(value, ensure_ascii=False).encode("utf-8")).decode("ascii")


def decrypt_json(token: str) -> Any:
    return json.loads(cipher().decrypt(token.encode("ascii")))
