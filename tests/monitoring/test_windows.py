"""Behaviour windows: incremental updates equal a recomputation from scratch, in any order of arrival."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.errors import ValidationFailed
from riskdesk.monitoring.vocabulary import TREND_PAYMENTS
from riskdesk.monitoring.windows import (
    EPOCH,
    BehaviourState,
    FeatureValue,
    Observation,
    OrderObserved,
    PaymentObserved,
    TransactionObserved,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WINDOWS = {"24h": (HOUR, 24), "7d": (DAY, 7), "30d": (DAY, 30), "90d": (DAY, 90)}
STREAM_OF = {OrderObserved: "orders", TransactionObserved: "transactions", PaymentObserved: "payments"}


def from_scratch(observations: Sequence[Observation], now: datetime) -> dict[str, FeatureValue]:
    """The window features straight from the definition, over the whole list (no anomaly score)."""
    end = {
        width: max([(now - EPOCH) // width, *((o.occurred_at - EPOCH) // width for o in observations)])
        for width in (HOUR, DAY)
    }

    def within(o: Observation, window: str) -> bool:
        width, length = WINDOWS[window]
        return end[width] - length < (o.occurred_at - EPOCH) // width <= end[width]

    out: dict[str, FeatureValue] = {}
    for stream in ("orders", "transactions", "payments"):
        for window in WINDOWS:
            chosen = [o for o in observations if STREAM_OF[type(o)] == stream and within(o, window)]
            out[f"{stream}_count_{window}"] = len(chosen)
            out[f"{stream}_amount_{window}"] = sum((o.amount for o in chosen), Decimal(0))
    out["orders_per_day_7d"] = out["orders_count_7d"] / 7
    out["orders_per_day_90d"] = out["orders_count_90d"] / 90
    out["order_velocity_ratio"] = (
        out["orders_per_day_7d"] / out["orders_per_day_90d"] if out["orders_count_90d"] else 0.0
    )
    out["transactions_per_day_30d"] = out["transactions_count_30d"] / 30
    out["transaction_velocity_ratio"] = (
        out["transactions_count_24h"] / out["transactions_per_day_30d"] if out["transactions_count_30d"] else 0.0
    )
    paid = [o for o in observations if isinstance(o, PaymentObserved) and within(o, "90d")]
    out["avg_days_late_90d"] = sum(p.days_late for p in paid) / len(paid) if paid else 0.0
    out["share_paid_late_90d"] = sum(p.days_late > 0 for p in paid) / len(paid) if paid else 0.0
    out["partial_payments_90d"] = sum(p.partial for p in paid)
    payments = sorted(
        (o.occurred_at, o.days_late, o.partial, o.amount) for o in observations if isinstance(o, PaymentObserved)
    )
    delays = [late for _, late, _, _ in payments[-2 * TREND_PAYMENTS :]]
    last = delays[-3:] if len(delays) >= 3 else []
    previous = delays[:-3] if len(delays) == 6 else []
    out["avg_days_late_last_3"] = sum(last) / len(last) if last else 0.0
    out["avg_days_late_previous_3"] = sum(previous) / len(previous) if previous else 0.0
    out["payment_delay_trend"] = out["avg_days_late_last_3"] - out["avg_days_late_previous_3"] if previous else 0.0
    out.update({"transaction_amount_zscore": 0.0, "transaction_unusual": False, "transaction_history_size": 0})
    return out


moments = st.integers(0, 200 * 24 * 60).map(lambda minutes: T0 + timedelta(minutes=minutes))
amounts = st.decimals(0, 1_000_000, places=2)
observations = st.one_of(
    st.builds(OrderObserved, moments, amounts),
    st.builds(TransactionObserved, moments, amounts),
    st.builds(PaymentObserved, moments, amounts, st.integers(-30, 150), st.booleans()),
)


@settings(max_examples=150, deadline=None)
@given(arrivals=st.lists(observations, max_size=60), later=st.integers(-5 * 24, 120 * 24))
def test_incremental_features_equal_a_recomputation_in_any_order_of_arrival(
    arrivals: list[Observation], later: int
) -> None:
    state = BehaviourState()
    for observation in arrivals:  # the list's order is the arrival order: many events arrive late
        state.apply(observation)
    now = max((o.occurred_at for o in arrivals), default=T0) + later * HOUR
    assert state.snapshot(now) == from_scratch(arrivals, now)


@settings(max_examples=60, deadline=None)
@given(arrivals=st.lists(observations, max_size=40), split=st.integers(0, 40))
def test_the_state_survives_json_at_any_point(arrivals: list[Observation], split: int) -> None:
    whole = BehaviourState()
    for observation in arrivals:
        whole.apply(observation)
    stored = BehaviourState()
    for observation in arrivals[:split]:
        stored.apply(observation)
    restored = BehaviourState.from_json(json.loads(json.dumps(stored.to_json())))
    for observation in arrivals[split:]:
        restored.apply(observation)
    now = max((o.occurred_at for o in arrivals), default=T0)
    assert restored.snapshot(now) == whole.snapshot(now)
    assert restored.to_json() == whole.to_json()


@settings(max_examples=60, deadline=None)
@given(arrivals=st.lists(observations, max_size=40), order=st.randoms(use_true_random=False))
def test_the_stored_state_does_not_depend_on_the_order_of_arrival(
    arrivals: list[Observation], order: random.Random
) -> None:
    shuffled = list(arrivals)
    order.shuffle(shuffled)
    first, second = BehaviourState(), BehaviourState()
    for observation in arrivals:
        first.apply(observation)
    for observation in shuffled:
        second.apply(observation)
    now = max((o.occurred_at for o in arrivals), default=T0)
    assert first.snapshot(now) == second.snapshot(now)


def test_the_24_hour_window_is_the_current_hour_and_the_23_before() -> None:
    state = BehaviourState()
    state.apply(OrderObserved(T0 + timedelta(minutes=59), Decimal("10")))  # hour 0
    state.apply(OrderObserved(T0 + 23 * HOUR, Decimal("5")))  # hour 23
    assert state.snapshot(T0 + 23 * HOUR + timedelta(minutes=59))["orders_count_24h"] == 2
    features = state.snapshot(T0 + 24 * HOUR)
    assert (features["orders_count_24h"], features["orders_amount_24h"]) == (1, Decimal("5"))
    assert features["orders_count_7d"] == 2


def test_a_late_event_lands_in_its_own_day_and_windows() -> None:
    state = BehaviourState()
    state.apply(OrderObserved(T0 + 40 * DAY, Decimal("100")))
    state.apply(OrderObserved(T0 + 38 * DAY, Decimal("7")))  # two days late: in 7, 30 and 90 days
    state.apply(OrderObserved(T0 + 20 * DAY, Decimal("3")))  # twenty days late: 30 and 90 days
    state.apply(OrderObserved(T0 - 60 * DAY, Decimal("1")))  # 100 days before the newest: counts nowhere
    features = state.snapshot(T0 + 40 * DAY)
    assert [features[f"orders_count_{w}"] for w in ("24h", "7d", "30d", "90d")] == [1, 2, 3, 3]
    assert features["orders_amount_90d"] == Decimal("110")


def test_windows_move_on_with_now_without_a_new_event() -> None:
    state = BehaviourState()
    state.apply(OrderObserved(T0, Decimal("100")))
    assert state.snapshot(T0 + 6 * DAY)["orders_count_7d"] == 1
    assert state.snapshot(T0 + 7 * DAY)["orders_count_7d"] == 0
    assert state.snapshot(T0 + 89 * DAY)["orders_count_90d"] == 1
    assert state.snapshot(T0 + 90 * DAY)["orders_count_90d"] == 0
    assert state.snapshot(T0 - 30 * DAY)["orders_count_7d"] == 1  # never backwards: as of the newest event


def test_old_buckets_are_dropped_so_the_state_stays_bounded() -> None:
    state = BehaviourState()
    for day in range(400):
        state.apply(OrderObserved(T0 + day * DAY, Decimal("1")))
        state.apply(PaymentObserved(T0 + day * DAY, Decimal("1"), days_late=day % 9))
    assert len(state.days.buckets) == 90 and len(state.hours.buckets) == 1
    assert len(state.payments) == 2 * TREND_PAYMENTS


def test_payment_behaviour_averages_shares_and_trend() -> None:
    state = BehaviourState()
    for day, (late, partial) in enumerate([(0, False), (2, False), (-1, False), (10, True), (15, False), (20, True)]):
        state.apply(PaymentObserved(T0 + day * DAY, Decimal("1000"), days_late=late, partial=partial))
    features = state.snapshot(T0 + 5 * DAY)
    assert features["avg_days_late_90d"] == pytest.approx(46 / 6)
    assert features["share_paid_late_90d"] == pytest.approx(4 / 6)
    assert features["partial_payments_90d"] == 2
    assert features["avg_days_late_last_3"] == pytest.approx(15.0)
    assert features["avg_days_late_previous_3"] == pytest.approx(1 / 3)
    assert features["payment_delay_trend"] == pytest.approx(15.0 - 1 / 3)


def test_the_trend_needs_six_payments() -> None:
    state = BehaviourState()
    for day in range(5):
        state.apply(PaymentObserved(T0 + day * DAY, Decimal("1"), days_late=10 * day))
    features = state.snapshot(T0 + 5 * DAY)
    assert features["avg_days_late_last_3"] == pytest.approx(30.0)
    assert (features["avg_days_late_previous_3"], features["payment_delay_trend"]) == (0.0, 0.0)


def test_observe_scores_a_transaction_against_the_amounts_before_it() -> None:
    state = BehaviourState()
    for i in range(12):
        features = state.observe(TransactionObserved(T0 + i * HOUR, Decimal(1000 + 10 * (i % 4))))
        assert not features["transaction_unusual"]
    spike = state.observe(TransactionObserved(T0 + 13 * HOUR, Decimal("90000")))
    assert spike["transaction_unusual"] and spike["transaction_history_size"] == 12
    assert state.observe(OrderObserved(T0 + 14 * HOUR, Decimal("5")))["transaction_amount_zscore"] == 0.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: OrderObserved(datetime(2026, 1, 1), Decimal("1")),  # naive: no time zone
        lambda: TransactionObserved(T0, Decimal("-5")),
        lambda: PaymentObserved(T0, Decimal("NaN"), days_late=0),
    ],
)
def test_bad_observations_are_refused(make: object) -> None:
    with pytest.raises(ValidationFailed):
        make()  # type: ignore[operator]


def test_a_state_of_another_version_is_refused() -> None:
    data = BehaviourState().to_json() | {"version": 99}
    with pytest.raises(ValueError, match="version 99"):
        BehaviourState.from_json(data)
