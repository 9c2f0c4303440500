"""The JSON Schema (draft 2020-12) of a pipeline config, shipped as package data."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

SCHEMA_FILE = "pipeline.schema.json"


@lru_cache(maxsize=1)
def _schema_text() -> str:
    return resources.files(__name__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def pipeline_schema() -> dict[str, Any]:
    """A fresh copy of the pipeline config schema (callers may change it freely)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema
