"""Optimistic concurrency: every editable thing has a revision, a short text that
changes whenever it does. A change says which revision it was based on; when that is no
longer the newest, nothing is written and the editor is shown what changed (`Stale`).
The API carries revisions as ETag / If-Match, the console as a hidden form field."""

from __future__ import annotations

from pipelines_admin.core.errors import RevisionRequired, Stale

#: what an interface passes as the base revision when the editor sent none
MISSING = ""


def row_revision(row) -> str:
    """The revision of a row that records when it was last saved (`updated_at`): its
    model, its key and that moment, to the microsecond."""
    return f"{type(row).__name__.lower()}-{row.pk}-{int(row.updated_at.timestamp() * 1_000_000)}"


def revision_check(*, base: str | None, current: str, what: str, extra: dict | None = None) -> None:
    """Raise Stale when `base` (the revision the change started from) is given and is
    not `current`; RevisionRequired when it is MISSING. `base` None means the caller
    does not check (commands, data set-up)."""
    if base == MISSING:
        raise RevisionRequired(
            f"Say which revision of {what[0].lower() + what[1:]} this change is based on "
            f"(If-Match with the ETag of your read): others edit it too.",
            {"revision": current},
        )
    if base is not None and base != current:
        raise Stale(
            f"{what} changed while you were editing: nothing was saved. Look at what changed, then "
            f"make your change again on top of it.",
            {"revision": current, **(extra or {})},
        )
