"""Readiness checks of what the console needs: the database and the broker."""

from __future__ import annotations

import os
from typing import NamedTuple

from django.conf import settings
from django.db import connection

from pipelines_admin.celery import app as celery_app


class CheckResult(NamedTuple):
    name: str
    ok: bool
    detail: str


def check_database() -> CheckResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any driver error means "down"
        return CheckResult("database", False, type(exc).__name__)
    return CheckResult("database", True, connection.vendor)


def check_broker() -> CheckResult:
    url = celery_app.conf.broker_url
    transport = url.split("://", 1)[0]
    try:
        with celery_app.connection_for_write(url) as conn:
            conn.ensure_connection(max_retries=0, timeout=settings.HEALTH_CHECK_TIMEOUT_SECONDS)
            if transport == "filesystem":
                _check_filesystem_folders(conn.transport_options)
    except Exception as exc:  # noqa: BLE001 - any transport error means "down"
        return CheckResult("broker", False, type(exc).__name__)
    return CheckResult("broker", True, transport)


def _check_filesystem_folders(options: dict) -> None:
    for key in ("data_folder_in", "data_folder_out"):
        folder = options.get(key)
        if not folder or not os.access(folder, os.W_OK | os.X_OK):
            raise OSError(f"broker folder {key} is not writable")


def run_checks() -> list[CheckResult]:
    return [check_database(), check_broker()]
