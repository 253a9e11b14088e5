"""Notifications through an outbox: subscriptions, queueing an alert's notifications in the alert's own
transaction, and delivering what is due with retries.

A notification is ``pending`` until a sender delivers it (``delivered``) or its last attempt fails (``failed``).
A failed attempt waits ``BACKOFF[attempts - 1]`` before the next; after ``MAX_ATTEMPTS`` the row is ``failed``
and stays on the desk until someone retries it. Delivery claims rows with a lease (a conditional UPDATE, the same
on SQLite and PostgreSQL), sends outside any transaction, and records each row's outcome in a transaction of its
own: one receiver's failure never rolls back another's delivery. Delivery is at least once (a deliverer that dies
after sending and before recording sends again when its lease runs out); receivers deduplicate by the
``X-Riskdesk-Delivery`` id.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.comms.delivery import DeliveryFailed, Outgoing, Sender
from riskdesk.comms.models import Notification, NotificationSubscription
from riskdesk.comms.signing import new_secret
from riskdesk.customers import classification
from riskdesk.customers import service as customers
from riskdesk.db.types import utcnow
from riskdesk.errors import Conflict, ErrorDetail, NotFound, ValidationFailed
from riskdesk.monitoring import service as monitoring
from riskdesk.monitoring.rules import Severity, Tier
from riskdesk.security.crypto import KeyRing

log = structlog.get_logger("riskdesk.comms")

CHANNELS = ("webhook", "email")
SEVERITIES = tuple(s.value for s in Severity)  # lowest first
TIERS = tuple(t.value for t in Tier)
STATUSES = ("pending", "delivered", "failed")
ALERT_RAISED = "alert.raised"
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = timedelta(minutes=5)  # longer than any sender's time-out
SECRET_CONTEXT = "notification_subscriptions.secret"  # noqa: S105 -- the encryption context, not a secret
_EMAIL = re.compile(
    r"[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)

# ── subscriptions ────────────────────────────────────────────────────────────────────────────────────────────


def _invalid(field: str, reason: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {reason}", details=[ErrorDetail(field, reason)])


def checked_target(channel: str, target: str) -> str:
    """The webhook URL or e-mail address, trimmed, or ``ValidationFailed`` saying what is wrong with it."""
    target = target.strip()
    if channel not in CHANNELS:
        raise _invalid("channel", f"must be one of {', '.join(CHANNELS)}")
    if not target:
        raise _invalid("target", "give the webhook URL or the e-mail address")
    if len(target) > 500 or any(c.isspace() or ord(c) < 32 for c in target):
        raise _invalid("target", "must be at most 500 characters without spaces or line breaks")
    if channel == "email":
        if len(target) > 254 or not _EMAIL.fullmatch(target):
            raise _invalid("target", f"{target!r} is not an e-mail address like risk@example.com")
        return target
    parts = urlsplit(target)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _invalid("target", f"{target!r} is not an http(s) URL like https://erp.example/hooks/riskdesk")
    if parts.username is not None or parts.password is not None:
        raise _invalid("target", "must not carry a user or password; receivers check the signature instead")
    if parts.fragment:
        raise _invalid("target", "must not have a #fragment")
    try:
        parts.port  # noqa: B018 -- urlsplit checks the port only when asked
    except ValueError:
        raise _invalid("target", f"{target!r} has an invalid port") from None
    return target


def _checked_severity(severity: str) -> str:
    if severity not in SEVERITIES:
        raise _invalid("min_severity", f"must be one of {', '.join(SEVERITIES)}")
    return severity


def _checked_tiers(tiers: list[str]) -> list[str]:
    unknown = sorted(set(tiers) - set(TIERS))
    if unknown:
        raise _invalid("tiers", f"unknown tier {', '.join(unknown)}; tiers are {', '.join(TIERS)}")
    return [t for t in TIERS if t in tiers]


def subscription_changes(subscription: NotificationSubscription) -> dict[str, Any]:
    return {
        "name": subscription.name,
        "channel": subscription.channel,
        "target": subscription.target,
        "min_severity": subscription.min_severity,
        "tiers": subscription.tiers,
        "active": subscription.active,
    }


def create_subscription(
    session: Session,
    *,
    name: str,
    channel: str,
    target: str,
    min_severity: str,
    tiers: list[str],
    keyring: KeyRing,
    actor: Actor,
) -> tuple[NotificationSubscription, str | None]:
    """A new receiver, and a webhook's signing secret: returned this once, stored sealed under the key ring."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise _invalid("name", "give a name of 1 to 100 characters (who receives it, e.g. 'ERP risk hook')")
    target = checked_target(channel, target)
    secret = new_secret() if channel == "webhook" else None
    now = utcnow()
    subscription = NotificationSubscription(
        name=name,
        channel=channel,
        target=target,
        secret_enc=keyring.encrypt(secret, context=SECRET_CONTEXT) if secret else None,
        min_severity=_checked_severity(min_severity),
        tiers=_checked_tiers(tiers),
        active=True,
        created_by=actor.name,
        created_at=now,
        updated_by=actor.name,
        updated_at=now,
    )
    session.add(subscription)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="notification_subscription.created",
        entity_type="notification_subscription",
        entity_id=subscription.id,
        changes=subscription_changes(subscription),
    )
    return subscription, secret


def get_subscription(session: Session, *, subscription_id: int) -> NotificationSubscription:
    subscription = session.get(NotificationSubscription, subscription_id)
    if subscription is None:
        raise NotFound(f"notification subscription {subscription_id} does not exist")
    return subscription


def list_subscriptions(session: Session) -> list[NotificationSubscription]:
    query = select(NotificationSubscription).order_by(
        NotificationSubscription.active.desc(), NotificationSubscription.id
    )
    return list(session.scalars(query))


def update_subscription(
    session: Session,
    *,
    subscription_id: int,
    actor: Actor,
    active: bool | None = None,
    min_severity: str | None = None,
    tiers: list[str] | None = None,
) -> NotificationSubscription:
    """Activate or deactivate a subscription, or change which alerts it gets (from the next alert on)."""
    subscription = get_subscription(session, subscription_id=subscription_id)
    before = subscription_changes(subscription)
    if active is not None:
        subscription.active = active
    if min_severity is not None:
        subscription.min_severity = _checked_severity(min_severity)
    if tiers is not None:
        subscription.tiers = _checked_tiers(tiers)
    after = subscription_changes(subscription)
    changed = {key: {"from": before[key], "to": value} for key, value in after.items() if before[key] != value}
    if changed:
        subscription.updated_by, subscription.updated_at = actor.name, utcnow()
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="notification_subscription.changed",
            entity_type="notification_subscription",
            entity_id=subscription.id,
            changes=changed,
        )
    return subscription


def reseal_secrets(session: Session, *, keyring: KeyRing) -> int:
    """Re-seal webhook secrets under the active key (``riskdesk keys rotate``); returns how many were re-sealed."""
    resealed = 0
    for subscription in session.scalars(
        select(NotificationSubscription).where(NotificationSubscription.secret_enc.is_not(None))
    ):
        stored = subscription.secret_enc or ""
        if keyring.needs_rotation(stored):
            secret = keyring.decrypt(stored, context=SECRET_CONTEXT)
            subscription.secret_enc = keyring.encrypt(secret, context=SECRET_CONTEXT)
            resealed += 1
    session.flush()
    return resealed


# ── the outbox ───────────────────────────────────────────────────────────────────────────────────────────────


def _wants(subscription: NotificationSubscription, *, severity: str, tier: str) -> bool:
    return SEVERITIES.index(subscription.min_severity) <= SEVERITIES.index(severity) and (
        not subscription.tiers or tier in subscription.tiers
    )


def alert_payload(session: Session, *, alert_id: int) -> dict[str, Any]:
    """What a receiver learns of an alert. An individual's name leaves the desk masked, as in the ledger."""
    alert = monitoring.get_alert(session, alert_id=alert_id)
    customer = customers.get_customer(session, customer_id=alert.customer_id)
    rule = alert.evidence.get("rule", {})
    event = alert.evidence.get("event", {})
    return {
        "event": ALERT_RAISED,
        "alert": {
            "id": alert.id,
            "rule_id": alert.rule_id,
            "rule_version": alert.rule_version,
            "rule_name": rule.get("name", alert.rule_id),
            "rule_name_zh": rule.get("name_zh", alert.rule_id),
            "severity": alert.severity,
            "tier": alert.tier,
            "event_id": alert.event_id,
            "event_type": event.get("type"),
            "reference": event.get("reference"),
            "occurred_at": alert.occurred_at.isoformat(),
            "raised_at": alert.raised_at.isoformat(),
            "sla_due_at": alert.sla_due_at.isoformat(),
            "values": alert.evidence.get("values", {}),
        },
        "customer": {
            "id": customer.id,
            "kind": customer.kind,
            "name": classification.for_ledger("name", customer.name, kind=customer.kind),
        },
        "links": {"desk": f"/alerts?customer_id={customer.id}", "api": f"/api/v1/alerts/{alert.id}"},
    }


def enqueue_alert(session: Session, *, alert_id: int, customer_id: int, rule_id: str, severity: str, tier: str) -> int:
    """Queue the alert's notification for every active subscription that wants it, in the caller's transaction;
    returns how many were queued. Once per (alert, subscription): a second call queues nothing."""
    try:
        alert = monitoring.get_alert(session, alert_id=alert_id)
    except NotFound:  # raised in a savepoint that was rolled back
        return 0
    if (alert.customer_id, alert.rule_id) != (customer_id, rule_id):  # its id was taken again after such a rollback
        return 0
    wanting = [
        s
        for s in session.scalars(select(NotificationSubscription).where(NotificationSubscription.active.is_(True)))
        if _wants(s, severity=severity, tier=tier)
    ]
    done = set(session.scalars(select(Notification.subscription_id).where(Notification.alert_id == alert_id)))
    wanting = [s for s in wanting if s.id not in done]
    if not wanting:
        return 0
    payload = alert_payload(session, alert_id=alert_id)
    now = utcnow()
    for subscription in wanting:
        session.add(
            Notification(
                alert_id=alert_id,
                subscription_id=subscription.id,
                event=ALERT_RAISED,
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                last_error="",
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
    return len(wanting)


def list_notifications(
    session: Session, *, status: str | None = None, alert_id: int | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Notification], int]:
    """The outbox, newest first."""
    query = select(Notification)
    if status is not None:
        query = query.where(Notification.status == status)
    if alert_id is not None:
        query = query.where(Notification.alert_id == alert_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Notification.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def status_counts(session: Session) -> dict[str, int]:
    found = dict(session.execute(select(Notification.status, func.count()).group_by(Notification.status)).all())
    return {status: int(found.get(status, 0)) for status in STATUSES}


def get_notification(session: Session, *, notification_id: int) -> Notification:
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFound(f"notification {notification_id} does not exist")
    return row


def retry(session: Session, *, notification_id: int, actor: Actor, now: datetime | None = None) -> Notification:
    """Send a failed (or waiting) notification again at the deliverer's next round, with a fresh series of
    attempts. A delivered one, one being sent right now, or one of an inactive subscription cannot be retried."""
    now = now or utcnow()
    row = get_notification(session, notification_id=notification_id)
    if row.status == "delivered":
        raise Conflict(f"notification {notification_id} was delivered on {row.delivered_at:%Y-%m-%d %H:%M} UTC")
    if row.locked_until is not None and row.locked_until > now:
        raise Conflict(f"notification {notification_id} is being sent right now ({row.locked_by})")
    if not row.subscription.active:
        raise ValidationFailed(
            f"subscription {row.subscription_id} ({row.subscription.name}) is inactive; activate it, then retry"
        )
    before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    row.status, row.attempts, row.next_attempt_at, row.updated_at = "pending", 0, now, now
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="notification.retried",
        entity_type="customer",
        entity_id=row.payload["customer"]["id"],
        changes={"notification_id": row.id, "alert_id": row.alert_id, "subscription_id": row.subscription_id} | before,
    )
    return row


# ── delivery ─────────────────────────────────────────────────────────────────────────────────────────────────


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
    active: bool


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
        return lease, [
            Claimed(
                outgoing=Outgoing(
                    delivery_id=row.id,
                    event=row.event,
                    target=row.subscription.target,
                    payload=row.payload,
                    secret=(
                        keyring.decrypt(row.subscription.secret_enc, context=SECRET_CONTEXT)
                        if row.subscription.secret_enc
                        else None
                    ),
                ),
                channel=row.subscription.channel,
                customer_id=int(row.payload["customer"]["id"]),
                attempts=row.attempts,
                active=row.subscription.active,
            )
            for row in rows
        ]


def _send(claimed: Claimed, senders: Mapping[str, Sender], now: datetime) -> tuple[str | None, bool]:
    """(error or None, whether to give up at once)."""
    if not claimed.active:
        return "the subscription was deactivated before delivery; activate it, then retry", True
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
