"""Unusual transactions: a robust z-score against the customer's own recent amounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.monitoring.anomaly import MAX_ZSCORE, AmountProfile, AnomalySettings, robust_zscore

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def profile_of(amounts: list[int], settings: AnomalySettings | None = None) -> AmountProfile:
    profile = AmountProfile(settings)
    for i, amount in enumerate(amounts):
        profile.add(T0 + timedelta(hours=i), Decimal(amount))
    return profile


def test_robust_zscore_uses_median_and_mad() -> None:
    history = [10.0, 12.0, 11.0, 13.0, 9.0, 100.0]  # one past spike barely moves median and MAD
    z, centre, spread = robust_zscore(20.0, history)
    assert centre == 11.5
    assert spread == pytest.approx(1.5 / 0.6745)
    assert z == pytest.approx(0.6745 * 8.5 / 1.5)


def test_when_most_amounts_are_equal_the_mean_deviation_stands_in() -> None:
    z, _, spread = robust_zscore(20.0, [10.0, 10.0, 10.0, 10.0, 30.0])
    assert spread == pytest.approx(1.2533 * 20 / 5)
    assert z == pytest.approx(10 / (1.2533 * 4))


def test_when_every_amount_is_equal_any_other_is_maximally_unusual() -> None:
    assert robust_zscore(10.0, [10.0] * 5)[0] == 0.0
    assert robust_zscore(11.0, [10.0] * 5)[0] == MAX_ZSCORE
    assert robust_zscore(9.0, [10.0] * 5)[0] == -MAX_ZSCORE


def test_nothing_is_unusual_before_the_minimum_history() -> None:
    profile = profile_of([100] * 9)
    score = profile.score(Decimal("1000000"))
    assert (score.zscore, score.unusual, score.history_size) == (0.0, False, 9)
    profile.add(T0 + timedelta(days=1), Decimal(100))
    assert profile.score(Decimal("1000000")).unusual


def test_an_amount_far_from_the_customers_own_history_is_unusual_and_a_near_one_is_not() -> None:
    profile = profile_of([1000, 1100, 950, 1050, 980, 1020, 1010, 990, 1030, 970])
    assert profile.score(Decimal("1060")).unusual is False
    big = profile.score(Decimal("5000"))
    assert big.unusual and big.zscore > 3.5 and big.median == 1005.0
    assert profile.score(Decimal("10")).unusual  # far below counts too; the sign says which way


def test_observe_scores_before_adding() -> None:
    profile = profile_of([100] * 10)
    assert profile.observe(T0 + timedelta(days=2), Decimal("500")).history_size == 10
    assert len(profile.entries) == 11


def test_the_profile_keeps_the_newest_amounts_by_occurred_at() -> None:
    profile = profile_of(list(range(1, 6)), AnomalySettings(capacity=5, min_history=2))
    profile.add(T0 + timedelta(days=1), Decimal(99))
    profile.add(T0 - timedelta(days=1), Decimal(77))  # late and older than all kept: dropped at once
    assert [int(a) for _, a in profile.entries] == [2, 3, 4, 5, 99]


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 10**6)), max_size=80))
def test_the_profile_round_trips_through_json_and_stays_bounded(pairs: list[tuple[int, int]]) -> None:
    profile = AmountProfile()
    for minutes, amount in pairs:
        profile.add(T0 + timedelta(minutes=minutes), Decimal(amount))
    assert len(profile.entries) == min(len(pairs), profile.settings.capacity)
    assert profile.entries == sorted((T0 + timedelta(minutes=m), Decimal(a)) for m, a in pairs)[-50:]
    assert AmountProfile.from_json(profile.to_json()).entries == profile.entries


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="min_history"):
        AnomalySettings(capacity=5, min_history=10)
    with pytest.raises(ValueError, match="threshold"):
        AnomalySettings(threshold=0)
