"""Sample applications to start a test run from (shipped with rules_engine)."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from django.utils.text import slugify


@lru_cache(maxsize=1)
def sample_applications() -> tuple[dict, ...]:
    """({"key", "name", "description", "record"}, ...) in the shipped order."""
    raw = json.loads(resources.files("rules_engine.examples").joinpath("applications.json").read_text("utf-8"))
    return tuple({"key": slugify(s["name"]), "name": s["name"], "description": s.get("description", ""),
                  "record": s["record"]} for s in raw)


def sample_get(key: str) -> dict | None:
    return next((s for s in sample_applications() if s["key"] == key), None)
