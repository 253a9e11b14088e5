"""Shapes of screening requests and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class NameCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    kind: Literal["person", "company"] = "person"
    identifiers: dict[str, str] = Field(default_factory=dict)
    birth_date: Annotated[str, StringConstraints(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = None
    limit: int = Field(default=10, ge=1, le=100)


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Literal["confirm", "dismiss"]
    reason: Annotated[str, StringConstraints(min_length=3, max_length=2000)]


class HitOut(BaseModel):
    id: int
    customer_id: int
    subject_role: str
    subject_name: str
    entry_id: int
    list: str
    entry_name: str
    entry_kind: str
    entry_details: dict[str, Any]
    score: float
    algorithm: str
    explanation: dict[str, Any]
    status: str
    decided_by: str | None
    decided_at: datetime | None
    reason: str
    created_at: datetime


class HitPage(BaseModel):
    items: list[HitOut]
    total: int
    page: int
    per_page: int


class CheckOut(BaseModel):
    id: int
    customer_id: int
    outcome: str
    algorithm: str
    source: str
    findings: list[dict[str, Any]]
    reasons: list[str]
    inputs: dict[str, Any]
    inputs_hash: str
    checked_by: str
    checked_at: datetime
