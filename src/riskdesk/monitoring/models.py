"""Monitoring tables: events received, dead letters, each customer's behaviour state, rules, alerts and the watch
list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from riskdesk.db.base import Base
from riskdesk.db.types import UTCDateTime, utcnow


class MonitoringEvent(Base):
    """An event accepted once: its id is unique, so a redelivery is recognised by ``event_id`` and
    ``payload_hash`` (same content: a duplicate; other content: a conflict). ``payload`` is the normalised
    event as the rules saw it, with the amount in the base currency and the amount as given."""

    __tablename__ = "monitoring_events"
    __table_args__ = (
        Index("ix_monitoring_events_customer", "customer_id", "occurred_at"),
        Index("ix_monitoring_events_reference", "reference"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload_hash: Mapped[str] = mapped_column(String(64))
    received_by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeadLetter(Base):
    """An event that could not be processed, kept as it arrived with the reason; replayable, never dropped."""

    __tablename__ = "monitoring_dead_letters"
    __table_args__ = (Index("ix_monitoring_dead_letters_open", "replayed_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    raw: Mapped[Any] = mapped_column(JSON)
    payload_hash: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(32))  # invalid | conflict | rule_failed | worker_error
    reason: Mapped[str] = mapped_column(String(2000))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    received_by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replayed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CustomerMonitoringState(Base):
    """One customer's ``windows.BehaviourState`` as JSON; ``version`` guards against a lost update."""

    __tablename__ = "monitoring_customer_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    behaviour: Mapped[dict[str, Any]] = mapped_column(JSON)
    events_applied: Mapped[int] = mapped_column(Integer, default=0)
    last_occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 -- SQLAlchemy's declarative attribute


class MonitoringRule(Base):
    """One version of a rule (``rules.Rule``); the built-in indicators are seeded active by migration 0010."""

    __tablename__ = "monitoring_rules"
    __table_args__ = (UniqueConstraint("rule_id", "version"), Index("ix_monitoring_rules_status", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200))
    expression: Mapped[str] = mapped_column(String(4000))
    severity: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # draft | active | retired
    suppression_seconds: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(2000))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alert(Base):
    """A rule's hit on a customer, with its evidence. ``dedup_key`` (customer, rule, triggering event) is unique:
    a redelivered event never raises twice; the suppression window is checked against earlier alerts of the rule.

    ``subject`` says what the alert concerns: a customer (``customer_id``), or a PD model version whose health
    check needs a review (``model_version_id``; ``rule_id`` is then the breach kind, e.g. ``model_psi``)."""

    __tablename__ = "monitoring_alerts"
    __table_args__ = (
        Index("ix_monitoring_alerts_status", "status", "id"),
        Index("ix_monitoring_alerts_customer", "customer_id", "rule_id", "occurred_at"),
        Index("ix_monitoring_alerts_model", "model_version_id", "rule_id", "status"),
        CheckConstraint(
            "(subject = 'customer' AND customer_id IS NOT NULL)"
            " OR (subject = 'model' AND model_version_id IS NOT NULL AND customer_id IS NULL)",
            name="subject",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(16), default="customer")  # customer | model
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"), nullable=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    rule_version: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="new")  # new | investigating | escalated | closed
    dedup_key: Mapped[str] = mapped_column(String(256), unique=True)
    event_id: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sla_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    close_reason: Mapped[str] = mapped_column(String(2000), default="")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# ── watch list ───────────────────────────────────────────────────────────────────────────────────────────────


class WatchListEntry(Base):
    """One stay of a customer on the watch list, from being put on to being taken off; never deleted, so the
    customer's stays are its history. ``current_customer_id`` is the customer's id while the entry is current
    (``on`` or ``removal_requested``) and null once ``removed``: unique, so a customer has one current entry at most.
    ``alert_id`` is the early-warning alert that put the customer on, or null when someone did so by hand."""

    __tablename__ = "monitoring_watch_list"
    __table_args__ = (Index("ix_monitoring_watch_list_status", "status", "next_review_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    current_customer_id: Mapped[int | None] = mapped_column(Integer, unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(24))  # on | removal_requested | removed
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_alerts.id"), nullable=True)
    added_because: Mapped[str] = mapped_column(String(2000))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_review_on: Mapped[date] = mapped_column(Date)
    removal_requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    removal_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    removal_reason: Mapped[str] = mapped_column(String(2000), default="")
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)  # consented | refused
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_reason: Mapped[str] = mapped_column(String(2000), default="")
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WatchReview(Base):
    """A periodic review of a watch-listed customer, opened as a task (``verification.documents.create_task``,
    whose subject this row is: one task per review)."""

    __tablename__ = "monitoring_watch_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("monitoring_watch_list.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    due_on: Mapped[date] = mapped_column(Date)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
