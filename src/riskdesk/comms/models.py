"""Notification tables: who gets which alerts (subscriptions), and one outbox row per alert and subscription."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskdesk.db.base import Base
from riskdesk.db.types import UTCDateTime, utcnow


class NotificationSubscription(Base):
    """A receiver of alerts: a webhook URL (with its signing secret, sealed under the key ring) or an e-mail
    address, for alerts of at least ``min_severity`` and, when ``tiers`` is not empty, of those tiers only.
    The channel and target never change; a new receiver is a new subscription."""

    __tablename__ = "notification_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(16))  # webhook | email
    target: Mapped[str] = mapped_column(String(500))  # the URL or the address
    secret_enc: Mapped[str | None] = mapped_column(String(400), nullable=True)  # webhooks only
    min_severity: Mapped[str] = mapped_column(String(16))
    tiers: Mapped[list[str]] = mapped_column(JSON)  # empty: every tier
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """One alert for one subscription. (alert, subscription) is unique, so a redelivered event never notifies
    twice. ``pending`` rows are due at ``next_attempt_at``; a deliverer leases a row (``locked_until``,
    ``locked_by``) while it sends, so two deliverers never send the same row at once."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("alert_id", "subscription_id"),
        Index("ix_notification_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("monitoring_alerts.id"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("notification_subscriptions.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))  # alert.raised
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    subscription: Mapped[NotificationSubscription] = relationship(lazy="joined")
