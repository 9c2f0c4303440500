"""Set-up for tests that need a change applied where it takes a change request: the
request opened by `actor`, approved by a second publisher, applied."""

from pipelines_admin.changes.services import change_request_apply, change_request_approve, change_submit
from tests.pipelines_admin.conftest import make_user


def second_publisher(django_user_model, username="second-publisher"):
    existing = django_user_model.objects.filter(username=username).first()
    return existing or make_user(django_user_model, username, "viewer", "editor", "publisher")


def apply_approved(
    *, kind, environment, actor, approver=None, pipeline=None, reason="approved change", **payload
):
    """Open the change as `actor` (with a gate override unless told otherwise), have
    `approver` (a second publisher) approve it, apply it; returns what was applied."""
    from django.contrib.auth import get_user_model

    payload.setdefault("gate_override", True)
    submitted = change_submit(
        kind=kind, pipeline=pipeline, environment=environment, actor=actor, reason=reason, **payload
    )
    if not submitted.requested:
        return submitted.applied
    request = submitted.change_request
    change_request_approve(change_request=request, actor=approver or second_publisher(get_user_model()))
    return change_request_apply(change_request=request, actor=actor).applied_release
