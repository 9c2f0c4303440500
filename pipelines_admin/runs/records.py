"""How an application and its result are kept, for the apps that store them as runs do
(test cases, impact reports): the record encrypted in full, and copies with PII masked
for display. Those apps call these, never the encryption or masking modules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipelines_admin.runs.crypto import decrypt_json, encrypt_json
from pipelines_admin.runs.masking import mask_input, mask_result


def record_encrypt(value: Any) -> str:
    """`value` as JSON, encrypted with the newest of RUN_INPUT_KEYS."""
    return encrypt_json(value)


def record_decrypt(token: str) -> Any:
    """What `record_encrypt` stored, read with any of RUN_INPUT_KEYS."""
    return decrypt_json(token)


def record_mask(record: Mapping[str, Any], fields: Iterable[str]) -> dict:
    """A copy of an application with its PII `fields` masked."""
    return mask_input(record, fields)


def result_mask(result: Mapping[str, Any], record: Mapping[str, Any], fields: Iterable[str]) -> dict:
    """A copy of an engine result on `record` with PII masked wherever it could appear."""
    return mask_result(result, record, fields)
