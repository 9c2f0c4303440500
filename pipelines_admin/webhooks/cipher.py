"""Webhook secrets at rest: encrypted with the installation's RUN_INPUT_KEYS (Fernet,
newest key first encrypts, all of them decrypt), like stored run inputs. The secret is
needed in clear to sign each delivery, so it cannot be kept as a hash; the database
alone never reveals it."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.RUN_INPUT_KEYS))


def encrypt_text(value: str) -> str:
    return cipher().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    return cipher().decrypt(token.encode("ascii")).decode("utf-8")
