"""Event intake in embedded mode: a batch of events in one unit of work — checked, deduplicated, applied to the
customer's state in ``occurred_at`` order, run through the active rules, and turned into deduplicated alerts.

Guarantees (docs/monitoring.md):

- **once**: ``event_id`` is unique. The same id with the same content (hash of the normalised event) again is a
  duplicate, counted and skipped; the same id with other content is a conflict, dead-lettered with the reason.
- **never dropped**: an event that is invalid, about an unknown customer, in a currency without a rate, or that a
  rule cannot decide is kept as a dead letter with its reason — the rest of the batch goes on. Each event runs in
  a savepoint, so a dead-lettered event leaves nothing half-applied.
- **late events**: a batch is applied in ``occurred_at`` order; an event later than the customer's newest lands in
  its own time buckets (``windows``). Open documents follow the newest event of each reference.
- **alerts once**: an alert's key is (customer, rule, triggering event), unique in the table, and a rule's hit
  within its suppression window of an earlier alert of the same rule and customer (by ``occurred_at``) is not
  raised again.

Exposure: order, delivery, invoice and payment events with a ``reference`` update the credit exposure's open
items through ``credit.exposure.record_items`` (see ``_documents``); ``state`` (exposure, limit, utilisation, days
past due as of the event's day) is then read from ``credit.exposure`` and the score from the credit assessments.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.credit import exposure as exposures
from riskdesk.credit import service as credit
from riskdesk.credit.buckets import Rates
from riskdesk.credit.policy import Policy
from riskdesk.customers import relationships
from riskdesk.customers import service as customers
from riskdesk.db.types import utcnow
from riskdesk.errors import DomainError, ValidationFailed
from riskdesk.monitoring import contexts, service
from riskdesk.monitoring.models import CustomerMonitoringState, DeadLetter, MonitoringEvent
from riskdesk.monitoring.rules import RuleRuntimeError, RuleSet
from riskdesk.monitoring.validation import EventIn, InvalidEvent, content_hash, parse_event
from riskdesk.monitoring.windows import BehaviourState, FeatureValue

MAX_BATCH = 1000
ZERO_LIMIT_UTILISATION = 999.0  # exposure against a limit of 0: far over, and still a finite number for CEL


@dataclass(frozen=True)
class Rejection:
    index: int
    event_id: str | None
    code: str  # invalid | conflict | rule_failed
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


def _json_safe(raw: Any) -> Any:
    return json.loads(json.dumps(raw, default=str, ensure_ascii=False))


class _Batch:
    """One batch's unit of work: what it has read once (rules, rates, scores, states) and what it counts."""

    def __init__(
        self, session: Session, *, actor: Actor, policy: Policy, now: datetime, replaying: DeadLetter | None
    ) -> None:
        self.session = session
        self.actor = actor
        self.policy = policy
        self.now = now
        self.replaying = replaying
        self.result = IngestResult()
        self.rules: RuleSet = service.active_rules(session)
        self.rates: dict[date, Rates] = {}
        self.scores: dict[int, dict[str, Any]] = {}
        self.customers: dict[int, dict[str, Any]] = {}
        self.states: dict[int, tuple[CustomerMonitoringState, BehaviourState]] = {}

    # ── dead letters ──────────────────────────────────────────────────────────────────────────────────────────

    def dead_letter(self, index: int, raw: Any, event_id: str | None, code: str, reason: str) -> None:
        raw = _json_safe(raw)
        digest = content_hash(raw)
        letter = self.replaying
        if letter is None:
            letter = self.session.scalar(
                select(DeadLetter).where(DeadLetter.payload_hash == digest, DeadLetter.replayed_at.is_(None)).limit(1)
            )
        if letter is None:
            letter = DeadLetter(
                event_id=event_id,
                raw=raw,
                payload_hash=digest,
                code=code,
                reason=reason[:2000],
                attempts=1,
                received_by=self.actor.name,
                received_at=utcnow(),
            )
            self.session.add(letter)
        else:  # the same raw event refused again: one dead letter, one more attempt
            letter.code, letter.reason, letter.attempts = code, reason[:2000], letter.attempts + 1
        self.session.flush()
        self.result.dead_lettered += 1
        self.result.rejections.append(Rejection(index, event_id, code, reason, letter.id))

    # ── the customer's inputs ─────────────────────────────────────────────────────────────────────────────────

    def rates_on(self, day: date) -> Rates:
        if day not in self.rates:
            self.rates[day] = exposures.rates_on(self.session, day=day, base=self.policy.base_currency)
        return self.rates[day]

    def customer(self, customer_id: int) -> dict[str, Any]:
        if customer_id not in self.customers:
            found = customers.get_customer(self.session, customer_id=customer_id)
            self.customers[customer_id] = contexts.customer_input(found)
        return self.customers[customer_id]

    def score(self, customer_id: int) -> dict[str, Any]:
        """The latest credit assessment's score and grade, and the change from the one before."""
        if customer_id not in self.scores:
            latest = credit.assessments_of(self.session, customer_id=customer_id, limit=2)
            now = latest[0] if latest else None
            before = latest[1] if len(latest) > 1 else None
            notches = 0
            if now and before and now.grade.isdigit() and before.grade.isdigit():
                notches = max(0, int(now.grade) - int(before.grade))
            self.scores[customer_id] = {
                "score": now.points if now else None,
                "score_change": now.points - before.points if now and before else 0,
                "grade": now.grade if now else None,
                "previous_grade": before.grade if before else None,
                "grade_notches_down": notches,
            }
        return self.scores[customer_id]

    def credit_state(self, customer_id: int, at: datetime) -> dict[str, Any]:
        """Exposure and days past due as of the event's time, in the base currency."""
        base = self.policy.base_currency
        rates = self.rates_on(at.date())
        exposure = exposures.exposure_of(
            self.session, customer_ids=[customer_id], policy=self.policy, currency=base, now=at, rates=rates
        )
        _, limit = exposures.customer_exposure(self.session, customer_id=customer_id, policy=self.policy)
        limit_amount = rates.convert(limit.amount, limit.currency, base) if limit else Decimal(0)
        if limit_amount > 0:
            utilisation = float(exposure.total / limit_amount)
        else:
            utilisation = ZERO_LIMIT_UTILISATION if limit is not None and exposure.total > 0 else 0.0
        overdue = [v for k, v in exposure.buckets.items() if k.startswith("overdue") and v > 0]
        return {
            "exposure": exposure.total,
            "credit_limit": limit_amount,
            "utilisation": utilisation,
            "overdue_amount": exposure.overdue,
            "overdue_invoices": len(overdue),  # bands holding overdue invoices; exact counts need the items
            "max_days_past_due": exposure.max_days_past_due,
            **self.score(customer_id),
        }

    def behaviour(self, customer_id: int) -> tuple[CustomerMonitoringState, BehaviourState]:
        if customer_id not in self.states:
            row = self.session.scalar(
                select(CustomerMonitoringState).where(CustomerMonitoringState.customer_id == customer_id)
            )
            if row is None:
                state = BehaviourState()
                row = CustomerMonitoringState(customer_id=customer_id, behaviour=state.to_json(), events_applied=0)
                self.session.add(row)
                self.session.flush()  # now, not inside an event's savepoint that may roll back
            else:
                state = BehaviourState.from_json(row.behaviour)
            self.states[customer_id] = (row, state)
        return self.states[customer_id]

    def save_states(self) -> None:
        for row, state in self.states.values():
            row.behaviour = state.to_json()
            row.updated_at = utcnow()
        self.session.flush()

    # ── one event ─────────────────────────────────────────────────────────────────────────────────────────────

    def apply(self, index: int, raw: Any, event: EventIn, digest: str) -> None:
        row, behaviour = self.behaviour(event.customer_id)
        saved = behaviour.to_json()
        savepoint = self.session.begin_nested()
        try:
            raised = self._apply(event, digest, behaviour)
            savepoint.commit()
        except _Refused as refused:
            savepoint.rollback()
            self.states[event.customer_id] = (row, BehaviourState.from_json(saved))
            self.dead_letter(index, raw, event.event_id, refused.code, refused.reason)
            return
        except IntegrityError:
            # Another batch stored this event id at the same moment: decide against what it stored.
            savepoint.rollback()
            self.states[event.customer_id] = (row, BehaviourState.from_json(saved))
            self.settle_known(index, raw, event, digest)
            return
        row.events_applied += 1
        if row.last_occurred_at is None or event.occurred_at > row.last_occurred_at:
            row.last_occurred_at = event.occurred_at
        self.result.accepted += 1
        self.result.alerts += raised

    def _apply(self, event: EventIn, digest: str, behaviour: BehaviourState) -> int:
        base_amount = self._base_amount(event)
        self._documents(event)
        state = self.credit_state(event.customer_id, event.occurred_at)
        self.session.add(
            MonitoringEvent(
                event_id=event.event_id,
                type=event.type,
                customer_id=event.customer_id,
                occurred_at=event.occurred_at,
                reference=event.reference,
                # The payload keeps the state the rules saw (contexts.STATE_KEY, money as exact strings), so a
                # backtest (monitoring.backtests) replays this event with it; features are rebuilt from the
                # events themselves. The payload hash stays that of the event alone.
                payload=event.content()
                | {
                    "amount_base": str(base_amount) if base_amount is not None else None,
                    contexts.STATE_KEY: contexts.state_to_json(state),
                },
                payload_hash=digest,
                received_by=self.actor.name,
                received_at=utcnow(),
            )
        )
        self.session.flush()
        observation = contexts.observation(event, base_amount)
        if observation is not None:
            features: dict[str, FeatureValue] = behaviour.observe(observation)
        else:
            features = behaviour.snapshot(event.occurred_at)
        context = {
            "event": contexts.event_input(event, base_amount),
            "state": state,
            "features": features,
            "customer": self.customer(event.customer_id),
        }
        try:
            hits = self.rules.matching(context)
        except RuleRuntimeError as error:
            raise _Refused("rule_failed", error.message) from None
        return sum(
            service.raise_alert(self.session, rule=rule, event=event, context=context, actor=self.actor)
            for rule in hits
        )

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

    def _documents(self, event: EventIn) -> None:
        """Open items of the credit exposure that the event changes, when it names its document (``reference``):

        - order_placed / order_changed: the order's open amount is the event's; order_cancelled: 0;
        - delivery: the order of the same reference is delivered (0) and the delivery is open for its amount;
        - invoice_issued: the delivery of the same reference is invoiced (0), the invoice open until ``due_at``;
        - payment_received: the invoice of the same reference is reduced by the amount (not below 0).

        Amounts stay in the event's currency. An order event older than the newest order event of the same
        reference does not move the order back (a late ``order_changed``)."""
        if event.reference is None or event.amount is None or event.currency is None:
            return
        kinds = {
            "order_placed": ("order",),
            "order_changed": ("order",),
            "order_cancelled": ("order",),
            "delivery": ("order", "delivery"),
            "invoice_issued": ("delivery", "invoice"),
            "payment_received": ("invoice",),
        }.get(event.type)
        if kinds is None:
            return
        order_events = ("order_placed", "order_changed", "order_cancelled")
        if event.type in order_events:
            newer = self.session.scalar(
                select(MonitoringEvent.id)
                .where(
                    MonitoringEvent.customer_id == event.customer_id,
                    MonitoringEvent.reference == event.reference,
                    MonitoringEvent.type.in_(order_events),
                    MonitoringEvent.occurred_at > event.occurred_at,
                )
                .limit(1)
            )
            if newer is not None:
                return
        current = exposures.items_by_reference(self.session, reference=event.reference or "", kinds=tuple(kinds))
        day = event.occurred_at.date()
        items: list[exposures.ItemIn] = []

        def item(kind: str, amount: Decimal, *, currency: str, due_on: date | None = None, since: date = day) -> None:
            items.append(
                exposures.ItemIn(
                    customer_id=event.customer_id,
                    kind=kind,
                    reference=event.reference or "",
                    currency=currency,
                    open_amount=max(amount, Decimal(0)),
                    document_date=since,
                    due_on=due_on,
                )
            )

        def settle(kind: str) -> None:
            if kind in current and current[kind].open_amount > 0:
                known = current[kind]
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
                invoice = current.get("invoice")
                if invoice is None:
                    return
                paid = self.rates_on(day).convert(event.amount, event.currency, invoice.currency)
                item(
                    "invoice",
                    invoice.open_amount - paid,
                    currency=invoice.currency,
                    due_on=invoice.due_on,
                    since=invoice.document_date,
                )
        try:
            exposures.record_items(self.session, items=items, base=self.policy.base_currency, actor=self.actor)
        except DomainError as error:
            raise _Refused("invalid", f"exposure of {event.reference}: {error.message}") from None

    def settle_known(self, index: int, raw: Any, event: EventIn, digest: str) -> bool:
        """True if the event id is known: a duplicate (counted) or a conflict (dead-lettered)."""
        known = self.session.scalar(select(MonitoringEvent).where(MonitoringEvent.event_id == event.event_id))
        if known is None:
            return False
        if known.payload_hash == digest:
            self.result.duplicates += 1
        else:
            self.dead_letter(
                index,
                raw,
                event.event_id,
                "conflict",
                f"event {event.event_id} was already received on {known.received_at:%Y-%m-%d %H:%M} UTC with other"
                " content; an event id names one event — send a correction under a new id",
            )
        return True


def ingest(
    session: Session,
    *,
    events: Sequence[Any],
    actor: Actor,
    policy: Policy,
    now: datetime | None = None,
    replaying: DeadLetter | None = None,
) -> IngestResult:
    """Process one batch (at most ``MAX_BATCH`` events) in the caller's unit of work; see the module's guarantees."""
    if len(events) > MAX_BATCH:
        raise ValidationFailed(f"at most {MAX_BATCH} events per batch; split the file or the stream")
    batch = _Batch(session, actor=actor, policy=policy, now=now or utcnow(), replaying=replaying)
    valid: list[tuple[int, Any, EventIn, str]] = []
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
        digest = content_hash(event.content())
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
        valid.append((index, raw, event, digest))
    known_ids = set(session.scalars(select(MonitoringEvent.event_id).where(MonitoringEvent.event_id.in_(list(seen)))))
    existing_customers = relationships.existing_customer_ids(session, {e.customer_id for _, _, e, _ in valid})
    for index, raw, event, digest in sorted(valid, key=lambda v: (v[2].occurred_at, v[0])):
        if event.event_id in known_ids and batch.settle_known(index, raw, event, digest):
            continue
        if event.customer_id not in existing_customers:
            batch.dead_letter(
                index, raw, event.event_id, "invalid", f"customer_id: there is no customer {event.customer_id}"
            )
            continue
        batch.apply(index, raw, event, digest)
    batch.save_states()
    result = batch.result
    if replaying is not None and not result.rejections:
        replaying.replayed_at, replaying.replayed_by = utcnow(), actor.name
    if result.accepted or result.dead_lettered:
        audit.append(
            session,
            actor=actor,
            action="events.ingested" if replaying is None else "events.replayed",
            entity_type="monitoring_events",
            entity_id=replaying.id if replaying is not None else 0,
            changes={**result.counts(), "dead_letters": sorted({r.dead_letter_id for r in result.rejections})[:200]},
        )
    session.flush()
    return result


def replay(session: Session, *, dead_letter_id: int, actor: Actor, policy: Policy) -> tuple[DeadLetter, IngestResult]:
    """Process a dead letter's raw event again (after a rate was loaded, a customer created, a rule fixed)."""
    letter = service.get_dead_letter(session, dead_letter_id=dead_letter_id)
    if letter.replayed_at is not None:
        raise ValidationFailed(f"dead letter {dead_letter_id} was already replayed on {letter.replayed_at:%Y-%m-%d}")
    result = ingest(session, events=[letter.raw], actor=actor, policy=policy, replaying=letter)
    return letter, result
