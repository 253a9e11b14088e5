"""Assessment maths: expert score → probability of default → grade → recommended limit, each step logged.

Pure. points = Σ factor points; odds (good:bad) = base_odds × 2^((points − base_score) / points_to_double_odds);
PD = 1 / (1 + odds). The grade is the first on the master scale whose pd_max covers the PD. Limit:
need = expected monthly sales × (payment days + tolerated delay) / 30; capacity = min(tnw_share × tangible net
worth, revenue_share × annual revenue); recommended = min(need, capacity), never below zero, then capped by the
headroom of the customer's group limit and by the policy's maximum share of the unit's total exposure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from riskdesk.credit.policy import Factor, Grade, Policy


@dataclass(frozen=True)
class Contribution:
    factor: str
    value: Decimal | None
    points: int
    reason_zh: str
    reason_en: str
    best_points: int  # the most this factor could give: the gap is what the customer lost here


@dataclass(frozen=True)
class Assessment:
    policy_version: str
    points: int
    probability_of_default: Decimal
    grade: Grade
    contributions: list[Contribution]
    recommended_limit: Decimal | None
    calculation: list[str] = field(default_factory=list)

    def reasons(self, count: int = 3) -> list[dict[str, Any]]:
        """The factors that cost the most points, in words (Chinese and English)."""
        costly = sorted(
            (c for c in self.contributions if c.points < c.best_points), key=lambda c: c.points - c.best_points
        )
        return [
            {"factor": c.factor, "points_lost": c.best_points - c.points, "zh": c.reason_zh, "en": c.reason_en}
            for c in costly[:count]
        ]


def _score_factor(factor: Factor, value: Decimal | None) -> Contribution:
    best = max(b.points for b in factor.bins)
    if value is None:
        return Contribution(factor.key, None, factor.missing_points, factor.missing_zh, factor.missing_en, best)
    for candidate in factor.bins:
        if candidate.below is None or value < candidate.below:
            return Contribution(factor.key, value, candidate.points, candidate.zh, candidate.en, best)
    raise AssertionError("the last bin is open")  # guaranteed by Factor validation


def probability_of_default(policy: Policy, points: int) -> Decimal:
    exponent = (Decimal(points) - policy.base_score) / policy.points_to_double_odds
    odds = policy.base_odds * Decimal(2) ** exponent
    return (Decimal(1) / (1 + odds)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def grade_for(policy: Policy, pd: Decimal) -> Grade:
    return next(g for g in policy.grades if pd <= g.pd_max)


def _apply_caps(
    limit: Decimal, group_headroom: Decimal | None, portfolio_cap: Decimal | None, log: list[str]
) -> Decimal:
    if group_headroom is not None:
        headroom = max(Decimal(0), group_headroom)
        log.append(f"group cap: group limit less the other members' limits = {headroom}")
        if headroom < limit:
            limit = headroom
            log.append(f"recommended limit capped by the group limit = {limit}")
    if portfolio_cap is not None:
        log.append(f"portfolio cap: maximum share of the unit's total exposure = {portfolio_cap}")
        if portfolio_cap < limit:
            limit = portfolio_cap
            log.append(f"recommended limit capped by the portfolio share = {limit}")
    return limit


def assess(
    policy: Policy,
    facts: dict[str, Decimal | None],
    *,
    tangible_net_worth: Decimal | None,
    annual_revenue: Decimal | None,
    expected_monthly_sales: Decimal | None,
    group_headroom: Decimal | None = None,
    portfolio_cap: Decimal | None = None,
) -> Assessment:
    contributions = [_score_factor(f, facts.get(f.key)) for f in policy.factors]
    points = sum(c.points for c in contributions) + policy.base_score
    pd = probability_of_default(policy, points)
    grade = grade_for(policy, pd)
    log = [
        f"score = {policy.base_score} (base) "
        + " ".join(f"{c.points:+d} ({c.factor})" for c in contributions)
        + f" = {points}",
        f"PD = 1 / (1 + {policy.base_odds} × 2^(({points} − {policy.base_score}) / {policy.points_to_double_odds}))"
        f" = {pd}",
        f"grade {grade.grade}: PD ≤ {grade.pd_max}; payment terms {grade.payment_days} days, tolerated delay"
        f" {grade.tolerated_delay_days} days, review every {grade.review_months} months",
    ]
    cent = Decimal("0.01")
    candidates: list[Decimal] = []
    if expected_monthly_sales is not None:
        need = (expected_monthly_sales * (grade.payment_days + grade.tolerated_delay_days) / 30).quantize(cent)
        log.append(
            f"need = {expected_monthly_sales} × ({grade.payment_days} + {grade.tolerated_delay_days}) / 30 = {need}"
        )
        candidates.append(need)
    else:
        log.append("need: no expected monthly sales given — the limit follows capacity alone")
    capacities = []
    if tangible_net_worth is not None:
        by_tnw = max(Decimal(0), grade.tnw_share * tangible_net_worth).quantize(cent)
        log.append(f"capacity by net worth = {grade.tnw_share} × {tangible_net_worth} = {by_tnw}")
        capacities.append(by_tnw)
    if annual_revenue is not None:
        by_revenue = max(Decimal(0), grade.revenue_share * annual_revenue).quantize(cent)
        log.append(f"capacity by revenue = {grade.revenue_share} × {annual_revenue} = {by_revenue}")
        capacities.append(by_revenue)
    if capacities:
        capacity = min(capacities)
        log.append(f"capacity = min({', '.join(map(str, capacities))}) = {capacity}")
        candidates.append(capacity)
    else:
        log.append("capacity: no statements — no limit can be recommended on financial capacity")
    limit = min(candidates) if candidates and capacities else None
    if limit is not None:
        log.append(f"recommended limit = min({', '.join(map(str, candidates))}) = {limit}")
        limit = _apply_caps(limit, group_headroom, portfolio_cap, log)
    if grade.conditions:
        log.append("conditions for this grade: " + ", ".join(grade.conditions))
    return Assessment(policy.version, points, pd, grade, contributions, limit, log)
