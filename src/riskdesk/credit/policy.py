"""The credit policy: an expert scorecard, the master scale of grades and the limit rules — configuration a
credit officer reads and changes (``default_policy.json``, or the file RISKDESK_CREDIT_POLICY_FILE names),
versioned: every assessment stores the version it used."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from riskdesk.errors import ValidationFailed, details_from_pydantic

DEFAULT_POLICY_FILE = Path(__file__).parent / "default_policy.json"


class Bin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    below: Decimal | None  # upper bound (exclusive); null for the last, open bin
    points: int
    zh: str
    en: str


class Factor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    zh: str
    en: str
    bins: list[Bin] = Field(min_length=1)
    missing_points: int
    missing_zh: str
    missing_en: str

    @model_validator(mode="after")
    def _bins_in_order(self) -> Self:
        bounds = [b.below for b in self.bins]
        if bounds[-1] is not None or any(b is None for b in bounds[:-1]):
            raise ValueError(f"factor {self.key}: only the last bin may be open (below: null), and it must be")
        if bounds[:-1] != sorted(bounds[:-1]):  # type: ignore[type-var]
            raise ValueError(f"factor {self.key}: bins must be in increasing order")
        return self


class Grade(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grade: str
    pd_max: Decimal = Field(gt=0, le=1)
    review_months: int = Field(ge=1)
    payment_days: int = Field(ge=0)
    tolerated_delay_days: int = Field(ge=0)
    tnw_share: Decimal = Field(ge=0, le=1)
    revenue_share: Decimal = Field(ge=0, le=1)
    conditions: list[str] = Field(default_factory=list)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1)
    description: str = ""
    base_score: int
    base_odds: Decimal = Field(gt=0)
    points_to_double_odds: Decimal = Field(gt=0)
    factors: list[Factor]
    industry_risk: dict[str, int]
    grades: list[Grade] = Field(min_length=2)

    @model_validator(mode="after")
    def _master_scale_in_order(self) -> Self:
        caps = [g.pd_max for g in self.grades]
        if caps != sorted(caps) or caps[-1] != 1:
            raise ValueError("grades must go from best to worst with increasing pd_max, the last at 1")
        return self


def load_policy(path: Path | None = None) -> Policy:
    source = path or DEFAULT_POLICY_FILE
    try:
        return Policy.model_validate(json.loads(source.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"cannot read the credit policy {source}: {exc}") from None
    except ValidationError as exc:
        raise ValidationFailed(
            f"the credit policy {source} is not valid", details=details_from_pydantic(exc.errors())
        ) from None
