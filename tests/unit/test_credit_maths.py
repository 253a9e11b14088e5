"""Expert score → PD → grade → limit, and the policy file's own checks."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.credit.assess import assess, grade_for, probability_of_default
from riskdesk.credit.policy import DEFAULT_POLICY_FILE, load_policy
from riskdesk.errors import ValidationFailed

POLICY = load_policy()
GOOD = {
    "z_score": Decimal("3.2"),
    "current_ratio": Decimal("1.8"),
    "liabilities_to_assets": Decimal("0.4"),
    "net_margin": Decimal("0.06"),
    "years_in_business": Decimal("12"),
    "registered_capital": Decimal("50000000"),
    "industry_risk": Decimal("1"),
}


def test_points_at_the_base_score_give_the_base_odds() -> None:
    assert probability_of_default(POLICY, POLICY.base_score) == (Decimal(1) / 51).quantize(Decimal("0.000001"))
    assert probability_of_default(POLICY, POLICY.base_score + 40) < probability_of_default(POLICY, POLICY.base_score)


@given(st.integers(min_value=-2000, max_value=3000))
def test_every_score_has_a_pd_and_a_grade(points: int) -> None:
    pd = probability_of_default(POLICY, points)
    assert Decimal(0) <= pd <= Decimal(1)
    assert grade_for(POLICY, pd).grade in {g.grade for g in POLICY.grades}


def test_a_strong_company_gets_a_good_grade_and_the_smaller_of_need_and_capacity() -> None:
    result = assess(
        POLICY,
        GOOD,
        tangible_net_worth=Decimal(10_000_000),
        annual_revenue=Decimal(30_000_000),
        expected_monthly_sales=Decimal(900_000),
    )
    assert int(result.grade.grade) <= 3
    need = Decimal(900_000) * (result.grade.payment_days + result.grade.tolerated_delay_days) / 30
    capacity = min(result.grade.tnw_share * 10_000_000, result.grade.revenue_share * 30_000_000)
    assert result.recommended_limit == min(need, capacity).quantize(Decimal("0.01"))
    assert result.calculation[-1].startswith("recommended limit = min(")
    assert result.reasons() == []  # nothing cost points


def test_a_weak_company_gets_a_poor_grade_conditions_and_reasons() -> None:
    weak = {
        **GOOD,
        "z_score": Decimal("0.4"),
        "liabilities_to_assets": Decimal("0.95"),
        "net_margin": Decimal("-0.1"),
        "years_in_business": Decimal("1"),
    }
    result = assess(
        POLICY,
        weak,
        tangible_net_worth=Decimal(-500_000),
        annual_revenue=Decimal(2_000_000),
        expected_monthly_sales=None,
    )
    assert int(result.grade.grade) >= 8
    assert result.grade.conditions
    assert result.recommended_limit == Decimal("0.00")  # negative net worth leaves no capacity
    assert [r["factor"] for r in result.reasons()][:2] == ["z_score", "liabilities_to_assets"]
    assert "资不抵债" in result.reasons()[1]["zh"]


def test_without_statements_no_limit_is_recommended() -> None:
    result = assess(POLICY, {}, tangible_net_worth=None, annual_revenue=None, expected_monthly_sales=Decimal(100))
    assert result.recommended_limit is None
    assert any("no statements" in step for step in result.calculation)


def test_a_broken_policy_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    policy = json.loads(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
    policy["grades"][0]["pd_max"] = 0.5
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy), encoding="utf-8")
    with pytest.raises(ValidationFailed, match="not valid"):
        load_policy(path)
