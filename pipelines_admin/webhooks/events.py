"""The events a webhook subscription can ask for, each with the label the console shows.

An event's body (see services.event_publish) carries ids, names, hashes, counts and
usernames: never a field of an application (no personal data leaves by a webhook)."""

from __future__ import annotations

CHANGE_REQUEST_OPENED = "change_request.opened"
CHANGE_REQUEST_APPROVED = "change_request.approved"
CHANGE_REQUEST_REJECTED = "change_request.rejected"
CHANGE_REQUEST_APPLIED = "change_request.applied"
CHANGE_REQUEST_REFUSED = "change_request.refused"
CHANGE_REQUEST_BREAK_GLASS = "change_request.break_glass"
RELEASE_CREATED = "release.created"
RELEASE_ROLLED_BACK = "release.rolled_back"
RELEASE_GATE_OVERRIDDEN = "release_gate.overridden"
BATCH_FINISHED = "batch.finished"
REVIEW_NEEDED = "review.needed"
ALERT_FIRED = "alert.fired"

#: every event type, in the order the console lists them, with its label
EVENTS: dict[str, str] = {
    CHANGE_REQUEST_OPENED: "A change request was opened",
    CHANGE_REQUEST_APPROVED: "A change request was approved",
    CHANGE_REQUEST_REJECTED: "A change request was rejected",
    CHANGE_REQUEST_APPLIED: "A change request was applied",
    CHANGE_REQUEST_REFUSED: "A change request could not be applied",
    CHANGE_REQUEST_BREAK_GLASS: "A superuser applied a change by break-glass",
    RELEASE_CREATED: "A release was made",
    RELEASE_ROLLED_BACK: "A release was rolled back",
    RELEASE_GATE_OVERRIDDEN: "The release gate was overridden",
    BATCH_FINISHED: "A batch finished (completed or cancelled)",
    REVIEW_NEEDED: "An application was sent to review",
    ALERT_FIRED: "A run raised an alert (a rule timed out)",
}

EVENT_CHOICES = list(EVENTS.items())


def event_label(event: str) -> str:
    return EVENTS.get(event, event)
