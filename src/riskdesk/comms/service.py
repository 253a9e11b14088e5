"""Notifications through an outbox: subscriptions, queueing an alert's notifications in the alert's own
transaction, the outbox as the desk reads it, and a retry by hand. Delivery is in ``deliverer``.

A notification is ``pending`` until a sender delivers it (``delivered``) or its last attempt fails (``failed``);
a failed one stays on the desk until someone retries it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskdesk import events
from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.comms.models import Notification, NotificationSubscription
from riskdesk.comms.signing import new_secret
from riskdesk.customers import classification
from riskdesk.customers import service as customers
from riskdesk.db.types import utcnow
from riskdesk.errors import Conflict, ErrorDetail, NotFound, ValidationFailed
from riskdesk.monitoring import service as monitoring
from riskdesk.monitoring.rules import Severity, Tier
from riskdesk.security.crypto import KeyRing

CHANNELS = ("webhook", "email")
SEVERITIES = tuple(s.value for s in Severity)  # lowest first
TIERS = tuple(t.value for t in Tier)
STATUSES = ("pending", "delivered", "failed")
ALERT_RAISED = "alert.raised"
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
    if alert.customer_id is None:
        raise ValidationFailed(f"alert {alert_id} concerns a model, not a customer; model reviews are not notified")
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


def enqueue_alerts(session: Session, *, raised: Sequence[events.AlertRaised]) -> int:
    """Queue the notifications of alerts just raised, for every active subscription that wants each, in the
    caller's transaction; returns how many were queued. Once per (alert, subscription): a second call queues
    nothing. The subscriptions are read once for the lot (a batch of events raises many alerts, and most units
    subscribe to few)."""
    if not raised:
        return 0
    subscriptions = list(
        session.scalars(select(NotificationSubscription).where(NotificationSubscription.active.is_(True)))
    )
    if not subscriptions:
        return 0
    ids = sorted({event.alert_id for event in raised})
    alerts = monitoring.alerts_by_id(session, alert_ids=ids)
    stored = select(Notification.alert_id, Notification.subscription_id).where(Notification.alert_id.in_(ids))
    done: set[tuple[int, int]] = {(alert_id, subscription_id) for alert_id, subscription_id in session.execute(stored)}
    now = utcnow()
    queued = 0
    for event in raised:
        alert = alerts.get(event.alert_id)
        # Gone: raised in a savepoint that was rolled back; another alert: its id was taken again after such a rollback.
        if alert is None or (alert.customer_id, alert.rule_id) != (event.customer_id, event.rule_id):
            continue
        wanting = [
            s
            for s in subscriptions
            if (alert.id, s.id) not in done and _wants(s, severity=event.severity, tier=event.tier)
        ]
        if not wanting:
            continue
        payload = alert_payload(session, alert_id=alert.id)
        for subscription in wanting:
            done.add((alert.id, subscription.id))
            session.add(
                Notification(
                    alert_id=alert.id,
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
        queued += len(wanting)
    session.flush()
    return queued


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
