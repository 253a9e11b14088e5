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


class ApprovalLevel(BaseModel):
    """Who may approve what: up to ``max_amount`` (in the base currency, counting the whole group's limits; None:
    no ceiling) for grades no worse than ``worst_grade``."""

    model_config = ConfigDict(extra="forbid")
    level: int = Field(ge=1)
    zh: str
    en: str
    max_amount: Decimal | None = Field(ge=0)
    worst_grade: str


class CheckRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_days_overdue: int = Field(ge=0)  # an invoice overdue longer holds every new order
    reservation_hours: int = Field(ge=1, le=24 * 30)  # an approved check counts as exposure until its order arrives
    blocking_conditions: list[str]  # a limit with one of these conditions allows no sale on credit
    overdue_bands: list[int] = Field(min_length=1)  # upper bounds of the overdue age bands, in days

    @model_validator(mode="after")
    def _bands_in_order(self) -> Self:
        if self.overdue_bands != sorted(set(self.overdue_bands)) or self.overdue_bands[0] < 1:
            raise ValueError("overdue_bands must be increasing day counts of 1 or more")
        return self


class Caps(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_portfolio_share: Decimal = Field(gt=0, le=1)  # of the unit's total exposure, for any one customer


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1)
    description: str = ""
    base_currency: str = Field(pattern=r"^[A-Z]{3}$")
    base_score: int
    base_odds: Decimal = Field(gt=0)
    points_to_double_odds: Decimal = Field(gt=0)
    factors: list[Factor]
    industry_risk: dict[str, int]
    grades: list[Grade] = Field(min_length=2)
    approval_levels: list[ApprovalLevel] = Field(min_length=1)
    checks: CheckRules
    caps: Caps

    @model_validator(mode="after")
    def _master_scale_in_order(self) -> Self:
        caps = [g.pd_max for g in self.grades]
        if caps != sorted(caps) or caps[-1] != 1:
            raise ValueError("grades must go from best to worst with increasing pd_max, the last at 1")
        return self

    @model_validator(mode="after")
    def _approval_levels_in_order(self) -> Self:
        names = [g.grade for g in self.grades]
        levels = self.approval_levels
        if [a.level for a in levels] != sorted({a.level for a in levels}):
            raise ValueError("approval_levels must have distinct, increasing level numbers")
        for level in levels:
            if level.worst_grade not in names:
                raise ValueError(f"approval level {level.level}: worst_grade {level.worst_grade} is not a grade")
        if levels[-1].max_amount is not None or levels[-1].worst_grade != names[-1]:
            raise ValueError("the highest approval level must have no ceiling (max_amount: null) and cover every grade")
        return self

    def grade_rank(self, grade: str) -> int:
        """0 for the best grade; an unknown grade ranks as the worst."""
        names = [g.grade for g in self.grades]
        return names.index(grade) if grade in names else len(names) - 1

    def required_level(self, *, amount: Decimal, grade: str) -> ApprovalLevel:
        """The lowest approval level allowed to approve ``amount`` (base currency) at ``grade``."""
        return next(
            level
            for level in self.approval_levels
            if (level.max_amount is None or amount <= level.max_amount)
            and self.grade_rank(grade) <= self.grade_rank(level.worst_grade)
        )


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
