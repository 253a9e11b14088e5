"""Credit assessments: the decision record of a score, grade and recommended limit."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, Numeric, String
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
