"""The model registry, sector and macro overlays, and PD predictions (decision records of the models)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from riskdesk.db.base import Base
from riskdesk.db.types import UTCDateTime, utcnow


class ModelVersion(Base):
    """A registered PD model directory. Role: candidate → champion (scores customers) or challenger (scores in
    shadow) → retired. Becoming champion needs a promotion requested by one person and approved by another."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # the directory's champion kind: scorecard | gbm
    path: Mapped[str] = mapped_column(String(500))
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    data_sha256: Mapped[str] = mapped_column(String(64))
    parent_version: Mapped[str | None] = mapped_column(String(64), nullable=True)  # recalibrated from
    trained_by: Mapped[str] = mapped_column(String(64))
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    role: Mapped[str] = mapped_column(String(16), default="candidate")
    promotion: Mapped[str] = mapped_column(String(16), default="")  # "" | requested | approved | rejected
    requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_reason: Mapped[str] = mapped_column(String(2000), default="")


class PdOverlay(Base):
    """A sector (GB/T 4754 section letter, or ``*`` for all) PD multiplier from a date: append-only; a later row for
    the same sector supersedes an earlier one from its ``valid_from``."""

    __tablename__ = "pd_overlays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sector: Mapped[str] = mapped_column(String(8))
    factor: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    valid_from: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(2000))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PdPrediction(Base):
    """One customer scored by the champion (the challenger's PD beside it, in shadow): inputs, versions, overlay,
    PD, grade and reasons — the explanation a person may ask for (PIPL Art. 24)."""

    __tablename__ = "pd_predictions"
    __table_args__ = (Index("ix_pd_predictions_customer", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    run: Mapped[str] = mapped_column(String(32), index=True)
    model_pd: Mapped[Decimal] = mapped_column(Numeric(10, 6))
    overlay_id: Mapped[int | None] = mapped_column(ForeignKey("pd_overlays.id"), nullable=True)
    overlay_factor: Mapped[Decimal | None] = mapped_column(Numeric(8, 4), nullable=True)
    probability_of_default: Mapped[Decimal] = mapped_column(Numeric(10, 6))
    grade: Mapped[str] = mapped_column(String(8))
    previous_grade: Mapped[str | None] = mapped_column(String(8), nullable=True)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    challenger_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"), nullable=True)
    challenger_pd: Mapped[Decimal | None] = mapped_column(Numeric(10, 6), nullable=True)
    scored_by: Mapped[str] = mapped_column(String(64))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelHealth(Base):
    """A check of the champion on the latest rescoring: PSI of the PD, CSI of each feature against the training
    population, realised AUC/KS when outcomes are known; ``review_needed`` past the thresholds."""

    __tablename__ = "model_health"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    run: Mapped[str] = mapped_column(String(32))
    rows: Mapped[int] = mapped_column(Integer)
    psi: Mapped[Decimal] = mapped_column(Numeric(10, 4))
    csi: Mapped[dict[str, Any]] = mapped_column(JSON)
    realised: Mapped[dict[str, Any]] = mapped_column(JSON)
    review_needed: Mapped[bool] = mapped_column(Boolean)
    checked_by: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
