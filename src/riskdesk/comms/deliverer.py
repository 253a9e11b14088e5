"""The deliverer: claim the notifications that are due, send each, record each outcome.

A failed attempt waits ``BACKOFF[attempts - 1]`` before the next; after ``MAX_ATTEMPTS`` the row is ``failed``.
Rows are claimed with a lease (a conditional UPDATE, the same on SQLite and PostgreSQL), sent outside any
transaction, and each outcome is recorded in a transaction of its own: one receiver's failure never rolls back
another's delivery. Delivery is at least once (a deliverer that dies after sending and before recording sends again
when its lease runs out); receivers deduplicate by the ``X-Riskdesk-Delivery`` id.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.comms.delivery import DeliveryFailed, Outgoing, Sender
from riskdesk.comms.models import Notification
from riskdesk.comms.service import SECRET_CONTEXT
from riskdesk.db.types import utcnow
from riskdesk.security.crypto import DecryptionError, KeyRing

log = structlog.get_logger("riskdesk.comms")

BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = timedelta(minutes=5)  # longer than any sender's time-out


@dataclass
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0  # failed attempts that will be tried again
    failed: int = 0  # given up after the last attempt
    lost: int = 0  # outcomes not recorded: the lease ran out and another deliverer took the row

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Claimed:
    outgoing: Outgoing
    channel: str
    customer_id: int
    attempts: int  # before this one
    refusal: str = ""  # why it cannot be sent at all (the row fails at once)


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:48]


def claim(
    session_factory: sessionmaker[Session], *, keyring: KeyRing, now: datetime, limit: int, worker: str
) -> tuple[str, list[Claimed]]:
    """Lease up to ``limit`` due rows to this call (one short transaction). The UPDATE repeats the conditions, so
    of two deliverers that picked the same row only one gets it: SQLite runs one writer at a time, and PostgreSQL
    re-checks the WHERE of a row another transaction has just changed (and its SKIP LOCKED lets concurrent
    deliverers pick different rows in the first place)."""
    lease = f"{worker}/{uuid.uuid4().hex[:12]}"
    free = or_(Notification.locked_until.is_(None), Notification.locked_until <= now)
    with session_factory.begin() as session:
        due = list(
            session.scalars(
                select(Notification.id)
                .where(Notification.status == "pending", Notification.next_attempt_at <= now, free)
                .order_by(Notification.next_attempt_at, Notification.id)
                .limit(limit)
                .with_for_update(skip_locked=True)  # PostgreSQL: concurrent deliverers pick different rows
            )
        )
        if not due:
            return lease, []
        session.execute(
            update(Notification)
            .where(Notification.id.in_(due), Notification.status == "pending", free)
            .values(locked_until=now + LEASE, locked_by=lease)
            .execution_options(synchronize_session=False)
        )
        rows = session.scalars(
            select(Notification).where(Notification.locked_by == lease).order_by(Notification.id)
        ).all()
        return lease, [_claimed(row, keyring) for row in rows]


def _claimed(row: Notification, keyring: KeyRing) -> Claimed:
    subscription = row.subscription
    secret, refusal = None, ""
    if subscription.secret_enc:
        try:
            secret = keyring.decrypt(subscription.secret_enc, context=SECRET_CONTEXT)
        except DecryptionError as exc:  # a key taken out of the ring too early: this row fails, the others go on
            refusal = f"the webhook's signing secret cannot be opened: {exc}"
    if not subscription.active:
        refusal = "the subscription was deactivated before delivery; activate it, then retry"
    return Claimed(
        outgoing=Outgoing(
            delivery_id=row.id, event=row.event, target=subscription.target, payload=row.payload, secret=secret
        ),
        channel=subscription.channel,
        customer_id=int(row.payload["customer"]["id"]),
        attempts=row.attempts,
        refusal=refusal,
    )


def _send(claimed: Claimed, senders: Mapping[str, Sender], now: datetime) -> tuple[str | None, bool]:
    """(error or None, whether to give up at once)."""
    if claimed.refusal:
        return claimed.refusal, True
    sender = senders.get(claimed.channel)
    if sender is None:
        return f"no sender for channel {claimed.channel!r}", True
    try:
        sender.send(claimed.outgoing, now=now)
    except DeliveryFailed as failure:
        return failure.reason, False
    except Exception as exc:  # a sender's own bug must not stop the other rows: it is recorded on this one
        log.exception("notifications.sender_crashed", notification_id=claimed.outgoing.delivery_id)
        return f"{exc.__class__.__name__}: {exc}", False
    return None, False


def _record(
    session_factory: sessionmaker[Session],
    claimed: Claimed,
    *,
    lease: str,
    error: str | None,
    give_up: bool,
    now: datetime,
    report: DeliveryReport,
) -> None:
    """The outcome of one attempt, in a transaction of its own, only while this call still holds the lease."""
    attempts = claimed.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "locked_until": None, "locked_by": None, "updated_at": now}
    if error is None:
        values |= {"status": "delivered", "delivered_at": now, "last_error": ""}
        outcome = "delivered"
    elif give_up or attempts >= MAX_ATTEMPTS:
        values |= {"status": "failed", "last_error": error[:1000]}
        outcome = "failed"
    else:
        values |= {"next_attempt_at": now + BACKOFF[attempts - 1], "last_error": error[:1000]}
        outcome = "retrying"
    notification_id = claimed.outgoing.delivery_id
    with session_factory.begin() as session:
        result = session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.locked_by == lease)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            report.lost += 1
            return
        if outcome != "retrying":
            audit.append(
                session,
                actor=Actor("notifications"),
                action=f"notification.{outcome}",
                entity_type="customer",
                entity_id=claimed.customer_id,
                changes={
                    "notification_id": notification_id,
                    "alert_id": claimed.outgoing.payload["alert"]["id"],
                    "channel": claimed.channel,
                    "attempts": attempts,
                    "error": (error or "")[:300],
                },
            )
    setattr(report, outcome, getattr(report, outcome) + 1)
    log.info("notification." + outcome, notification_id=notification_id, attempts=attempts, error=error)


def deliver_due(
    session_factory: sessionmaker[Session],
    *,
    keyring: KeyRing,
    senders: Mapping[str, Sender],
    now: datetime | None = None,
    limit: int = 100,
    worker: str | None = None,
) -> DeliveryReport:
    """Claim up to ``limit`` due notifications, send each, and record each outcome on its own."""
    now = now or utcnow()
    lease, claimed = claim(session_factory, keyring=keyring, now=now, limit=limit, worker=worker or default_worker())
    report = DeliveryReport(claimed=len(claimed))
    for item in claimed:
        error, give_up = _send(item, senders, now)
        _record(session_factory, item, lease=lease, error=error, give_up=give_up, now=now, report=report)
    return report
