"""Errors raised by services and selectors; every interface maps them the same way
(the console shows the message, the API answers {"message", "extra"} with the status)."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, extra: Any = None):
        super().__init__(message)
        self.message = message
        self.extra = extra if extra is not None else {}


class InvalidInput(ServiceError):
    """The input is not acceptable; `extra["problems"]` lists each with its path."""

    status = 400


class NotAllowed(ServiceError):
    """The actor's role does not allow this."""

    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    """The change was based on something that has changed since (nothing was written)."""

    status = 409


class TooLarge(ServiceError):
    """The upload or input is over its size limit."""

    status = 413


class Stale(ServiceError):
    """The change was based on a revision of the thing that is no longer its newest
    (someone changed it since): nothing was written; `extra` says what changed."""

    status = 412


class RevisionRequired(ServiceError):
    """A change to something others edit too must say which revision it is based on."""

    status = 428
