"""How unusual a transaction's amount is for its own customer: a robust z-score against its recent amounts.

The score is the modified z-score of Iglewicz and Hoaglin, 0.6745 × (x − median) ÷ MAD, where MAD is the median
absolute deviation of the customer's last ``capacity`` amounts. Median and MAD ignore the few outliers that would
drag a mean and a standard deviation along, so one past spike does not hide the next. When more than half the
amounts are equal (MAD = 0) the mean absolute deviation stands in (÷ 1.2533 keeps the same scale); when every
amount is equal, any other amount scores ``MAX_ZSCORE``. Nothing fires before ``min_history`` amounts are known.

Pure and bounded: the profile keeps at most ``capacity`` amounts (the newest by ``occurred_at``, so a late event
lands in its place) and serialises to JSON with the rest of the customer's behaviour state.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from statistics import median
from typing import Any

MAX_ZSCORE = 1000.0  # a cap, so the score stays a finite number in JSON evidence


@dataclass(frozen=True)
class AnomalySettings:
    capacity: int = 50  # past amounts kept per customer
    min_history: int = 10  # fewer past amounts than this: the score is 0 and never unusual
    threshold: float = 3.5  # |z| at or above which an amount is unusual (Iglewicz and Hoaglin's cut-off)

    def __post_init__(self) -> None:
        if not 2 <= self.min_history <= self.capacity:
            raise ValueError("anomaly settings: need 2 ≤ min_history ≤ capacity")
        if self.threshold <= 0:
            raise ValueError("anomaly settings: the threshold must be positive")


@dataclass(frozen=True)
class AmountScore:
    zscore: float
    unusual: bool
    history_size: int
    median: float | None = None
    spread: float | None = None  # MAD (or the stand-in) the score divided by; evidence for an alert

    def as_features(self) -> dict[str, float | int | bool]:
        return {
            "transaction_amount_zscore": self.zscore,
            "transaction_unusual": self.unusual,
            "transaction_history_size": self.history_size,
        }


NO_SCORE = AmountScore(0.0, False, 0)


def robust_zscore(amount: float, history: list[float]) -> tuple[float, float, float]:
    """(z, median, spread) of ``amount`` against ``history`` (not empty)."""
    centre = median(history)
    deviations = [abs(x - centre) for x in history]
    mad = median(deviations)
    spread = mad / 0.6745 if mad > 0 else 1.2533 * sum(deviations) / len(deviations)
    diff = amount - centre
    if spread > 0:
        z = diff / spread
    elif diff == 0:
        z = 0.0
    else:
        z = math.copysign(MAX_ZSCORE, diff)
    return max(-MAX_ZSCORE, min(MAX_ZSCORE, z)), centre, spread


class AmountProfile:
    """A customer's recent transaction amounts, newest ``capacity`` by occurred_at."""

    def __init__(self, settings: AnomalySettings | None = None) -> None:
        self.settings = settings or AnomalySettings()
        self.entries: list[tuple[datetime, Decimal]] = []  # sorted by (occurred_at, amount)
        self._floats: list[float] = []  # the same amounts as floats, in the same order, for the maths
        self._written: list[list[str]] = []  # the same as to_json writes them

    def score(self, amount: Decimal) -> AmountScore:
        """How unusual ``amount`` is against the amounts kept so far (it is not added)."""
        size = len(self.entries)
        if size < self.settings.min_history:
            return AmountScore(0.0, False, size)
        z, centre, spread = robust_zscore(float(amount), self._floats)
        return AmountScore(z, abs(z) >= self.settings.threshold, size, centre, spread)

    def add(self, occurred_at: datetime, amount: Decimal) -> None:
        entry = (occurred_at, amount)
        position = bisect.bisect_right(self.entries, entry)
        self.entries.insert(position, entry)
        self._floats.insert(position, float(amount))
        self._written.insert(position, [occurred_at.isoformat(), str(amount)])
        if len(self.entries) > self.settings.capacity:
            del self.entries[0]
            del self._floats[0]
            del self._written[0]

    def observe(self, occurred_at: datetime, amount: Decimal) -> AmountScore:
        """Score a new transaction against the history, then keep it."""
        result = self.score(amount)
        self.add(occurred_at, amount)
        return result

    def to_json(self) -> list[list[str]]:
        return list(self._written)

    @classmethod
    def from_json(cls, data: Any, settings: AnomalySettings | None = None) -> AmountProfile:
        profile = cls(settings)
        entries = sorted((datetime.fromisoformat(at), Decimal(amount)) for at, amount in data)
        profile.entries = entries[-profile.settings.capacity :]
        profile._floats = [float(amount) for _, amount in profile.entries]
        profile._written = [[at.isoformat(), str(amount)] for at, amount in profile.entries]
        return profile
