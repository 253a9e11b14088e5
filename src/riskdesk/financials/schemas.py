"""Input and output shapes of financial statements and their analysis."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class StatementIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    period_end: date
    period_type: Literal["annual", "quarterly"] = "annual"
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"
    unit: Literal["元", "千元", "万元", "yuan", "thousand", "ten_thousand"] = "元"
    lines: dict[str, Decimal] = Field(description="line item (key, Chinese or English label) → amount in `unit`")
    source: Annotated[str, StringConstraints(max_length=200)] = ""


class StatementOut(BaseModel):
    id: int
    customer_id: int
    period_end: date
    period_type: str
    currency: str
    lines: dict[str, Decimal]
    source: str
    entered_by: str
    version: int


class PeriodAnalysis(BaseModel):
    period_end: date
    period_type: str
    currency: str
    ratios: list[dict[str, Any]]
    z_score: dict[str, Any]
