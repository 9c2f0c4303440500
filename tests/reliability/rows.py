"""Row counts of every table the project writes: a refused request or a failed write
must leave them as they were."""

from __future__ import annotations

from django.apps import apps


def row_counts() -> dict[str, int]:
    """Rows of every model of the project's own apps (runs, batches and their chunks,
    versions, releases, audit events, tokens, ... and those of apps added later)."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model.__module__.startswith("pipelines_admin.")
    }


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    """The tables whose counts differ: {label: (before, after)}."""
    return {label: (before.get(label), count) for label, count in after.items() if before.get(label) != count}
