"""A customer's behaviour over 24 hours, 7, 30 and 90 days, kept incrementally: each event updates a bucket and
a few running sums instead of re-reading the customer's history.

Windows are made of buckets, by ``occurred_at`` (not arrival): hours for the 24-hour window, UTC days for the
others. "The last 7 days" is the day of the newest event and the 6 days before it; "the last 24 hours" its hour
and the 23 before. Each window keeps a running sum; when time moves on, the buckets that leave a window are
subtracted from it and buckets older than 90 days are dropped, so an event costs O(1) amortised. A late event
is added to its own bucket and to the windows that still contain that bucket; one older than every window is
ignored (it could not count anywhere). Amounts are Decimals (exact, in the base currency), so sums never drift.

Features are as of the later of ``now`` and the newest event seen: a window never runs backwards.

The state serialises to JSON (``to_json``/``from_json``) to be stored per customer; the running sums are rebuilt
from the buckets on load rather than trusted from storage.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from riskdesk.errors import ValidationFailed
from riskdesk.monitoring.anomaly import NO_SCORE, AmountProfile, AmountScore, AnomalySettings
from riskdesk.monitoring.vocabulary import TREND_PAYMENTS, WINDOWS, window_feature

FeatureValue = Decimal | int | float | bool
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ZERO = Decimal(0)

# The measures every bucket holds, by position.
ORDERS_N, ORDERS_AMOUNT, TXN_N, TXN_AMOUNT, PAY_N, PAY_AMOUNT, PAY_DAYS_LATE, PAY_LATE_N, PAY_PARTIAL_N = range(9)
MEASURES = 9
_COUNT_AND_AMOUNT = {
    "orders": (ORDERS_N, ORDERS_AMOUNT),
    "transactions": (TXN_N, TXN_AMOUNT),
    "payments": (PAY_N, PAY_AMOUNT),
}
# (window, feature name, measure, is a count) for every window feature, in the vocabulary's order
_WINDOW_FEATURES = [
    (window, window_feature(stream, measure, window), position, measure == "count")
    for stream, (count, amount) in _COUNT_AND_AMOUNT.items()
    for window in WINDOWS
    for measure, position in (("count", count), ("amount", amount))
]


def _checked(occurred_at: datetime, amount: Decimal) -> None:
    if occurred_at.tzinfo is None:
        raise ValidationFailed("occurred_at must be timezone-aware (UTC)")
    if not amount.is_finite() or amount < 0:
        raise ValidationFailed(f"amount must be a finite, non-negative number, not {amount}")


@dataclass(frozen=True)
class OrderObserved:
    occurred_at: datetime
    amount: Decimal  # base currency

    def __post_init__(self) -> None:
        _checked(self.occurred_at, self.amount)


@dataclass(frozen=True)
class TransactionObserved:
    occurred_at: datetime
    amount: Decimal  # base currency, the size of the movement

    def __post_init__(self) -> None:
        _checked(self.occurred_at, self.amount)


@dataclass(frozen=True)
class PaymentObserved:
    occurred_at: datetime
    amount: Decimal  # base currency
    days_late: int  # after the due date of the invoice it pays; negative: early
    partial: bool = False  # less than the invoice's open amount

    def __post_init__(self) -> None:
        _checked(self.occurred_at, self.amount)


Observation = OrderObserved | TransactionObserved | PaymentObserved


def _parts(observation: Observation) -> list[tuple[int, Decimal]]:
    """The measures an observation adds to, and by how much."""
    match observation:
        case OrderObserved(amount=amount):
            return [(ORDERS_N, Decimal(1)), (ORDERS_AMOUNT, amount)]
        case TransactionObserved(amount=amount):
            return [(TXN_N, Decimal(1)), (TXN_AMOUNT, amount)]
        case PaymentObserved(amount=amount, days_late=days_late, partial=partial):
            return [
                (PAY_N, Decimal(1)),
                (PAY_AMOUNT, amount),
                (PAY_DAYS_LATE, Decimal(days_late)),
                (PAY_LATE_N, Decimal(days_late > 0)),
                (PAY_PARTIAL_N, Decimal(partial)),
            ]


class RollingBuckets:
    """Buckets of ``width``, and a running sum for each window length (in buckets). Keeps only the buckets of the
    longest window, counted back from ``head``, the newest bucket an event fell in."""

    def __init__(self, width: timedelta, lengths: Sequence[int]) -> None:
        self.width = width
        self.lengths = tuple(lengths)
        self.retention = max(self.lengths)
        self.head: int | None = None
        self.buckets: dict[int, list[Decimal]] = {}
        self.sums: dict[int, list[Decimal]] = {length: [ZERO] * MEASURES for length in self.lengths}
        self._written: dict[int, list[int | str]] = {}  # buckets as to_json writes them, until they change

    def index(self, at: datetime) -> int:
        return (at - EPOCH) // self.width

    def add(self, index: int, parts: list[tuple[int, Decimal]]) -> bool:
        """Add to bucket ``index``; False if it is older than every window (ignored)."""
        if self.head is None:
            self.head = index
        elif index > self.head:
            self._advance(index)
        age = self.head - index
        if age >= self.retention:
            return False
        bucket = self.buckets.get(index)
        if bucket is None:
            bucket = self.buckets[index] = [ZERO] * MEASURES
        for position, value in parts:
            bucket[position] += value
        self._written.pop(index, None)
        for length in self.lengths:
            if age < length:
                running = self.sums[length]
                for position, value in parts:
                    running[position] += value
        return True

    def _advance(self, new_head: int) -> None:
        assert self.head is not None
        step = new_head - self.head
        for length in self.lengths:
            running = self.sums[length]
            if step >= length:
                self.sums[length] = [ZERO] * MEASURES
                continue
            for index in range(self.head - length + 1, new_head - length + 1):
                leaving = self.buckets.get(index)
                if leaving is not None:
                    for position in range(MEASURES):
                        running[position] -= leaving[position]
        if step >= self.retention:
            self.buckets.clear()
        else:
            for index in range(self.head - self.retention + 1, new_head - self.retention + 1):
                self.buckets.pop(index, None)
        self.head = new_head

    def totals(self, length: int, at: int) -> list[Decimal]:
        """The window of ``length`` buckets ending at bucket ``at`` (or at ``head`` if that is later)."""
        if self.head is None:
            return [ZERO] * MEASURES
        if at <= self.head:
            return self.sums[length]
        return self._sum_from(at - length + 1)

    def _sum_from(self, start: int) -> list[Decimal]:
        rows = [bucket for index, bucket in self.buckets.items() if index >= start]
        return [sum(column, ZERO) for column in zip(*rows, strict=True)] if rows else [ZERO] * MEASURES

    def rebuild(self) -> None:
        """Running sums from the buckets (after loading)."""
        head = self.head
        self.sums = {
            length: [ZERO] * MEASURES if head is None else self._sum_from(head - length + 1) for length in self.lengths
        }

    def to_json(self) -> dict[str, Any]:
        written = self._written
        out = {}
        for index, bucket in sorted(self.buckets.items()):
            if index not in written:
                written[index] = [_compact(v) for v in bucket]
            out[str(index)] = written[index]
        for gone in written.keys() - self.buckets.keys():
            del written[gone]
        return {"head": self.head, "buckets": out}

    def load(self, data: dict[str, Any]) -> None:
        self.head = data["head"]
        self.buckets = {
            int(index): [ZERO if v == 0 else Decimal(v) for v in values] for index, values in data["buckets"].items()
        }
        if any(len(bucket) != MEASURES for bucket in self.buckets.values()):
            raise ValueError(f"behaviour state: each bucket holds {MEASURES} measures")
        self.rebuild()


def _compact(value: Decimal) -> int | str:
    """Whole numbers (counts, most zeros) as JSON numbers, others as exact decimal strings."""
    return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else str(value)


def _ratio(numerator: Decimal | float, denominator: Decimal | float) -> float:
    return float(numerator) / float(denominator) if denominator else 0.0


def _mean(values: Sequence[int]) -> float:
    return sum(values) / len(values) if values else 0.0


class BehaviourState:
    """One customer's behaviour: window buckets, its last payments (for the trend) and transaction amounts."""

    VERSION = 1

    def __init__(self, anomaly: AnomalySettings | None = None) -> None:
        self.hours = RollingBuckets(HOUR, (24,))
        self.days = RollingBuckets(DAY, (7, 30, 90))
        self.payments: list[tuple[datetime, int, bool, Decimal]] = []  # newest 2 × TREND_PAYMENTS, sorted
        self.amounts = AmountProfile(anomaly)

    @property
    def newest(self) -> datetime | None:
        """The start of the newest hour an event fell in, if any."""
        return None if self.hours.head is None else EPOCH + self.hours.head * HOUR

    def apply(self, observation: Observation) -> None:
        """Fold one event in, in any order of occurred_at."""
        parts = _parts(observation)
        at = observation.occurred_at
        self.hours.add(self.hours.index(at), parts)
        self.days.add(self.days.index(at), parts)
        if isinstance(observation, PaymentObserved):
            bisect.insort(self.payments, (at, observation.days_late, observation.partial, observation.amount))
            if len(self.payments) > 2 * TREND_PAYMENTS:
                del self.payments[0]
        elif isinstance(observation, TransactionObserved):
            self.amounts.add(at, observation.amount)

    def observe(self, observation: Observation) -> dict[str, FeatureValue]:
        """Apply one event and return the features the rules see for it, with the anomaly score of a
        transaction (scored against the amounts before it)."""
        score = NO_SCORE
        if isinstance(observation, TransactionObserved):
            score = self.amounts.score(observation.amount)
        self.apply(observation)
        return self.snapshot(observation.occurred_at, transaction=score)

    def snapshot(self, now: datetime, *, transaction: AmountScore = NO_SCORE) -> dict[str, FeatureValue]:
        """Every feature in ``vocabulary.FEATURE_NAMES`` as of ``now`` (or the newest event, if later)."""
        hour, day = self.hours.index(now), self.days.index(now)
        totals = {
            "24h": self.hours.totals(24, hour),
            "7d": self.days.totals(7, day),
            "30d": self.days.totals(30, day),
            "90d": self.days.totals(90, day),
        }
        out: dict[str, FeatureValue] = {
            name: int(totals[window][position]) if is_count else totals[window][position]
            for window, name, position, is_count in _WINDOW_FEATURES
        }
        d7, d30, d90, h24 = totals["7d"], totals["30d"], totals["90d"], totals["24h"]
        out["orders_per_day_7d"] = float(d7[ORDERS_N]) / 7
        out["orders_per_day_90d"] = float(d90[ORDERS_N]) / 90
        out["order_velocity_ratio"] = _ratio(out["orders_per_day_7d"], out["orders_per_day_90d"])
        out["transactions_per_day_30d"] = float(d30[TXN_N]) / 30
        out["transaction_velocity_ratio"] = _ratio(h24[TXN_N], out["transactions_per_day_30d"])
        out["avg_days_late_90d"] = _ratio(d90[PAY_DAYS_LATE], d90[PAY_N])
        out["share_paid_late_90d"] = _ratio(d90[PAY_LATE_N], d90[PAY_N])
        out["partial_payments_90d"] = int(d90[PAY_PARTIAL_N])
        delays = [days_late for _, days_late, _, _ in self.payments]
        last = delays[-TREND_PAYMENTS:] if len(delays) >= TREND_PAYMENTS else []
        previous = delays[:-TREND_PAYMENTS] if len(delays) == 2 * TREND_PAYMENTS else []
        out["avg_days_late_last_3"] = _mean(last)
        out["avg_days_late_previous_3"] = _mean(previous)
        out["payment_delay_trend"] = _mean(last) - _mean(previous) if previous else 0.0
        out.update(transaction.as_features())
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.VERSION,
            "hours": self.hours.to_json(),
            "days": self.days.to_json(),
            "payments": [[at.isoformat(), late, partial, str(amount)] for at, late, partial, amount in self.payments],
            "amounts": self.amounts.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], anomaly: AnomalySettings | None = None) -> BehaviourState:
        if data.get("version") != cls.VERSION:
            raise ValueError(f"behaviour state version {data.get('version')!r}; this code reads {cls.VERSION}")
        state = cls(anomaly)
        state.hours.load(data["hours"])
        state.days.load(data["days"])
        state.payments = sorted(
            (datetime.fromisoformat(at), int(late), bool(partial), Decimal(amount))
            for at, late, partial, amount in data["payments"]
        )
        state.amounts = AmountProfile.from_json(data["amounts"], anomaly)
        return state
