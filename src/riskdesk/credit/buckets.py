"""Exposure maths: open items into buckets, in one currency, with the conversions shown. Pure.

Buckets, in the order credit practice reads them (SAP's credit exposure, ERPNext's and Odoo's "total receivable +
to invoice + to deliver"): open orders not yet delivered, deliveries not yet invoiced, invoices not yet due, overdue
invoices by age band, and approved credit checks whose order has not arrived yet (``reserved``, so that two orders
checked at the same moment cannot both pass on the same headroom).

A conversion uses the latest rate on or before the day, each rate given as units of the base currency per unit of
the foreign one: amount in B = amount in A × rate(A) / rate(B). Amounts are rounded to the cent at the end of each
item's conversion, half up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from riskdesk.errors import ErrorDetail, ValidationFailed

CENT = Decimal("0.01")
KINDS = ("order", "delivery", "invoice")


@dataclass(frozen=True)
class Rate:
    currency: str
    rate: Decimal  # units of the base currency for one unit of ``currency``
    valid_on: date


@dataclass(frozen=True)
class Rates:
    base: str
    by_currency: dict[str, Rate]

    def rate(self, currency: str) -> Decimal:
        if currency == self.base:
            return Decimal(1)
        found = self.by_currency.get(currency)
        if found is None:
            raise ValidationFailed(
                f"there is no exchange rate for {currency}; load one (PUT /api/v1/fx-rates or `riskdesk credit rates`)"
                f" — amounts in {currency} cannot be compared with a limit otherwise",
                details=[ErrorDetail("currency", f"no rate for {currency}")],
            )
        return found.rate

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal:
        if source == target:
            return amount
        return (amount * self.rate(source) / self.rate(target)).quantize(CENT, rounding=ROUND_HALF_UP)

    def describe(self, source: str, target: str) -> str:
        parts = [
            f"{c} {self.by_currency[c].rate} ({self.by_currency[c].valid_on})"
            for c in (source, target)
            if c != self.base
        ]
        return f"{source}→{target} via {self.base}: " + ", ".join(parts)


@dataclass(frozen=True)
class OpenItem:
    kind: str  # order | delivery | invoice | reserved
    reference: str
    currency: str
    open_amount: Decimal
    document_date: date
    due_on: date | None = None


@dataclass
class Exposure:
    currency: str
    buckets: dict[str, Decimal]
    max_days_past_due: int
    conversions: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal(0))

    @property
    def overdue(self) -> Decimal:
        return sum((v for k, v in self.buckets.items() if k.startswith("overdue")), Decimal(0))

    def utilisation(self, limit: Decimal | None) -> Decimal | None:
        """Exposure / limit, 4 decimals; None without a limit (a zero limit with exposure is infinitely used)."""
        if limit is None:
            return None
        if limit == 0:
            return None if self.total == 0 else Decimal("Infinity")
        return (self.total / limit).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def band_names(bands: list[int]) -> list[str]:
    names, lower = [], 1
    for upper in bands:
        names.append(f"overdue_{lower}_{upper}")
        lower = upper + 1
    return [*names, f"overdue_over_{bands[-1]}"]


def bucket_names(bands: list[int]) -> list[str]:
    return ["orders", "deliveries", "invoices_not_due", *band_names(bands), "reserved"]


def exposure(items: list[OpenItem], *, today: date, currency: str, rates: Rates, bands: list[int]) -> Exposure:
    """Sum open items into buckets in ``currency``; settled items (zero open) count for nothing."""
    result = Exposure(currency, dict.fromkeys(bucket_names(bands), Decimal("0.00")), 0)
    _add(result, items, today=today, rates=rates, bands=bands, sign=1)
    return result


def adjusted(
    valued: Exposure, *, removed: list[OpenItem], added: list[OpenItem], today: date, rates: Rates, bands: list[int]
) -> Exposure | None:
    """``valued`` (of the same day and rates) with ``removed`` items taken out and ``added`` ones put in — what
    ``exposure`` of the changed items gives, without summing every item again; None when a removed item held the
    maximum days past due (only a new sum finds the next one)."""
    result = Exposure(valued.currency, dict(valued.buckets), valued.max_days_past_due, list(valued.conversions))
    if _add(result, removed, today=today, rates=rates, bands=bands, sign=-1):
        return None
    _add(result, added, today=today, rates=rates, bands=bands, sign=1)
    return result


def _add(result: Exposure, items: list[OpenItem], *, today: date, rates: Rates, bands: list[int], sign: int) -> bool:
    """Add (sign 1) or subtract (-1) items' amounts to their buckets; True if a subtracted one was at the maximum
    days past due."""
    overdue_names = band_names(bands)
    currency = result.currency
    at_maximum = False
    for item in items:
        if item.open_amount == 0:
            continue
        amount = rates.convert(item.open_amount, item.currency, currency)
        if sign > 0 and item.currency != currency:
            described = rates.describe(item.currency, currency)
            if described not in result.conversions:
                result.conversions.append(described)
        if item.kind == "order":
            name = "orders"
        elif item.kind == "delivery":
            name = "deliveries"
        elif item.kind == "reserved":
            name = "reserved"
        elif item.due_on is None or item.due_on >= today:
            name = "invoices_not_due"
        else:
            days = (today - item.due_on).days
            if sign > 0:
                result.max_days_past_due = max(result.max_days_past_due, days)
            elif days >= result.max_days_past_due:
                at_maximum = True
            position = next((i for i, upper in enumerate(bands) if days <= upper), len(bands))
            name = overdue_names[position]
        result.buckets[name] += amount if sign > 0 else -amount
    return at_maximum
