"""Ratio maths and Altman scores: formulas checked by hand, edge cases stated, never NaN or a crash."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.financials.ratios import altman, ratios

D = Decimal
BASE = {
    "current_assets": D(600),
    "current_liabilities": D(300),
    "inventory": D(100),
    "cash": D(150),
    "short_term_debt": D(100),
    "long_term_debt": D(200),
    "total_liabilities": D(500),
    "equity": D(500),
    "intangible_assets": D(100),
    "total_assets": D(1000),
    "operating_profit": D(120),
    "interest_expense": D(20),
    "depreciation": D(30),
    "debt_repayment": D(50),
    "revenue": D(2000),
    "cost_of_sales": D(1500),
    "net_income": D(80),
    "accounts_receivable": D(200),
    "accounts_payable": D(150),
    "retained_earnings": D(200),
}


def by_name(lines: dict[str, Decimal], previous: dict[str, Decimal] | None = None) -> dict[str, object]:
    return {r.name: r for r in ratios(lines, previous)}


def test_ratios_follow_their_formulas() -> None:
    r = by_name(BASE, {**BASE, "revenue": D(1600), "net_income": D(100)})
    assert r["current"].value == D("2.0000")  # type: ignore[attr-defined]
    assert r["quick"].value == D("1.6667")  # type: ignore[attr-defined]
    assert r["debt_to_tangible_net_worth"].value == D("1.2500")  # type: ignore[attr-defined]
    assert r["debt_service_coverage"].value == D("2.1429")  # type: ignore[attr-defined]
    assert r["gross_margin"].value == D("0.2500")  # type: ignore[attr-defined]
    assert r["dso"].value == D("36.5")  # type: ignore[attr-defined]
    assert r["cash_conversion_cycle"].value == D("36.5") + D("24.3") - D("36.5")  # type: ignore[attr-defined]
    assert r["revenue_growth"].value == D("0.2500")  # type: ignore[attr-defined]
    assert r["net_income_growth"].value == D("-0.2000")  # type: ignore[attr-defined]


def test_negative_equity_is_stated_not_computed() -> None:
    r = by_name({**BASE, "equity": D(-50), "total_liabilities": D(1050)})
    assert r["roe"].value is None  # type: ignore[attr-defined]
    assert r["roe"].note == "not meaningful: negative equity"  # type: ignore[attr-defined]
    assert r["debt_to_tangible_net_worth"].note == "not meaningful: negative tangible net worth"  # type: ignore[attr-defined]


def test_zero_denominators_and_missing_lines_are_stated() -> None:
    r = by_name({k: v for k, v in BASE.items() if k != "inventory"} | {"interest_expense": D(0)})
    assert r["interest_coverage"].note == "not meaningful: the denominator is zero"  # type: ignore[attr-defined]
    assert r["dio"].note.startswith("not available")  # type: ignore[attr-defined]
    assert r["cash_conversion_cycle"].value is None  # type: ignore[attr-defined]
    assert r["revenue_growth"].note == "not available: no previous period"  # type: ignore[attr-defined]


def test_altman_z_double_prime_by_hand() -> None:
    z = altman(BASE)
    expected = D("6.56") * D("0.3") + D("3.26") * D("0.2") + D("6.72") * D("0.12") + D("1.05") * D("1")
    assert z.model == "altman-z-double-prime-1995"
    assert z.value == expected.quantize(D("0.001"))
    assert z.zone == "safe"


def test_altman_z_prime_for_manufacturers_uses_revenue() -> None:
    z = altman(BASE, manufacturer=True)
    expected = (
        D("0.717") * D("0.3")
        + D("0.847") * D("0.2")
        + D("3.107") * D("0.12")
        + D("0.420") * D("1")
        + D("0.998") * D("2")
    )
    assert (z.model, z.value) == ("altman-z-prime-1983", expected.quantize(D("0.001")))


@pytest.mark.parametrize(
    ("changes", "note"),
    [({"total_assets": D(0)}, "total assets are not positive"), ({"total_liabilities": D(0)}, "no liabilities")],
)
def test_altman_says_why_it_has_no_score(changes: dict[str, Decimal], note: str) -> None:
    z = altman({**BASE, **changes})
    assert z.value is None and note in z.note


amounts = st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False, places=2)


@given(st.dictionaries(st.sampled_from(sorted(BASE)), amounts), st.booleans())
def test_any_figures_give_values_or_reasons_never_errors(lines: dict[str, Decimal], manufacturer: bool) -> None:
    for result in ratios(lines, lines):
        assert (result.value is None) == bool(result.note.startswith("not")), result
        assert result.value is None or result.value.is_finite()
    z = altman(lines, manufacturer=manufacturer)
    assert z.value is not None or z.note
    assert z.zone in (None, "distress", "grey", "safe")
