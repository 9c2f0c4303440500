"""Telling people about change requests: the author when their request is decided,
applied or refused, every publisher when glass is broken. By email where the user has
an address (Django's mail settings), after the transaction commits."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

from pipelines_admin.accounts.roles import PUBLISHER
from pipelines_admin.changes.models import ChangeRequest


def _mail(recipients: list[str], subject: str, body: str) -> None:
    recipients = sorted({r for r in recipients if r})
    if recipients:
        transaction.on_commit(
            lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=True)
        )


def _body(request: ChangeRequest, message: str) -> str:
    return f"{request.title}\n\n{message}\n\nReason given: {request.reason}\n"


def notify_author(request: ChangeRequest, event: str, message: str) -> None:
    subject = f"Change request #{request.pk} {event.removeprefix('change_request.')}: {request.title}"
    _mail([request.author.email], subject, _body(request, message))


def notify_publishers(request: ChangeRequest, message: str) -> None:
    users = get_user_model().objects.filter(is_active=True).filter(groups__name=PUBLISHER)
    emails = list(users.values_list("email", flat=True)) + [request.author.email]
    _mail(emails, f"Break glass on change request #{request.pk}: {request.title}", _body(request, message))
