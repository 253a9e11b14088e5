"""Financial statements: one row per customer, period end and period type; line items in the currency's unit."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from riskdesk.db.base import Base
from riskdesk.db.types import UTCDateTime, utcnow


class FinancialStatement(Base):
    __tablename__ = "financial_statements"
    __table_args__ = (UniqueConstraint("customer_id", "period_end", "period_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    period_end: Mapped[date] = mapped_column(Date)
    period_type: Mapped[str] = mapped_column(String(16))  # annual | quarterly
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[dict[str, str]] = mapped_column(JSON)  # key → Decimal as text, in the currency's unit
    source: Mapped[str] = mapped_column(String(200), default="")
    entered_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
