"""Event intake: a batch of events in one unit of work — checked, deduplicated, applied to the customer's state in
``occurred_at`` order, run through the active rules, and turned into deduplicated alerts. The same code serves the
API, ``riskdesk events ingest`` and the Redis Streams workers (``stream``).

How (decision 0014): a batch reads everything it needs for all its customers at once — their state rows (locked on
PostgreSQL, in customer order), profiles, open items and credit checks, grades in force, recent alerts — applies
each event in memory, and writes back at once: the events in one statement, the open items in two, the states in
one, the alerts in one, and all the batch's ledger entries in one (decision 0017: the batch's own statements run on
the connection, past the ORM). ``StateCache`` keeps each customer's behaviour state and inputs between the batches
of one process (decision 0016).

Guarantees (docs/monitoring.md):

- **once**: ``event_id`` is unique. The same id with the same content (hash of the normalised event) again is a
  duplicate, counted and skipped; the same id with other content is a conflict, dead-lettered with the reason.
- **never dropped**: an event that is invalid, about an unknown customer, in a currency without a rate, or that a
  rule cannot decide is kept as a dead letter with its reason — the rest of the batch goes on. An event's changes
  stay aside until all its rules have decided, so a dead-lettered event leaves nothing half-applied.
- **late events**: a batch is applied in ``occurred_at`` order; an event later than the customer's newest lands in
  its own time buckets (``windows``). Open documents follow the newest event of each reference.
- **alerts once**: an alert's key is (customer, rule, triggering event), unique in the table, and a rule's hit
  within its suppression window of an earlier alert of the same rule and customer (by ``occurred_at``) is not
  raised again.

Exposure: order, delivery, invoice and payment events with a ``reference`` change the credit exposure's open items
(``_documents``; written through ``credit.exposure.write_items``); ``state`` (exposure, limit, utilisation, days
past due as of the event's day) is valued from them, and the grade in force from ``credit.portfolio``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.credit import buckets, portfolio
from riskdesk.credit import exposure as exposures
from riskdesk.credit.buckets import OpenItem, Rates
from riskdesk.credit.policy import Policy
from riskdesk.customers import service as customers
from riskdesk.db.types import utcnow
from riskdesk.errors import ValidationFailed
from riskdesk.monitoring import contexts, freshness, service, watch_list
from riskdesk.monitoring.models import CustomerMonitoringState, DeadLetter, MonitoringEvent, MonitoringRule
from riskdesk.monitoring.rules import Rule, RuleRuntimeError, RuleSet, RuleStatus
from riskdesk.monitoring.state_cache import Cached, CustomerInputs, StateCache
from riskdesk.monitoring.validation import EventIn, InvalidEvent, content_hash, parse_event
from riskdesk.monitoring.windows import (
    BehaviourState,
    FeatureValue,
    Observation,
)

MAX_BATCH = 1000
ZERO_LIMIT_UTILISATION = 999.0  # exposure against a limit of 0: far over, and still a finite number for CEL
ORDER_EVENTS = ("order_placed", "order_changed", "order_cancelled")

# The statements every batch runs, built once (building and keying a statement costs about as much as running a
# small one on SQLite).
_State = CustomerMonitoringState
_ACTIVE_RULE_IDS = (
    select(MonitoringRule.id)
    .where(MonitoringRule.status == RuleStatus.ACTIVE.value)
    .order_by(MonitoringRule.rule_id, MonitoringRule.version)
)
_STATE_ROWS = (
    select(
        _State.id, _State.customer_id, _State.events_applied, _State.last_occurred_at, _State.updated_at, _State.version
    )
    .where(_State.customer_id.in_(bindparam("ids", expanding=True)))
    .order_by(_State.customer_id)
    .with_for_update()
)
_STATE_TABLE = cast("Table", _State.__table__)
_NEW_STATES = insert(_STATE_TABLE)
_STATES_WRITTEN = (
    update(_STATE_TABLE)
    .where(_STATE_TABLE.c.id == bindparam("b_id"), _STATE_TABLE.c.version == bindparam("b_version"))
    .values(
        behaviour=bindparam("behaviour"),
        events_applied=bindparam("events_applied"),
        last_occurred_at=bindparam("last_occurred_at"),
        updated_at=bindparam("updated_at"),
        version=bindparam("version"),
    )
)
_NEW_EVENTS = insert(cast("Table", MonitoringEvent.__table__))
_BEHAVIOURS = select(_State.customer_id, _State.behaviour).where(_State.id.in_(bindparam("ids", expanding=True)))
_KNOWN_EVENTS = select(MonitoringEvent.event_id, MonitoringEvent.payload_hash, MonitoringEvent.received_at).where(
    MonitoringEvent.event_id.in_(bindparam("ids", expanding=True))
)
_NEWEST_ORDER_EVENTS = (
    select(MonitoringEvent.customer_id, MonitoringEvent.reference, func.max(MonitoringEvent.occurred_at))
    .where(
        MonitoringEvent.reference.in_(bindparam("references", expanding=True)),
        MonitoringEvent.type.in_(ORDER_EVENTS),
    )
    .group_by(MonitoringEvent.customer_id, MonitoringEvent.reference)
)


@dataclass(frozen=True)
class Rejection:
    index: int
    event_id: str | None
    code: str  # invalid | conflict | rule_failed | worker_error
    reason: str
    dead_letter_id: int


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    alerts: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "dead_lettered": self.dead_lettered,
            "alerts": self.alerts,
        }


class _Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class _StateRow:
    """A customer's state row as the batch read (and locked) it; its behaviour is read only where the cache has no
    current copy."""

    id: int
    customer_id: int
    events_applied: int
    last_occurred_at: datetime | None
    updated_at: datetime
    version: int


@dataclass
class _Customer:
    """One customer's working state in a batch. The batch's accepted events change it in memory; it is written back
    once, at the end. An event that is refused leaves it as it was: the position's changes are kept aside until the
    event is accepted, and the behaviour is rebuilt from the batch's start and its accepted observations."""

    inputs: CustomerInputs
    row: _StateRow
    behaviour: BehaviourState
    observations: list[Observation] = field(default_factory=list)
    accepted: int = 0
    newest: datetime | None = None
    items_touched: bool = False  # the batch added items to its position (named by its events, or changed)
    proposed: tuple[Any, buckets.Exposure, Decimal] | None = None  # the valuation if the event is accepted, keyed

    @property
    def position(self) -> exposures.Position:
        return self.inputs.position

    def undo_behaviour(self, session: Session) -> None:
        """Back to the batch's start (the row as stored: the batch writes it only at its end) and its accepted
        observations."""
        stored = session.scalar(
            select(CustomerMonitoringState.behaviour).where(CustomerMonitoringState.id == self.row.id)
        )
        self.behaviour = BehaviourState.from_json(stored or BehaviourState().to_json())
        for observation in self.observations:
            self.behaviour.apply(observation)


class _Batch:
    """One batch's unit of work: everything it needs is read at once for all its customers (``load``), each event
    is applied in memory, and what changed is written back at once (``write``)."""

    def __init__(
        self,
        session: Session,
        *,
        actor: Actor,
        policy: Policy,
        now: datetime,
        replaying: DeadLetter | None,
        cache: StateCache | None,
    ) -> None:
        self.session = session
        # The batch's own statements run on the connection, past the ORM (they read and write tables, not
        # entities; what the transaction changed through the ORM was flushed at the start: ``_ingest``).
        self.conn = session.connection()
        self.cache = cache
        self.actor = actor
        self.policy = policy
        self.now = now
        self.replaying = replaying
        self.result = IngestResult()
        self.rules: RuleSet = _active_rules(session, cache)
        self.window = max((rule.suppression for rule in self.rules.rules), default=timedelta(0))  # the longest
        self.rates: dict[date, Rates] = {}
        self.rate_keys: dict[date, tuple[Any, ...]] = {}
        self.customers: dict[int, _Customer] = {}
        self.owners: dict[tuple[str, str], int] = {}
        self.ordered: set[str] = set()
        self.events: list[dict[str, Any]] = []
        self.items: dict[tuple[str, str], exposures.ItemIn] = {}
        self.hits: list[service.Hit] = []
        self.new_items: set[tuple[str, str]] = set()  # of self.items, those not stored yet
        self.ledger: list[audit.Entry] = []  # chained at the end, in one statement

    # ── dead letters ──────────────────────────────────────────────────────────────────────────────────────────

    def dead_letter(self, index: int, raw: Any, event_id: str | None, code: str, reason: str) -> None:
        letter = service.dead_letter(
            self.session, raw=raw, event_id=event_id, code=code, reason=reason, actor=self.actor, letter=self.replaying
        )
        self.result.dead_lettered += 1
        self.result.rejections.append(Rejection(index, event_id, code, reason, letter.id))

    # ── reading the batch's customers at once ─────────────────────────────────────────────────────────────────

    def load(self, events: list[EventIn]) -> None:
        """Lock and read the state of every customer the batch names, in a handful of queries. On PostgreSQL the
        state rows are locked (``FOR UPDATE``, in customer order): two workers with events of the same customer
        take turns, so the second sees the first's events, open items and alerts. A customer whose state row is as
        this process last wrote it, and that this transaction has not touched (``freshness``), comes from the
        cache; the others are read."""
        ids = sorted({event.customer_id for event in events})
        if not ids:
            return
        rows = self._state_rows(ids)
        since = min(event.occurred_at for event in events)
        complete_from = since - self.window
        touched = freshness.pending(self.session)
        cached: dict[int, Cached] = {}
        for customer_id, row in rows.items():
            entry = self.cache.take(customer_id, row.version, row.updated_at) if self.cache else None
            if entry is not None:
                inputs = entry.inputs
                stale = customer_id in touched or freshness.EVERYONE in touched
                if inputs is not None and (stale or inputs.complete_from > complete_from):
                    entry.inputs = None
                cached[customer_id] = entry
        missing = [row.id for customer_id, row in rows.items() if customer_id not in cached]
        if missing:
            stored = self.conn.execute(_BEHAVIOURS, {"ids": missing})
            cached |= {customer_id: Cached(BehaviourState.from_json(data)) for customer_id, data in stored}
        fresh = [customer_id for customer_id in ids if customer_id not in cached or cached[customer_id].inputs is None]
        found = customers.profiles(self.session, fresh) if fresh else {}
        ids = [customer_id for customer_id in ids if customer_id in rows or customer_id in found]
        fresh = [customer_id for customer_id in fresh if customer_id in found]
        new = [customer_id for customer_id in ids if customer_id not in rows]
        if new:
            empty = BehaviourState().to_json()
            self.conn.execute(
                _NEW_STATES,
                [{"customer_id": customer_id, "behaviour": empty, "events_applied": 0} for customer_id in new],
            )
            rows |= self._state_rows(new)
            cached |= {customer_id: Cached(BehaviourState()) for customer_id in new}
        references = [e.reference for e in events if e.reference is not None and e.type in DOCUMENT_KINDS]
        positions = exposures.positions(self.session, customer_ids=fresh, references=references, since=since)
        read = self._read(fresh, found, positions, complete_from)
        self.owners = {key: owner for key, (owner, _) in positions.named.items()}
        self.ordered = set(positions.ordered)
        for customer_id in ids:
            inputs = read.get(customer_id) or cast("CustomerInputs", cached[customer_id].inputs)
            customer = _Customer(inputs, rows[customer_id], cached[customer_id].behaviour)
            for key, (owner, item) in positions.named.items():  # settled items the batch's events name
                if owner == customer_id and key not in inputs.position.items:
                    inputs.position.items[key] = item
                    customer.items_touched = True
            self.ordered |= inputs.ordered
            self.customers[customer_id] = customer
        self._order_times(events)

    def _state_rows(self, ids: list[int]) -> dict[int, _StateRow]:
        return {row.customer_id: _StateRow(*row) for row in self.conn.execute(_STATE_ROWS, {"ids": ids})}

    def _read(
        self,
        fresh: list[int],
        found: dict[int, customers.Profile],
        positions: exposures.Positions,
        complete_from: datetime,
    ) -> dict[int, CustomerInputs]:
        """The inputs of the customers not in the cache."""
        if not fresh:
            return {}
        grades = portfolio.latest_grades_of(self.session, customer_ids=fresh)
        watched = watch_list.listed(self.session, customer_ids=fresh)
        fired = service.recent_alerts(self.session, customer_ids=fresh, start=complete_from)
        read = {}
        for customer_id in fresh:
            position = positions.by_customer[customer_id]
            read[customer_id] = CustomerInputs(
                profile=contexts.customer_input(found[customer_id], on_watch_list=customer_id in watched),
                position=position,
                score=self._score(*grades[customer_id]),
                fired=fired.get(customer_id, {}),
                complete_from=complete_from,
                ordered={check[0] for check in position.checks} & positions.ordered,
            )
        return read

    def _order_times(self, events: list[EventIn]) -> None:
        """The newest order event of each reference the batch's order events name, where the customer's inputs do
        not hold it yet (a late ``order_changed`` must not move an order back). A reference without a stored order
        item has no stored order event either (every accepted order event with a reference writes its item), so
        new orders need no query."""
        wanted = {
            (event.customer_id, event.reference)
            for event in events
            if event.type in ORDER_EVENTS
            and event.reference is not None
            and self.owners.get(("order", event.reference)) == event.customer_id
            and event.customer_id in self.customers
            and event.reference not in self.customers[event.customer_id].inputs.order_times
        }
        if not wanted:
            return
        newest = self.conn.execute(_NEWEST_ORDER_EVENTS, {"references": sorted({reference for _, reference in wanted})})
        for customer_id, reference, at in newest:
            if (customer_id, reference) in wanted:
                self.customers[customer_id].inputs.order_times[str(reference)] = at

    def _score(self, graded: portfolio.LatestGrade | None, latest: list[Any]) -> dict[str, Any]:
        """The score (points of the expert scorecard, and their change) and the grade in force with the grade it
        replaced. The grade is not only the assessments': a rescoring by the champion PD model grades customers too
        (stored as PD predictions, which have no points), so it is the newer of the latest prediction and the latest
        assessment (``portfolio.latest_grades_of``). A rescoring's downgrade is thus what the ``score_changed`` event
        it sends is judged on (``monitoring.model_alerts``)."""
        now = latest[0] if latest else None
        before = latest[1] if len(latest) > 1 else None
        notches = 0
        if graded is not None and graded.previous_grade is not None:
            rank = self.policy.grade_rank
            notches = max(0, rank(graded.grade) - rank(graded.previous_grade))
        return {
            "score": now.points if now else None,
            "score_change": now.points - before.points if now and before else 0,
            "grade": graded.grade if graded else None,
            "previous_grade": graded.previous_grade if graded else None,
            "grade_notches_down": notches,
        }

    def rates_key(self, day: date) -> tuple[Any, ...]:
        """The rates of ``day`` as a value: a valuation kept from an earlier batch holds only with the same ones."""
        if day not in self.rate_keys:
            rates = self.rates_on(day)
            self.rate_keys[day] = tuple(sorted((r.currency, r.rate, r.valid_on) for r in rates.by_currency.values()))
        return self.rate_keys[day]

    def rates_on(self, day: date) -> Rates:
        if day not in self.rates:
            self.rates[day] = exposures.rates_on(self.session, day=day, base=self.policy.base_currency)
        return self.rates[day]

    # ── one event ─────────────────────────────────────────────────────────────────────────────────────────────

    def apply(self, index: int, raw: Any, event: EventIn, digest: str, content: dict[str, Any]) -> None:
        customer = self.customers[event.customer_id]
        try:
            raised = self._apply(customer, event, digest, content)
        except _Refused as refused:
            customer.undo_behaviour(self.session)
            self.dead_letter(index, raw, event.event_id, refused.code, refused.reason)
            return
        customer.accepted += 1
        if customer.newest is None or event.occurred_at > customer.newest:
            customer.newest = event.occurred_at
        self.result.accepted += 1
        self.result.alerts += raised

    def _apply(self, customer: _Customer, event: EventIn, digest: str, content: dict[str, Any]) -> int:
        base_amount = self._base_amount(event)
        changes = self._documents(customer, event)
        observation = contexts.observation(event, base_amount)
        if observation is not None:
            features: dict[str, FeatureValue] = customer.behaviour.observe(observation)
        else:
            features = customer.behaviour.snapshot(event.occurred_at)
        state = self._state(customer, event.occurred_at, changes)
        context = {
            "event": contexts.event_input(event, base_amount),
            "state": state,
            "features": features,
            "customer": customer.inputs.profile,
        }
        try:
            hits = self.rules.matching(context)
        except RuleRuntimeError as error:
            raise _Refused("rule_failed", error.message) from None
        # Accepted: what the event changed becomes the customer's.
        if observation is not None:
            customer.observations.append(observation)
        if changes:
            inputs = customer.inputs
            inputs.items_version += 1
            key, exposure, limit_amount = cast("tuple[Any, buckets.Exposure, Decimal]", customer.proposed)
            inputs.valued = (key, exposure, limit_amount)
        for key, item in changes.items():
            if key not in customer.position.items:  # it holds every stored item the batch's events name (``load``)
                self.new_items.add(key)
            customer.position.items[key] = item
            customer.items_touched = True
            self.owners[key] = event.customer_id
            if item.kind == "order":
                self.ordered.add(item.reference)
            self.items[key] = exposures.ItemIn(
                customer_id=event.customer_id,
                kind=item.kind,
                reference=item.reference,
                currency=item.currency,
                open_amount=item.open_amount,
                document_date=item.document_date,
                due_on=item.due_on,
            )
        if event.type in ORDER_EVENTS and event.reference is not None:
            times = customer.inputs.order_times
            times[event.reference] = max(event.occurred_at, times.get(event.reference, event.occurred_at))
        self.events.append(
            {
                "event_id": event.event_id,
                "type": event.type,
                "customer_id": event.customer_id,
                "occurred_at": event.occurred_at,
                "reference": event.reference,
                # The event as received, its amount in the base currency, and the state the rules saw (for
                # backtests: ``contexts``); the payload hash is of the event alone.
                "payload": content
                | {
                    "amount_base": str(base_amount) if base_amount is not None else None,
                    contexts.STATE_KEY: contexts.state_to_json(state),
                },
                "payload_hash": digest,
                "received_by": self.actor.name,
                "received_at": self.now,
            }
        )
        raised = 0
        for rule in hits:
            if self._suppressed(customer, rule, event.occurred_at):
                continue
            self.hits.append(service.Hit(rule, event, context))
            customer.inputs.fired.setdefault(rule.id, []).append(event.occurred_at)
            raised += 1
            if rule.tier.value in watch_list.LISTING_TIERS:  # the alert lists it (when stored); later events see it
                customer.inputs.profile["on_watch_list"] = True
        return raised

    @staticmethod
    def _suppressed(customer: _Customer, rule: Rule, at: datetime) -> bool:
        """A hit within the rule's window of an earlier alert of the rule for the customer (either side in
        ``occurred_at``: a late event counts too) is not raised again."""
        return any(abs(at - when) < rule.suppression for when in customer.inputs.fired.get(rule.id, ()))

    def _state(self, customer: _Customer, at: datetime, changes: dict[tuple[str, str], OpenItem]) -> dict[str, Any]:
        """Exposure and days past due as of the event's time, in the base currency, with the event's own changes."""
        position = customer.position
        # The valuation changes only with the items, the day (ageing, rates) and the reservations in force (they
        # expire, and end when their order arrives): an event that changes none of them (most transactions,
        # signals) reuses the last one, and one that changes a few items adjusts it by those items.
        inputs, day = customer.inputs, at.date()
        reserving = tuple(c[0] for c in position.checks if c[4] > at and c[0] not in self.ordered)
        key = (day, self.rates_key(day), inputs.items_version, reserving)
        valued = inputs.valued if inputs.valued is not None and inputs.valued[0] == key else None
        exposure: buckets.Exposure | None = None
        if valued is not None and not changes:
            _, exposure, limit_amount = valued
        elif valued is not None and not any(k[0] == "order" and k[1] in reserving for k in changes):
            exposure, limit_amount = self._adjust(valued, position, day, changes), valued[2]
        if exposure is None:
            exposure, limit_amount = self._value(position, at, changes)
        if changes:  # the valuation once this event's changes are accepted (a new order ends its reservation)
            new_orders = {item.reference for item in changes.values() if item.kind == "order"}
            after = tuple(reference for reference in reserving if reference not in new_orders)
            customer.proposed = ((day, key[1], inputs.items_version + 1, after), exposure, limit_amount)
        else:
            inputs.valued = (key, exposure, limit_amount)
        if limit_amount > 0:
            utilisation = float(exposure.total / limit_amount)
        else:
            utilisation = ZERO_LIMIT_UTILISATION if position.limit is not None and exposure.total > 0 else 0.0
        overdue = [v for k, v in exposure.buckets.items() if k.startswith("overdue") and v > 0]
        return {
            "exposure": exposure.total,
            "credit_limit": limit_amount,
            "utilisation": utilisation,
            "overdue_amount": exposure.overdue,
            "overdue_invoices": len(overdue),  # bands holding overdue invoices; exact counts need the items
            "max_days_past_due": exposure.max_days_past_due,
            **customer.inputs.score,
        }

    def _adjust(
        self,
        valued: tuple[Any, buckets.Exposure, Decimal],
        position: exposures.Position,
        day: date,
        changes: dict[tuple[str, str], OpenItem],
    ) -> buckets.Exposure | None:
        """The last valuation with the event's changed items in place of what they were (None: value afresh)."""
        try:
            return buckets.adjusted(
                valued[1],
                removed=[position.items[key] for key in changes if key in position.items],
                added=list(changes.values()),
                today=day,
                rates=self.rates_on(day),
                bands=self.policy.checks.overdue_bands,
            )
        except ValidationFailed:  # a currency without a rate: valued afresh, which says so
            return None

    def _value(
        self, position: exposures.Position, at: datetime, changes: dict[tuple[str, str], OpenItem]
    ) -> tuple[buckets.Exposure, Decimal]:
        base = self.policy.base_currency
        rates = self.rates_on(at.date())
        items = [item for key, item in position.items.items() if key not in changes] + list(changes.values())
        ordered = self.ordered | {item.reference for item in changes.values() if item.kind == "order"}
        try:
            exposure = buckets.exposure(
                items + position.reserved(at, ordered),
                today=at.date(),
                currency=base,
                rates=rates,
                bands=self.policy.checks.overdue_bands,
            )
            limit_amount = rates.convert(position.limit[0], position.limit[1], base) if position.limit else Decimal(0)
        except ValidationFailed as error:  # an open item or the limit in a currency without a rate on that day
            raise _Refused(
                "invalid",
                f"the customer's exposure on {at.date()} cannot be valued: {error.message}; then replay this event",
            ) from None
        return exposure, limit_amount

    def _base_amount(self, event: EventIn) -> Decimal | None:
        if event.amount is None or event.currency is None:
            return None
        try:
            rates = self.rates_on(event.occurred_at.date())
            return rates.convert(event.amount, event.currency, self.policy.base_currency)
        except ValidationFailed:
            raise _Refused(
                "invalid",
                f"currency: there is no exchange rate for {event.currency} on or before"
                f" {event.occurred_at.date()}; load one (PUT /api/v1/fx-rates), then replay this event",
            ) from None

    def _documents(self, customer: _Customer, event: EventIn) -> dict[tuple[str, str], OpenItem]:
        """Open items of the credit exposure that the event changes, when it names its document (``reference``):

        - order_placed / order_changed: the order's open amount is the event's; order_cancelled: 0;
        - delivery: the order of the same reference is delivered (0) and the delivery is open for its amount;
        - invoice_issued: the delivery of the same reference is invoiced (0), the invoice open until ``due_at``;
        - payment_received: the invoice of the same reference is reduced by the amount (not below 0).

        Amounts stay in the event's currency. An order event older than the newest order event of the same
        reference does not move the order back (a late ``order_changed``). A reference names one customer's
        document: another customer's reference is refused."""
        if event.reference is None or event.amount is None or event.currency is None:
            return {}
        kinds = DOCUMENT_KINDS.get(event.type)
        if kinds is None:
            return {}
        reference = event.reference
        for kind in kinds:
            owner = self.owners.get((kind, reference))
            if owner is not None and owner != event.customer_id:
                raise _Refused(
                    "invalid",
                    f"exposure of {reference}: {kind} {reference} belongs to customer {owner}, not"
                    f" {event.customer_id}; a reference names one document of one customer",
                )
        if event.type in ORDER_EVENTS:
            newest = customer.inputs.order_times.get(reference)
            if newest is not None and newest > event.occurred_at:
                return {}
        current = customer.position.items
        day = event.occurred_at.date()
        changes: dict[tuple[str, str], OpenItem] = {}

        def item(kind: str, amount: Decimal, *, currency: str, due_on: date | None = None, since: date = day) -> None:
            changes[(kind, reference)] = OpenItem(kind, reference, currency, max(amount, Decimal(0)), since, due_on)

        def settle(kind: str) -> None:
            known = current.get((kind, reference))
            if known is not None and known.open_amount > 0:
                item(kind, Decimal(0), currency=known.currency, due_on=known.due_on, since=known.document_date)

        match event.type:
            case "order_placed" | "order_changed":
                item("order", event.amount, currency=event.currency)
            case "order_cancelled":
                item("order", Decimal(0), currency=event.currency)
            case "delivery":
                settle("order")
                item("delivery", event.amount, currency=event.currency)
            case "invoice_issued":
                settle("delivery")
                item("invoice", event.amount, currency=event.currency, due_on=event.fields["due_at"].date())
            case "payment_received":
                invoice = current.get(("invoice", reference))
                if invoice is None:
                    return {}
                paid = self.rates_on(day).convert(event.amount, event.currency, invoice.currency)
                item(
                    "invoice",
                    invoice.open_amount - paid,
                    currency=invoice.currency,
                    due_on=invoice.due_on,
                    since=invoice.document_date,
                )
        for (kind, _), changed in changes.items():
            if changed.currency != self.policy.base_currency and changed.currency not in self.rates_on(day).by_currency:
                raise _Refused(
                    "invalid",
                    f"exposure of {reference}: there is no exchange rate for {changed.currency}; load one first",
                )
            if kind == "invoice" and changed.due_on is not None and changed.due_on < changed.document_date:
                raise _Refused("invalid", f"exposure of {reference}: an invoice falls due on or after its date")
        return changes

    # ── writing the batch back ────────────────────────────────────────────────────────────────────────────────

    def write(self) -> None:
        """The accepted events in one statement, the changed open items in one call, the customers' states."""
        with freshness.quiet(self.session):  # the cache is kept current below
            self._write()

    def _write(self) -> None:
        if self.events:
            self.conn.execute(_NEW_EVENTS, self.events)
        if self.hits:
            self.ledger += service.raise_alerts(self.session, hits=self.hits, actor=self.actor)
        if self.items:
            self.ledger += exposures.write_items(
                self.session,
                items=list(self.items.values()),
                existing=set(self.items) - self.new_items,
                actor=self.actor,
            )
        now = utcnow()
        changed = []
        keys: dict[int, tuple[int, datetime | None]] = {}
        for customer_id, customer in self.customers.items():
            row = customer.row
            keys[customer_id] = (row.version, row.updated_at)
            if not customer.accepted:
                continue
            last = row.last_occurred_at
            if customer.newest is not None and (last is None or customer.newest > last):
                last = customer.newest
            changed.append(
                {
                    "b_id": row.id,
                    "b_version": row.version,
                    "behaviour": customer.behaviour.to_json(),
                    "events_applied": row.events_applied + customer.accepted,
                    "last_occurred_at": last,
                    "updated_at": now,
                    "version": row.version + 1,
                }
            )
            keys[customer_id] = (row.version + 1, now)
        if changed:
            # One statement for every customer the batch changed, checking each row's version as the ORM would (a
            # state row is locked by the batch, so it holds unless something bypassed the lock).
            done = self.conn.execute(_STATES_WRITTEN, changed)
            updated = cast("CursorResult[Any]", done).rowcount
            if updated not in (len(changed), -1):
                raise StaleDataError(f"{len(changed) - updated} customer states changed under the batch")
        if self.cache is not None:  # the versions and times just written
            for customer_id, customer in self.customers.items():
                self._trim(customer)
                self.cache.put(customer_id, *keys[customer_id], Cached(customer.behaviour, customer.inputs))

    def _trim(self, customer: _Customer) -> None:
        """What the cache need not keep: settled items and the newest order events of orders no longer open (both
        read again when an event names them), and alerts long before the customer's newest event (a late event
        that old reads the customer again: ``complete_from``)."""
        inputs, position = customer.inputs, customer.position
        if customer.items_touched:  # else they are as the cache last held them
            position.items = {key: item for key, item in position.items.items() if item.open_amount > 0}
            inputs.order_times = {r: at for r, at in inputs.order_times.items() if ("order", r) in position.items}
        inputs.ordered = {check[0] for check in position.checks} & self.ordered
        newest = customer.row.last_occurred_at if customer.newest is None else customer.newest
        if newest is not None:
            horizon = newest - 2 * self.window
            if horizon > inputs.complete_from:
                inputs.fired = {
                    rule: kept for rule, times in inputs.fired.items() if (kept := [t for t in times if t >= horizon])
                }
                inputs.complete_from = horizon

    def settle_known(self, index: int, raw: Any, event: EventIn, digest: str, known: tuple[str, datetime]) -> None:
        """An event id stored already (its content hash and when): a duplicate (counted) or a conflict
        (dead-lettered)."""
        stored_hash, received_at = known
        if stored_hash == digest:
            self.result.duplicates += 1
            return
        self.dead_letter(
            index,
            raw,
            event.event_id,
            "conflict",
            f"event {event.event_id} was already received on {received_at:%Y-%m-%d %H:%M} UTC with other"
            " content; an event id names one event — send a correction under a new id",
        )


DOCUMENT_KINDS = {
    "order_placed": ("order",),
    "order_changed": ("order",),
    "order_cancelled": ("order",),
    "delivery": ("order", "delivery"),
    "invoice_issued": ("delivery", "invoice"),
    "payment_received": ("invoice",),
}


def ingest(
    session: Session,
    *,
    events: Sequence[Any],
    actor: Actor,
    policy: Policy,
    now: datetime | None = None,
    replaying: DeadLetter | None = None,
    cache: StateCache | None = None,
) -> IngestResult:
    """Process one batch (at most ``MAX_BATCH`` events) in the caller's unit of work; see the module's guarantees.
    ``cache``: the process's ``StateCache``, if it keeps one (``Container.monitoring_states``).

    On PostgreSQL two workers may store the same new event id, or the first state of the same new customer, at the
    same moment: the later one's batch then meets a unique key, is rolled back to its start (a savepoint) and
    processed again — once — now seeing what the other stored. SQLite's writers take turns, so it needs no
    savepoint."""
    if len(events) > MAX_BATCH:
        raise ValidationFailed(f"at most {MAX_BATCH} events per batch; split the file or the stream")
    if session.get_bind().dialect.name == "sqlite":  # writers take turns (BEGIN IMMEDIATE): no race to retry
        return _ingest(session, events=events, actor=actor, policy=policy, now=now, replaying=replaying, cache=cache)
    for attempt in (1, 2):
        savepoint = session.begin_nested()
        try:
            result = _ingest(
                session, events=events, actor=actor, policy=policy, now=now, replaying=replaying, cache=cache
            )
        except IntegrityError:
            savepoint.rollback()
            if attempt == 2:
                raise
            continue
        savepoint.commit()
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _ingest(
    session: Session,
    *,
    events: Sequence[Any],
    actor: Actor,
    policy: Policy,
    now: datetime | None,
    replaying: DeadLetter | None,
    cache: StateCache | None,
) -> IngestResult:
    session.flush()  # what the transaction changed before: ``freshness`` marks those customers to be read afresh
    batch = _Batch(session, actor=actor, policy=policy, now=now or utcnow(), replaying=replaying, cache=cache)
    valid: list[tuple[int, Any, EventIn, str, dict[str, Any]]] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(events):
        try:
            event = parse_event(raw, now=batch.now)
        except InvalidEvent as error:
            event_id = raw.get("event_id") if isinstance(raw, dict) else None
            batch.dead_letter(
                index, raw, str(event_id)[:128] if event_id is not None else None, "invalid", error.reason
            )
            continue
        content = event.content()
        digest = content_hash(content)
        if event.event_id in seen:
            if seen[event.event_id] == digest:
                batch.result.duplicates += 1
            else:
                batch.dead_letter(
                    index,
                    raw,
                    event.event_id,
                    "conflict",
                    f"event {event.event_id} appears twice in the batch with different content",
                )
            continue
        seen[event.event_id] = digest
        valid.append((index, raw, event, digest, content))
    batch.load([v[2] for v in valid])  # locks the customers' states first: see ``_Batch.load``
    known = {
        event_id: (stored_hash, received_at)
        for event_id, stored_hash, received_at in batch.conn.execute(_KNOWN_EVENTS, {"ids": list(seen)})
    }
    for index, raw, event, digest, content in sorted(valid, key=lambda v: (v[2].occurred_at, v[0])):
        if event.event_id in known:
            batch.settle_known(index, raw, event, digest, known[event.event_id])
            continue
        if event.customer_id not in batch.customers:
            batch.dead_letter(
                index, raw, event.event_id, "invalid", f"customer_id: there is no customer {event.customer_id}"
            )
            continue
        batch.apply(index, raw, event, digest, content)
    batch.write()
    result = batch.result
    if replaying is not None and not result.rejections:
        replaying.replayed_at, replaying.replayed_by = utcnow(), actor.name
    if result.accepted or result.dead_lettered:
        batch.ledger.append(
            audit.Entry(
                "events.ingested" if replaying is None else "events.replayed",
                "monitoring_events",
                replaying.id if replaying is not None else 0,
                {**result.counts(), "dead_letters": sorted({r.dead_letter_id for r in result.rejections})[:200]},
            )
        )
    audit.append_many(session, actor=actor, entries=batch.ledger)
    session.flush()
    return result


def _active_rules(session: Session, cache: StateCache | None) -> RuleSet:
    """The active rules, from the cache when the same rule versions are active (a version never changes once
    active), else read and compiled."""
    if cache is None:
        return service.active_rules(session)
    ids = tuple(session.connection().execute(_ACTIVE_RULE_IDS).scalars())
    rules = cache.rules(ids)
    if rules is None:
        rows = session.scalars(
            select(MonitoringRule)
            .where(MonitoringRule.id.in_(ids))
            .order_by(MonitoringRule.rule_id, MonitoringRule.version)
        )
        rules = RuleSet(service.rule_of(row) for row in rows)
        cache.keep_rules(ids, rules)
    return rules


def replay(session: Session, *, dead_letter_id: int, actor: Actor, policy: Policy) -> tuple[DeadLetter, IngestResult]:
    """Process a dead letter's raw event again (after a rate was loaded, a customer created, a rule fixed)."""
    letter = service.get_dead_letter(session, dead_letter_id=dead_letter_id)
    if letter.replayed_at is not None:
        raise ValidationFailed(f"dead letter {dead_letter_id} was already replayed on {letter.replayed_at:%Y-%m-%d}")
    result = ingest(session, events=[letter.raw], actor=actor, policy=policy, replaying=letter)
    return letter, result
