"""Exposure: open orders, deliveries and invoices as the ERP or the event stream reports them, exchange rates, group
limits — and the buckets, per customer, per group and for the whole unit, in the currency of the limit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Self, cast

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Table, and_, bindparam, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.credit import buckets
from riskdesk.credit.buckets import Exposure, OpenItem, Rate, Rates
from riskdesk.credit.models import CreditCheck, CreditLimit, ExposureItem, FxRate, GroupLimit
from riskdesk.credit.policy import Policy
from riskdesk.customers import relationships
from riskdesk.customers import service as customers
from riskdesk.db.types import utcnow
from riskdesk.errors import Conflict, ErrorDetail, NotFound, ValidationFailed

MAX_BATCH = 5000


class RateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    rate: Decimal = Field(gt=0, max_digits=18, decimal_places=8)
    valid_on: date
    source: str = Field(default="", max_length=64)


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: int
    kind: Literal["order", "delivery", "invoice"]
    reference: str = Field(min_length=1, max_length=64)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    open_amount: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    document_date: date
    due_on: date | None = None

    @model_validator(mode="after")
    def _due_date(self) -> Self:
        if self.kind == "invoice" and self.due_on is None:
            raise ValueError("due_on: an invoice needs its due date to age it")
        if self.due_on is not None and self.due_on < self.document_date:
            raise ValueError("due_on: an invoice falls due on or after its date")
        return self


class GroupLimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    expires_on: date
    reason: str = Field(min_length=3, max_length=2000)


def load_rates(session: Session, *, rates: list[RateIn], base: str, actor: Actor) -> int:
    """Add or correct rates (one per currency and day); the base currency needs none."""
    if not rates:
        raise ValidationFailed("give at least one rate")
    if any(r.currency == base for r in rates):
        raise ValidationFailed(f"{base} is the base currency: its rate is 1 by definition; leave it out")
    keys = [(r.currency, r.valid_on) for r in rates]
    if len(set(keys)) != len(keys):
        raise ValidationFailed("the same currency and day appear twice; give one rate per currency and day")
    existing = {
        (r.currency, r.valid_on): r
        for r in session.scalars(select(FxRate).where(tuple_(FxRate.currency, FxRate.valid_on).in_(keys)))
    }
    for given in rates:
        row = existing.get((given.currency, given.valid_on))
        if row is None:
            session.add(FxRate(**given.model_dump(), loaded_by=actor.name))
        else:
            row.rate, row.source, row.loaded_by, row.loaded_at = given.rate, given.source, actor.name, utcnow()
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="fx.rates_loaded",
        entity_type="fx_rates",
        entity_id=0,
        changes={
            "rates": [
                {"currency": c, "valid_on": d.isoformat(), "rate": str(r.rate)}
                for (c, d), r in zip(keys, rates, strict=True)
            ][:200],
            "count": len(rates),
        },
    )
    return len(rates)


_LATEST_RATES = (
    select(FxRate.currency, func.max(FxRate.valid_on).label("valid_on"))
    .where(FxRate.valid_on <= bindparam("day"))
    .group_by(FxRate.currency)
    .subquery()
)
_RATES_ON = select(FxRate.currency, FxRate.rate, FxRate.valid_on).join(
    _LATEST_RATES, and_(FxRate.currency == _LATEST_RATES.c.currency, FxRate.valid_on == _LATEST_RATES.c.valid_on)
)


def rates_on(session: Session, *, day: date, base: str) -> Rates:
    """The latest rate of each currency on or before ``day``."""
    rows = session.execute(_RATES_ON, {"day": day})
    return Rates(base, {currency: Rate(currency, rate, day) for currency, rate, day in rows})


def list_rates(session: Session, *, limit: int = 200) -> list[FxRate]:
    return list(session.scalars(select(FxRate).order_by(FxRate.valid_on.desc(), FxRate.currency).limit(limit)))


def record_items(session: Session, *, items: list[ItemIn], base: str, actor: Actor) -> dict[str, int]:
    """Create or update open items, all or nothing; an item's reference stays with its customer."""
    if not items:
        raise ValidationFailed("give at least one item")
    if len(items) > MAX_BATCH:
        raise ValidationFailed(f"at most {MAX_BATCH} items per batch; split the file")
    keys = [(i.kind, i.reference) for i in items]
    seen: set[tuple[str, str]] = set()
    for position, key in enumerate(keys):
        if key in seen:
            raise ValidationFailed(
                f"item {position}: {key[0]} {key[1]} appears twice in the batch; send its latest state once",
                details=[ErrorDetail(f"items.{position}.reference", "duplicate in batch")],
            )
        seen.add(key)
    unknown = {i.customer_id for i in items} - relationships.existing_customer_ids(
        session, {i.customer_id for i in items}
    )
    if unknown:
        position = next(p for p, i in enumerate(items) if i.customer_id in unknown)
        raise NotFound(
            f"customer {sorted(unknown)[0]} does not exist (item {position}); create the customer first",
            details=[ErrorDetail(f"items.{position}.customer_id", "unknown customer")],
        )
    known = {base} | set(session.scalars(select(FxRate.currency).distinct()))
    for position, item in enumerate(items):
        if item.currency not in known:
            raise ValidationFailed(
                f"item {position}: there is no exchange rate for {item.currency}; load one first",
                details=[ErrorDetail(f"items.{position}.currency", "no exchange rate")],
            )
    existing = {
        (e.kind, e.reference): e
        for e in session.scalars(
            select(ExposureItem).where(tuple_(ExposureItem.kind, ExposureItem.reference).in_(keys))
        )
    }
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    changed: list[ItemIn] = []
    for position, item in enumerate(items):
        row = existing.get((item.kind, item.reference))
        values = item.model_dump()
        if row is None:
            session.add(ExposureItem(**values, updated_by=actor.name))
            counts["created"] += 1
        elif row.customer_id != item.customer_id:
            raise Conflict(
                f"item {position}: {item.kind} {item.reference} belongs to customer {row.customer_id}, not"
                f" {item.customer_id}; a reference names one document of one customer",
                details=[ErrorDetail(f"items.{position}.customer_id", "reference of another customer")],
            )
        elif all(getattr(row, k) == v for k, v in values.items()):
            counts["unchanged"] += 1
            continue
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_by, row.updated_at = actor.name, utcnow()
            counts["updated"] += 1
        changed.append(item)
    session.flush()
    audit.append_many(session, actor=actor, entries=item_entries(changed))
    return counts


def item_entries(items: Sequence[ItemIn]) -> list[audit.Entry]:
    """One ledger entry per customer whose items changed, listing them."""
    changes: dict[int, list[dict[str, str | None]]] = defaultdict(list)
    for item in items:
        changes[item.customer_id].append(
            {"kind": item.kind, "reference": item.reference, "open": str(item.open_amount), "currency": item.currency}
        )
    return [
        audit.Entry("exposure.updated", "customer", customer_id, {"items": listed})
        for customer_id, listed in changes.items()
    ]


_ITEM_TABLE = cast("Table", ExposureItem.__table__)
_NEW_ITEMS = insert(_ITEM_TABLE)
_ITEMS_WRITTEN = (
    update(_ITEM_TABLE)
    .where(_ITEM_TABLE.c.kind == bindparam("b_kind"), _ITEM_TABLE.c.reference == bindparam("b_reference"))
    .values(
        currency=bindparam("currency"),
        open_amount=bindparam("open_amount"),
        document_date=bindparam("document_date"),
        due_on=bindparam("due_on"),
        updated_by=bindparam("updated_by"),
        updated_at=bindparam("updated_at"),
    )
)


def write_items(
    session: Session, *, items: Sequence[ItemIn], existing: set[tuple[str, str]], actor: Actor
) -> list[audit.Entry]:
    """Store the latest state of open items the monitoring intake has already checked against ``positions`` (each
    reference its customer's, each currency with a rate): new ones inserted and known ones (``existing``) updated,
    each in one statement. Returns the ledger entries ``record_items`` would write (one per customer), for the
    intake to chain with its own. The rows go past the ORM, so ``monitoring.freshness`` does not see them: the
    intake moves the customers' state rows on itself, which is what every process's cache is keyed by."""
    now = utcnow()
    rows = [item.model_dump() | {"updated_by": actor.name, "updated_at": now} for item in items]
    new = [row for row in rows if (row["kind"], row["reference"]) not in existing]
    known = [row for row in rows if (row["kind"], row["reference"]) in existing]
    connection = session.connection()
    if new:
        connection.execute(_NEW_ITEMS, new)
    if known:
        connection.execute(
            _ITEMS_WRITTEN, [row | {"b_kind": row["kind"], "b_reference": row["reference"]} for row in known]
        )
    return item_entries(items)


def _open_items(session: Session, customer_ids: list[int], *, excluding: str | None = None) -> list[OpenItem]:
    query = select(*_ITEM_COLUMNS[1:]).where(ExposureItem.customer_id.in_(customer_ids), ExposureItem.open_amount > 0)
    if excluding is not None:
        query = query.where(~and_(ExposureItem.kind == "order", ExposureItem.reference == excluding))
    return [OpenItem(*row) for row in session.execute(query)]


def _reserved(
    session: Session, customer_ids: list[int], *, now: datetime, excluding: str | None = None
) -> list[OpenItem]:
    """Approved or released checks still within their reservation whose order has not arrived: the latest revision
    of each reference counts, once."""
    arrived = select(ExposureItem.id).where(
        ExposureItem.kind == "order", ExposureItem.reference == CreditCheck.reference
    )
    rows = session.execute(
        select(CreditCheck.reference, CreditCheck.currency, CreditCheck.amount, CreditCheck.checked_at)
        .where(
            CreditCheck.customer_id.in_(customer_ids),
            CreditCheck.status.in_(("approved", "released")),
            CreditCheck.reserved_until > now,
            ~arrived.exists(),
        )
        .order_by(CreditCheck.reference, CreditCheck.revision)
    )
    latest = {reference: (currency, amount, at) for reference, currency, amount, at in rows if reference != excluding}
    return [
        OpenItem("reserved", reference, currency, amount, at.date())
        for reference, (currency, amount, at) in latest.items()
    ]


@dataclass
class Position:
    """One customer's credit position as a batch of monitoring events starts: its items by (kind, reference) — open
    ones, and settled ones of the references the batch names — its credit checks that may still reserve headroom,
    and its limit."""

    items: dict[tuple[str, str], OpenItem] = field(default_factory=dict)
    checks: list[tuple[str, str, Decimal, datetime, datetime]] = field(default_factory=list)
    limit: tuple[Decimal, str] | None = None

    def reserved(self, at: datetime, ordered: set[str]) -> list[OpenItem]:
        """``_reserved`` at ``at``: the latest revision of each reference still reserved and whose order has not
        arrived (``ordered`` holds the references with an order item)."""
        latest = {
            reference: (currency, amount, checked_at)
            for reference, currency, amount, checked_at, until in self.checks
            if until > at and reference not in ordered
        }
        return [OpenItem("reserved", r, c, a, when.date()) for r, (c, a, when) in latest.items()]


@dataclass
class Positions:
    """What ``positions`` read for a batch: per customer; the stored items of the references the batch names, with
    their customers (``named``: the customer a reference's document belongs to, and its item — open or settled);
    and the references that have an order item (their reservations no longer count)."""

    by_customer: dict[int, Position]
    named: dict[tuple[str, str], tuple[int, OpenItem]]
    ordered: set[str]


ITEM_KINDS = ("order", "delivery", "invoice")  # of ExposureItem


def positions(
    session: Session, *, customer_ids: Sequence[int], references: Sequence[str], since: datetime
) -> Positions:
    """The positions of ``customer_ids`` for a batch of events naming ``references`` and starting at ``since``, in a
    few queries (instead of ``exposure_of`` per event): their open items, the items of the references (of any
    customer: a reference names one customer's document), their checks that may reserve headroom, their limits."""
    ids = sorted(set(customer_ids))
    refs = sorted(set(references))
    found = Positions({customer_id: Position() for customer_id in ids}, {}, set())
    rows: list[Any] = []
    if ids:
        rows += session.execute(_OPEN_ITEMS_OF, {"ids": ids})
    if refs:
        rows += session.execute(_ITEMS_NAMED, {"refs": refs})
    wanted = set(refs)
    for customer_id, kind, reference, currency, amount, dated, due_on in rows:
        item = OpenItem(kind, reference, currency, amount, dated, due_on)
        if kind == "order":
            found.ordered.add(reference)
        if reference in wanted:
            found.named[(kind, reference)] = (customer_id, item)
        if customer_id in found.by_customer:
            found.by_customer[customer_id].items[(kind, reference)] = item
    if not ids:
        return found
    checks = session.execute(_RESERVING_CHECKS, {"ids": ids, "since": since}).all()
    for customer_id, *check in checks:
        found.by_customer[customer_id].checks.append(tuple(check))  # type: ignore[arg-type]
    if checks:
        found.ordered |= set(session.scalars(_ORDERS_NAMED, {"refs": sorted({c[1] for c in checks})}))
    for customer_id, amount, currency in session.execute(_LIMITS_OF, {"ids": ids}):
        found.by_customer[customer_id].limit = (amount, currency)
    return found


_ITEM_COLUMNS = (  # an OpenItem's fields, after its customer
    ExposureItem.customer_id,
    ExposureItem.kind,
    ExposureItem.reference,
    ExposureItem.currency,
    ExposureItem.open_amount,
    ExposureItem.document_date,
    ExposureItem.due_on,
)
_OPEN_ITEMS_OF = select(*_ITEM_COLUMNS).where(
    ExposureItem.customer_id.in_(bindparam("ids", expanding=True)), ExposureItem.open_amount > 0
)
_ITEMS_NAMED = select(*_ITEM_COLUMNS).where(  # by the unique (kind, reference), not a scan
    ExposureItem.kind.in_(ITEM_KINDS), ExposureItem.reference.in_(bindparam("refs", expanding=True))
)
_RESERVING_CHECKS = (
    select(
        CreditCheck.customer_id,
        CreditCheck.reference,
        CreditCheck.currency,
        CreditCheck.amount,
        CreditCheck.checked_at,
        CreditCheck.reserved_until,
    )
    .where(
        CreditCheck.customer_id.in_(bindparam("ids", expanding=True)),
        CreditCheck.status.in_(("approved", "released")),
        CreditCheck.reserved_until > bindparam("since"),
    )
    .order_by(CreditCheck.reference, CreditCheck.revision)
)
_ORDERS_NAMED = select(ExposureItem.reference).where(
    ExposureItem.kind == "order", ExposureItem.reference.in_(bindparam("refs", expanding=True))
)
_LIMITS_OF = select(CreditLimit.customer_id, CreditLimit.amount, CreditLimit.currency).where(
    CreditLimit.customer_id.in_(bindparam("ids", expanding=True))
)


def exposure_of(
    session: Session,
    *,
    customer_ids: list[int],
    policy: Policy,
    currency: str,
    now: datetime | None = None,
    rates: Rates | None = None,
    excluding: str | None = None,
) -> Exposure:
    """Buckets of ``customer_ids`` in ``currency``; ``excluding`` leaves out the order (and reservation) of one
    reference — the one being checked again, whose new amount replaces the old."""
    now = now or utcnow()
    rates = rates or rates_on(session, day=now.date(), base=policy.base_currency)
    items = _open_items(session, customer_ids, excluding=excluding) + _reserved(
        session, customer_ids, now=now, excluding=excluding
    )
    return buckets.exposure(items, today=now.date(), currency=currency, rates=rates, bands=policy.checks.overdue_bands)


def customer_exposure(session: Session, *, customer_id: int, policy: Policy) -> tuple[Exposure, CreditLimit | None]:
    customers.get_customer(session, customer_id=customer_id)
    limit = session.scalar(select(CreditLimit).where(CreditLimit.customer_id == customer_id))
    currency = limit.currency if limit else policy.base_currency
    return exposure_of(session, customer_ids=[customer_id], policy=policy, currency=currency), limit


def group_exposure(session: Session, *, group_id: int, policy: Policy) -> tuple[Exposure, GroupLimit | None]:
    relationships.get_group(session, group_id=group_id)
    limit = group_limit_of(session, group_id=group_id)
    members = relationships.group_member_ids(session, group_id=group_id)
    currency = limit.currency if limit else policy.base_currency
    return exposure_of(session, customer_ids=members, policy=policy, currency=currency), limit


def portfolio_total(session: Session, *, policy: Policy, rates: Rates) -> Decimal:
    """The unit's whole exposure (every open item) in the base currency."""
    rows = session.execute(
        select(ExposureItem.currency, func.sum(ExposureItem.open_amount))
        .where(ExposureItem.open_amount > 0)
        .group_by(ExposureItem.currency)
    ).all()
    return sum((rates.convert(Decimal(total), cur, policy.base_currency) for cur, total in rows), Decimal(0))


def group_limit_of(session: Session, *, group_id: int) -> GroupLimit | None:
    return session.scalar(select(GroupLimit).where(GroupLimit.group_id == group_id))


def set_group_limit(session: Session, *, group_id: int, data: GroupLimitIn, actor: Actor) -> GroupLimit:
    """A ceiling over the group's members (decision 0009: an approver sets it alone, as it only ever restricts)."""
    relationships.get_group(session, group_id=group_id)
    if data.expires_on <= utcnow().date():
        raise ValidationFailed("expires_on: a group limit must run into the future")
    limit = group_limit_of(session, group_id=group_id)
    old = {"amount": str(limit.amount), "currency": limit.currency} if limit else None
    if limit is None:
        limit = GroupLimit(group_id=group_id)
        session.add(limit)
    limit.amount, limit.currency, limit.expires_on, limit.reason = (
        data.amount,
        data.currency,
        data.expires_on,
        data.reason,
    )
    limit.set_by, limit.set_at = actor.name, utcnow()
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="credit.group_limit_set",
        entity_type="customer_group",
        entity_id=group_id,
        changes={
            "old": old,
            "new": {"amount": str(data.amount), "currency": data.currency, "expires_on": data.expires_on.isoformat()},
        },
        reason=data.reason,
    )
    return limit


def group_commitment(
    session: Session, *, group_id: int | None, customer_id: int, rates: Rates, currency: str
) -> tuple[Decimal, int]:
    """The sum of the approved limits of the customer's group, other than the customer's own, in ``currency``."""
    if group_id is None:
        return Decimal(0), 0
    others = session.scalars(
        select(CreditLimit).where(
            CreditLimit.customer_id.in_(relationships.group_member_ids(session, group_id=group_id)),
            CreditLimit.customer_id != customer_id,
        )
    ).all()
    return sum((rates.convert(o.amount, o.currency, currency) for o in others), Decimal(0)), len(others)
