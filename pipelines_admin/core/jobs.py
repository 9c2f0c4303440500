"""The lifecycle of queued work (runs, batch chunks, suite runs, impact chunks).

Sent: the work is stored, then its id is handed to the broker once the transaction
commits (`work_send`, `enqueued_at`). Claimed: a worker takes it (`work_claim`), one
more attempt, under a fresh claim token and a lease (`lease_expires_at`) that a
heartbeat thread renews every JOB_HEARTBEAT_SECONDS while the work runs
(`Claim.lease_kept`). Finished: the worker writes the outcome only while the claim is
still its own (`work_owned`), so a worker that was given up on and wakes up late
writes nothing. Lost: the sweep (`work_sweep`, every RUN_SWEEP_SECONDS) re-sends work
whose lease ran out (its worker died or hung: no heartbeat for JOB_LEASE_SECONDS),
work that never reached the broker, and work sent but not claimed for
RUN_REQUEUE_AFTER_SECONDS (a broker that lost its messages). A claim after
RUN_MAX_ATTEMPTS attempts gives up: the work is recorded as an error.

Neither broker is relied upon to redeliver: the filesystem transport never redelivers
an unacknowledged message, and Redis only after its visibility timeout (an hour).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.conf import settings
from django.db import DatabaseError, connections, models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

#: SweepRecovery.Action values: the sweep's counter of each recovery
ENQUEUED, REQUEUED, GAVE_UP = "enqueued", "requeued", "gave_up"


class QueuedWork(models.Model):
    """The fields every kind of queued work shares. A subclass names its statuses:
    PENDING (not finished), WAITING (to be claimed) and CLAIMED (being worked on)."""

    if TYPE_CHECKING:
        status: str  # each kind's own field, with its own choices

    PENDING: tuple[str, ...] = ()
    WAITING: str = "queued"
    CLAIMED: str = "running"

    attempts = models.PositiveSmallIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        help_text="The latest claim: only its holder writes the outcome.",
    )
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="The claim holds until then; its worker's heartbeat extends it."
    )
    worker = models.CharField(max_length=255, blank=True, help_text="Host and process of the latest claim.")

    class Meta:
        abstract = True


W = TypeVar("W", bound=QueuedWork)


@dataclass(frozen=True)
class WorkKind(Generic[W]):
    """What the lifecycle needs to know of one kind of queued work."""

    model: type[W]
    #: the Celery task that takes the work's id
    task: Any
    #: adds one to the sweep's recovery counter of this kind for an action (runs.metrics.recovery_count)
    count_recovery: Callable[[str], None]
    #: when the work was stored: a field of the model or of its parent
    created: str = "created_at"
    #: related rows the claim reads with the work
    related: tuple[str, ...] = ()
    #: more conditions for the sweep (a cancelled batch's chunks are left alone)
    sweep_filter: models.Q = models.Q()


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_end(now=None):
    return (now or timezone.now()) + timedelta(seconds=settings.JOB_LEASE_SECONDS)


def work_send(kind: WorkKind[Any], pk, *, recovery: str | None = None) -> bool:
    """Hand the work to the broker; when the broker is down it stays waiting and the sweep
    tries again later. The sweep names its `recovery`, counted with the send time once the
    broker took the work."""
    try:
        kind.task.apply_async(args=[str(pk) if isinstance(pk, uuid.UUID) else pk], retry=False)
    except Exception as exc:  # noqa: BLE001 - the broker is unreachable: keep the work, log without PII
        logger.warning(
            "%s %s stays queued: broker unavailable (%s)", kind.model.__name__, pk, type(exc).__name__
        )
        return False
    with transaction.atomic():
        kind.model._default_manager.filter(pk=pk, status__in=kind.model.PENDING).update(
            enqueued_at=timezone.now()
        )
        if recovery:
            kind.count_recovery(recovery)
    return True


def send_on_commit(send: Callable[[Any], bool], pks: list) -> None:
    """Send each of `pks` once the current transaction commits (nothing if it rolls back)."""
    transaction.on_commit(lambda: [send(pk) for pk in pks])


class LeaseKeeper:
    """A heartbeat: a thread that extends the claim's lease every JOB_HEARTBEAT_SECONDS
    while the work runs, and stops when it is done (or when the claim was taken over)."""

    def __init__(self, claim: Claim[Any]):
        self.claim = claim
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{claim.work.pk}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=settings.JOB_HEARTBEAT_SECONDS + 5)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    renewed = lease_renew(self.claim)
                except DatabaseError as exc:  # try again at the next beat; the lease has slack
                    logger.warning("lease of %s not renewed: %s", self.claim, type(exc).__name__)
                    continue
                if not renewed:
                    self.lost = True
                    logger.warning("%s was taken over: its lease is no longer renewed", self.claim)
                    return
        finally:
            connections.close_all()  # this thread's connections only


@dataclass
class Claim(Generic[W]):
    kind: WorkKind[W]
    work: W
    token: uuid.UUID
    #: RUN_MAX_ATTEMPTS used up: record the work as an error instead of doing it
    out_of_attempts: bool = False

    def __str__(self) -> str:
        return f"{self.kind.model.__name__} {self.work.pk} (attempt {self.work.attempts})"

    @property
    def give_up_message(self) -> str:
        return f"gave up after {self.work.attempts} attempts (the worker stopped each time)"

    def lease_kept(self) -> LeaseKeeper:
        return LeaseKeeper(self)


def work_claim(kind: WorkKind[W], pk, *, now=None) -> Claim[W] | None:
    """Take the work for this worker: one more attempt, a new claim token, a lease. None
    when there is nothing to do: the work is finished, or another worker holds a live
    lease on it. Past RUN_MAX_ATTEMPTS the claim is marked `out_of_attempts`."""
    now = now or timezone.now()
    model = kind.model
    with transaction.atomic():
        # of=self: lock the work's row only, never the rows it joins (see SECURITY.md, deadlocks)
        work = (
            model._default_manager.select_for_update(of=("self",))
            .select_related(*kind.related)
            .filter(pk=pk, status__in=model.PENDING)
            .first()
        )
        if work is None:
            return None
        if work.lease_expires_at is not None and work.lease_expires_at > now:
            return None  # a live worker has it (a duplicate delivery)
        claim = Claim(kind, work, uuid.uuid4(), out_of_attempts=work.attempts >= settings.RUN_MAX_ATTEMPTS)
        if not claim.out_of_attempts:
            work.attempts += 1
            work.started_at = now
        work.status = model.CLAIMED
        work.claim_token, work.lease_expires_at, work.worker = claim.token, lease_end(now), this_worker()
        work.save(
            update_fields=["status", "attempts", "started_at", "claim_token", "lease_expires_at", "worker"]
        )
        return claim


def lease_renew(claim: Claim[Any]) -> bool:
    """Extend the claim's lease; False when the claim is no longer this worker's."""
    model = claim.kind.model
    return bool(
        model._default_manager.filter(
            pk=claim.work.pk, claim_token=claim.token, status__in=model.PENDING
        ).update(lease_expires_at=lease_end())
    )


def work_owned(claim: Claim[W], queryset=None) -> W | None:
    """The work's row, locked, while the claim is still the latest on unfinished work;
    None otherwise (a later claim took it over, or it finished). Call it inside the
    transaction that writes the outcome, which then calls `work_done`."""
    model = claim.kind.model
    queryset = model._default_manager.all() if queryset is None else queryset
    return (
        queryset.select_for_update(of=("self",))
        .filter(pk=claim.work.pk, claim_token=claim.token, status__in=model.PENDING)
        .first()
    )


def work_done(work: QueuedWork, status: str, *, now=None, fields: tuple[str, ...] = ()) -> None:
    """Record the work finished with `status` (inside the caller's transaction), and
    `fields` the caller changed."""
    work.status, work.finished_at, work.lease_expires_at = status, now or timezone.now(), None
    work.save(update_fields=["status", "finished_at", "lease_expires_at", *fields])


def work_sweep(
    kind: WorkKind[Any], *, send: Callable[..., bool], now=None, limit: int = 200
) -> dict[str, int]:
    """Re-send lost work of one kind through `send(pk, recovery=...)`; how many of each
    recovery (SweepRecovery.Action)."""
    now = now or timezone.now()
    model = kind.model
    pending = model._default_manager.filter(kind.sweep_filter, status__in=model.PENDING)
    unclaimed = pending.filter(lease_expires_at__isnull=True)
    created_before = {f"{kind.created}__lt": now - timedelta(seconds=settings.JOB_LEASE_SECONDS)}
    stale = now - timedelta(seconds=settings.RUN_REQUEUE_AFTER_SECONDS)
    # each found before any is sent, so none is sent twice in one sweep
    # claims whose lease ran out: the worker died, or hung without its heartbeat
    expired = list(pending.filter(lease_expires_at__lt=now).values_list("pk", flat=True)[:limit])
    # never reached the broker (it was down); the grace lets the send after commit land
    never_sent = list(
        unclaimed.filter(enqueued_at__isnull=True, **created_before).values_list("pk", flat=True)[:limit]
    )
    # sent, but no worker took it: a broker that lost its messages
    not_taken = list(unclaimed.filter(enqueued_at__lt=stale).values_list("pk", flat=True)[:limit])
    counts = {ENQUEUED: 0, REQUEUED: 0}
    for pk in expired:
        released = model._default_manager.filter(
            pk=pk, status__in=model.PENDING, lease_expires_at__lt=now
        ).update(status=model.WAITING, lease_expires_at=None)
        if released:
            counts[REQUEUED] += send(pk, recovery=REQUEUED)
    for pk in never_sent:
        counts[ENQUEUED] += send(pk, recovery=ENQUEUED)
    for pk in not_taken:
        counts[REQUEUED] += send(pk, recovery=REQUEUED)
    return counts
