"""Exposure buckets and currency conversion (pure)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.credit.buckets import OpenItem, Rate, Rates, adjusted, bucket_names, exposure
from riskdesk.errors import ValidationFailed

TODAY = date(2026, 11, 28)
RATES = Rates("CNY", {"USD": Rate("USD", Decimal("7.1"), TODAY), "EUR": Rate("EUR", Decimal("7.8"), TODAY)})
BANDS = [30, 60, 90]


def invoice(amount: str, days_overdue: int, currency: str = "CNY") -> OpenItem:
    due = TODAY - timedelta(days=days_overdue)
    return OpenItem("invoice", f"inv{days_overdue}", currency, Decimal(amount), due - timedelta(days=30), due)


def test_items_fall_into_their_buckets_by_kind_and_age() -> None:
    items = [
        OpenItem("order", "o1", "CNY", Decimal("100"), TODAY),
        OpenItem("delivery", "d1", "CNY", Decimal("200"), TODAY),
        invoice("300", 0),  # due today: not yet overdue
        invoice("400", 1),
        invoice("500", 30),
        invoice("600", 31),
        invoice("700", 90),
        invoice("800", 91),
        OpenItem("reserved", "r1", "CNY", Decimal("900"), TODAY),
        OpenItem("order", "settled", "CNY", Decimal("0"), TODAY),
    ]
    result = exposure(items, today=TODAY, currency="CNY", rates=RATES, bands=BANDS)
    assert {k: int(v) for k, v in result.buckets.items()} == {
        "orders": 100,
        "deliveries": 200,
        "invoices_not_due": 300,
        "overdue_1_30": 900,
        "overdue_31_60": 600,
        "overdue_61_90": 700,
        "overdue_over_90": 800,
        "reserved": 900,
    }
    assert result.max_days_past_due == 91
    assert result.total == Decimal(4500)
    assert result.overdue == Decimal(3000)
    assert result.utilisation(Decimal(9000)) == Decimal("0.5000")


def test_foreign_amounts_are_converted_through_the_base_currency_and_shown() -> None:
    items = [
        OpenItem("order", "o1", "USD", Decimal("100"), TODAY),
        OpenItem("order", "o2", "CNY", Decimal("10"), TODAY),
    ]
    in_eur = exposure(items, today=TODAY, currency="EUR", rates=RATES, bands=BANDS)
    assert in_eur.buckets["orders"] == Decimal("91.03") + Decimal("1.28")  # 100 × 7.1 / 7.8 and 10 / 7.8
    assert in_eur.conversions == [
        "USD→EUR via CNY: USD 7.1 (2026-11-28), EUR 7.8 (2026-11-28)",
        "CNY→EUR via CNY: EUR 7.8 (2026-11-28)",
    ]


def test_a_currency_without_a_rate_is_a_clear_error() -> None:
    with pytest.raises(ValidationFailed, match="no exchange rate for JPY"):
        exposure(
            [OpenItem("order", "o", "JPY", Decimal(1), TODAY)], today=TODAY, currency="CNY", rates=RATES, bands=BANDS
        )


def test_utilisation_without_a_limit_or_with_a_zero_one() -> None:
    empty = exposure([], today=TODAY, currency="CNY", rates=RATES, bands=BANDS)
    assert empty.utilisation(None) is None
    assert empty.utilisation(Decimal(0)) is None
    used = exposure([invoice("1", 3)], today=TODAY, currency="CNY", rates=RATES, bands=BANDS)
    assert used.utilisation(Decimal(0)) == Decimal("Infinity")


def test_bucket_names_follow_the_configured_bands() -> None:
    assert bucket_names([15, 45]) == [
        "orders",
        "deliveries",
        "invoices_not_due",
        "overdue_1_15",
        "overdue_16_45",
        "overdue_over_45",
        "reserved",
    ]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["order", "delivery", "invoice", "reserved"]),
            st.decimals(min_value=0, max_value=10**9, places=2),
            st.integers(min_value=-60, max_value=400),
            st.sampled_from(["CNY", "USD"]),
        ),
        max_size=30,
    )
)
def test_the_buckets_always_add_up_to_the_converted_total(raw: list[tuple[str, Decimal, int, str]]) -> None:
    items = [
        OpenItem(kind, str(n), cur, amount, TODAY, TODAY - timedelta(days=age) if kind == "invoice" else None)
        for n, (kind, amount, age, cur) in enumerate(raw)
    ]
    result = exposure(items, today=TODAY, currency="CNY", rates=RATES, bands=BANDS)
    assert result.total == sum((RATES.convert(i.open_amount, i.currency, "CNY") for i in items), Decimal(0))
    assert all(v >= 0 for v in result.buckets.values())
    ages = [age for kind, amount, age, _ in raw if kind == "invoice" and amount > 0 and age > 0]
    assert result.max_days_past_due == max(ages, default=0)


items_strategy = st.lists(
    st.builds(
        OpenItem,
        kind=st.sampled_from(["order", "delivery", "invoice", "reserved"]),
        reference=st.text("abc", min_size=1, max_size=3),
        currency=st.sampled_from(["CNY", "USD", "EUR"]),
        open_amount=st.decimals(min_value=0, max_value=10**9, places=2),
        document_date=st.just(TODAY - timedelta(days=200)),
        due_on=st.one_of(st.none(), st.integers(-60, 150).map(lambda d: TODAY - timedelta(days=d))),
    ),
    max_size=12,
)


@given(kept=items_strategy, removed=items_strategy, added=items_strategy)
def test_adjusting_a_valuation_by_changed_items_gives_the_valuation_of_the_new_items(
    kept: list[OpenItem], removed: list[OpenItem], added: list[OpenItem]
) -> None:
    before = exposure(kept + removed, today=TODAY, currency="CNY", rates=RATES, bands=BANDS)
    after = exposure(kept + added, today=TODAY, currency="CNY", rates=RATES, bands=BANDS)
    result = adjusted(before, removed=removed, added=added, today=TODAY, rates=RATES, bands=BANDS)
    if result is None:  # a removed item held the maximum days past due: only a new sum finds the next one
        assert any(
            i.open_amount and i.due_on and (TODAY - i.due_on).days >= before.max_days_past_due > 0 for i in removed
        )
        return
    assert result.buckets == after.buckets
    assert result.max_days_past_due == after.max_days_past_due
    assert set(after.conversions) <= set(result.conversions)
