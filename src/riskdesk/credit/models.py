"""Credit assessments: the decision record of a score, grade and recommended limit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from riskdesk.db.base import Base
from riskdesk.db.types import MoneyAmount, UTCDateTime, utcnow


class CreditAssessment(Base):
    __tablename__ = "credit_assessments"
    __table_args__ = (Index("ix_credit_assessments_customer", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    policy_version: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    inputs_hash: Mapped[str] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(Integer)
    probability_of_default: Mapped[Decimal] = mapped_column(Numeric(10, 6))
    grade: Mapped[str] = mapped_column(String(8))
    recommended_limit: Mapped[Decimal | None] = mapped_column(MoneyAmount, nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    payment_days: Mapped[int] = mapped_column(Integer)
    conditions: Mapped[list[str]] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    calculation: Mapped[list[str]] = mapped_column(JSON)
    contributions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    assessed_by: Mapped[str] = mapped_column(String(64))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CreditProposal(Base):
    """A credit officer's proposal of grade, limit, terms and conditions, awaiting an approver (maker-checker)."""

    __tablename__ = "credit_proposals"
    __table_args__ = (Index("ix_credit_proposals_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("credit_assessments.id"), nullable=True)
    grade: Mapped[str] = mapped_column(String(8))
    limit_amount: Mapped[Decimal] = mapped_column(MoneyAmount)
    currency: Mapped[str] = mapped_column(String(3))
    payment_days: Mapped[int] = mapped_column(Integer)
    conditions: Mapped[list[str]] = mapped_column(JSON)
    effective_from: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    rationale: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[str] = mapped_column(String(16), default="proposed")  # proposed | approved | rejected | returned
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_reason: Mapped[str] = mapped_column(String(2000), default="")


class CreditLimit(Base):
    """The limit in force for a customer: set only by an approved proposal."""

    __tablename__ = "credit_limits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("credit_proposals.id"))
    grade: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal] = mapped_column(MoneyAmount)
    currency: Mapped[str] = mapped_column(String(3))
    payment_days: Mapped[int] = mapped_column(Integer)
    conditions: Mapped[list[str]] = mapped_column(JSON)
    effective_from: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    approved_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FxRate(Base):
    """Units of the base currency for one unit of ``currency``, valid from ``valid_on`` until the next one."""

    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("currency", "valid_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(18, 8))
    valid_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(64), default="")
    loaded_by: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExposureItem(Base):
    """An open commercial document as the ERP (or the event stream) reports it: the amount still open of an order
    not yet delivered, a delivery not yet invoiced, or an invoice not yet paid. Zero: settled."""

    __tablename__ = "credit_exposure_items"
    __table_args__ = (UniqueConstraint("kind", "reference"), Index("ix_credit_exposure_items_customer", "customer_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))  # order | delivery | invoice
    reference: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    open_amount: Mapped[Decimal] = mapped_column(MoneyAmount)
    document_date: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupLimit(Base):
    """A ceiling on the sum of the limits and of the exposure of a group's members."""

    __tablename__ = "credit_group_limits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("customer_groups.id"), unique=True)
    amount: Mapped[Decimal] = mapped_column(MoneyAmount)
    currency: Mapped[str] = mapped_column(String(3))
    expires_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(2000))
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CreditCheck(Base):
    """One credit check of an order (reference + revision), its answer and reasons; a hold is a credit-block case
    that an approver releases or rejects."""

    __tablename__ = "credit_checks"
    __table_args__ = (
        UniqueConstraint("reference", "revision"),
        Index("ix_credit_checks_status", "status", "id"),
        Index("ix_credit_checks_customer", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    amount: Mapped[Decimal] = mapped_column(MoneyAmount)
    currency: Mapped[str] = mapped_column(String(3))
    request_hash: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(8))  # approve | hold
    status: Mapped[str] = mapped_column(String(16))  # approved | held | released | rejected
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy_version: Mapped[str] = mapped_column(String(64))
    checked_by: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reserved_until: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_reason: Mapped[str] = mapped_column(String(2000), default="")


class RescoringRequest(Base):
    """The portfolio is due for rescoring from ``due_on`` because the champion or an overlay changed; the first
    rescoring on or after that day settles it (``run``, ``done_at``) and keeps its grade migration matrix."""

    __tablename__ = "rescoring_requests"
    __table_args__ = (Index("ix_rescoring_requests_open", "done_at", "due_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))  # champion_changed | overlay_changed
    reference: Mapped[str] = mapped_column(String(200))  # what changed, in words: "model pd-b", "overlay 3 …"
    due_on: Mapped[date] = mapped_column(Date)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run: Mapped[str | None] = mapped_column(String(32), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # scored, downgraded, migrations
