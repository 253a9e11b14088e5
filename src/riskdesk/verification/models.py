"""Watchlists, their entries with history, and screening hits awaiting review."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from riskdesk.db.base import Base
from riskdesk.db.types import UTCDateTime, utcnow


class Watchlist(Base):
    __tablename__ = "watchlists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="other")  # sanctions, blacklist, dishonest_debtors…
    version: Mapped[int] = mapped_column(Integer, default=0)  # imports so far
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WatchlistEntry(Base):
    """The current state of one listed person or company. ``removed_at`` is set when an import no longer has it;
    every earlier state is in ``watchlist_entry_versions``."""

    __tablename__ = "watchlist_entries"
    __table_args__ = (UniqueConstraint("watchlist_id", "entry_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("watchlists.id"), index=True)
    entry_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # person | company
    name: Mapped[str] = mapped_column(String(500))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    identifiers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    birth_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # reason, programme, source URL…
    content_hash: Mapped[str] = mapped_column(String(64))
    first_version: Mapped[int] = mapped_column(Integer)
    last_version: Mapped[int] = mapped_column(Integer)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WatchlistEntryVersion(Base):
    __tablename__ = "watchlist_entry_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("watchlist_entries.id"), index=True)
    list_version: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(16))  # added | changed | removed | restored
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScreeningHit(Base):
    """A possible match of a customer (or its legal representative, shareholder, guarantor) with a list entry.

    Unique per subject name, entry and entry content: a dismissed hit does not come back unless the entry changes.
    """

    __tablename__ = "screening_hits"
    __table_args__ = (
        UniqueConstraint("customer_id", "subject_name", "entry_id", "entry_hash"),
        Index("ix_screening_hits_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    subject_role: Mapped[str] = mapped_column(String(32))  # customer | legal_representative | shareholder | guarantor
    subject_name: Mapped[str] = mapped_column(String(500))
    entry_id: Mapped[int] = mapped_column(ForeignKey("watchlist_entries.id"), index=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    entry_name: Mapped[str] = mapped_column(String(500))  # the listed name the hit was raised on
    score: Mapped[float] = mapped_column()
    algorithm: Mapped[str] = mapped_column(String(32))
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | confirmed | dismissed
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegistrySnapshot(Base):
    """A registry record the unit imported (``riskdesk registry import``): the snapshot provider's data."""

    __tablename__ = "registry_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(100))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VerificationCheck(Base):
    """One verification of a customer: a decision record with its inputs, findings, outcome and reasons."""

    __tablename__ = "verification_checks"
    __table_args__ = (Index("ix_verification_checks_customer", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    outcome: Mapped[str] = mapped_column(String(24))  # passed | passed_with_findings | failed | incomplete
    algorithm: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(100))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)  # what the customer said (masked) and the record found
    inputs_hash: Mapped[str] = mapped_column(String(64))
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    checked_by: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Document(Base):
    """A file about a customer (business licence, ID copy, statement, contract). The file lives in
    RISKDESK_DOCUMENTS_DIR under its SHA-256; the database keeps what it is."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_expires_on", "expires_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(32))
    issuer: Mapped[str] = mapped_column(String(200), default="")
    issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    file_name: Mapped[str] = mapped_column(String(200))  # cleaned of paths and control characters
    content_type: Mapped[str] = mapped_column(String(100))  # from the bytes, not from the upload's claim
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Task(Base):
    """Work for a person: e.g. renew a document that expires soon. One task per (kind, subject)."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("kind", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    title: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
