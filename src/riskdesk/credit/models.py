"""Credit assessments: the decision record of a score, grade and recommended limit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String
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
