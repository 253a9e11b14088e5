"""Backtest a rule version (any status) or an unsaved expression over the events stored by the intake.

For each customer with an event in the range, its stored events are replayed in ``occurred_at`` order (ties in
arrival order) and each event in the range is given the inputs the rule would have seen:

- ``event`` from the stored payload (the normalised event, its amount in the base currency);
- ``state`` from the snapshot the intake stored with the event (``contexts.STATE_KEY``). An event stored before
  snapshots were kept has none: a rule reading ``state`` fails on it with that reason — never a silent false;
- ``features`` rebuilt by replaying the customer's observations (orders, transactions, payments) through a fresh
  ``windows.BehaviourState``, from its first stored event, exactly as the intake makes them. Replayed in
  ``occurred_at`` order, an event that arrived late counts where it belongs, so a feature can differ from what
  the intake saw at the time the late event had not yet arrived;
- ``customer`` from the master data as it is today.

The rule runs through ``rules.run_backtests`` with its suppression window, together with the rule's active
version (when the rule has one and it is not the version under test) so the two can be compared: customers
flagged by both, by the new one only, by the old one only. The work is bounded: at most ``MAX_EVENTS`` stored
events read per run (those in the range and the earlier ones the features replay); narrow the range or the
customers beyond that.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from riskdesk.customers import service as customers
from riskdesk.errors import DomainError, ValidationFailed
from riskdesk.monitoring import contexts, rulebook, watch_list
from riskdesk.monitoring.models import MonitoringEvent
from riskdesk.monitoring.rules import (
    BacktestReport,
    History,
    Rule,
    Severity,
    Tier,
    Unavailable,
    compile_rule,
    run_backtests,
)
from riskdesk.monitoring.service import rule_of
from riskdesk.monitoring.validation import InvalidEvent
from riskdesk.monitoring.windows import BehaviourState

MAX_EVENTS = 200_000
MAX_DAYS = 3 * 366
MAX_LISTED = 2_000  # flags listed in a report (all are counted)
MAX_FAILURES_LISTED = 50
OBSERVED_TYPES = ("order_placed", "transaction", "payment_received")  # the events that feed ``features``
UNSAVED = "unsaved"
NO_STATE = (
    "no state was stored with this event (it arrived before the intake kept state snapshots), so state.* is"
    " null here; backtest a range of later events"
)


@dataclass(frozen=True)
class Scope:
    """What a backtest runs over: ``occurred_at`` days from ``first`` to ``last`` (UTC, both included), and
    optionally only some customers."""

    first: date
    last: date
    customer_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValidationFailed("to: the range ends before it starts")
        if (self.last - self.first).days >= MAX_DAYS:
            raise ValidationFailed(f"the range is longer than {MAX_DAYS} days; backtest it in parts")

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)


@dataclass(frozen=True)
class Comparison:
    """The customers the tested rule and the active version flagged over the same history."""

    active_version: int
    both: list[int]
    only_new: list[int]
    only_old: list[int]


@dataclass
class StoredBacktest:
    rule: Rule
    unsaved: bool
    scope: Scope
    report: BacktestReport
    events_read: int
    active: BacktestReport | None = None
    comparison: Comparison | None = None
    names: dict[int, str] = field(default_factory=dict)


def _events(scope: Scope, *, replay_features: bool) -> Select[Any]:
    """The stored events a run reads: the customers' events in the range and, when features are replayed, their
    earlier observations."""
    in_range = (MonitoringEvent.occurred_at >= scope.start) & (MonitoringEvent.occurred_at < scope.end)
    who = select(MonitoringEvent.customer_id).where(in_range)
    if scope.customer_ids:
        who = who.where(MonitoringEvent.customer_id.in_(scope.customer_ids))
    wanted = or_(in_range, MonitoringEvent.type.in_(OBSERVED_TYPES)) if replay_features else in_range
    return select(MonitoringEvent).where(
        MonitoringEvent.customer_id.in_(who.distinct()),
        MonitoringEvent.occurred_at < scope.end,
        wanted,
    )


def _history(session: Session, query: Select[Any], scope: Scope, reads: set[str]) -> Iterator[Any]:
    """(customer id, occurred_at, inputs) for each event in the range, per customer in occurred_at order."""
    ordered = query.order_by(MonitoringEvent.customer_id, MonitoringEvent.occurred_at, MonitoringEvent.id)
    customer_id: int | None = None
    behaviour = BehaviourState()
    customer_input: dict[str, Any] | Unavailable = {}
    for row in session.scalars(ordered.execution_options(yield_per=1000)):
        session.expunge(row)  # read once: keep the identity map small over a long run
        in_range = row.occurred_at >= scope.start
        if row.customer_id != customer_id:
            customer_id, behaviour = row.customer_id, BehaviourState()
            customer_input = _customer(session, row.customer_id) if "customer" in reads else {}
        try:
            event, amount = contexts.stored_event(row.payload)
        except (InvalidEvent, ValueError) as error:
            if in_range:
                reason = error.reason if isinstance(error, InvalidEvent) else str(error)
                broken = Unavailable(f"the stored event {row.event_id} cannot be read back: {reason}")
                yield row.customer_id, row.occurred_at, {"event": broken, "state": broken, "features": broken}
            continue
        features: dict[str, Any] = {}
        if "features" in reads:
            observation = contexts.observation(event, amount)
            if observation is not None:
                features = behaviour.observe(observation)
            elif in_range:
                features = behaviour.snapshot(event.occurred_at)
        if not in_range:
            continue  # an earlier observation: it only feeds the features
        stored_state = row.payload.get(contexts.STATE_KEY)
        state = contexts.state_from_json(stored_state) if isinstance(stored_state, dict) else Unavailable(NO_STATE)
        inputs = {
            "event": contexts.event_input(event, amount),
            "state": state,
            "features": features,
            "customer": customer_input,
        }
        yield row.customer_id, row.occurred_at, inputs


def _customer(session: Session, customer_id: int) -> dict[str, Any] | Unavailable:
    try:
        # Master data and watch-list status as they are now: neither is kept as it was at each event.
        return contexts.customer_input(
            customers.get_customer(session, customer_id=customer_id),
            on_watch_list=watch_list.is_on(session, customer_id=customer_id),
        )
    except DomainError as error:
        return Unavailable(f"customer {customer_id} cannot be read: {error.message}")


def unsaved_rule(expression: str, *, suppression_seconds: int = 0, rule_id: str | None = None) -> Rule:
    """An expression not saved as a version, to backtest while editing (checked and compiled first)."""
    compile_rule(expression)
    return Rule(
        id=rule_id or UNSAVED,
        version=1,
        name="unsaved",
        name_zh="未保存",
        expression=expression,
        severity=Severity.LOW,
        tier=Tier.WATCH,
        suppression=timedelta(seconds=max(0, suppression_seconds)),
    )


def run(session: Session, *, rule: Rule, scope: Scope, unsaved: bool = False, compare: bool = True) -> StoredBacktest:
    """Backtest ``rule`` over the stored events of ``scope``, with the rule's active version alongside."""
    rules = [rule]
    active_row = rulebook.active_version(session, rule_id=rule.id) if compare and rule.id != UNSAVED else None
    if active_row is not None and (unsaved or active_row.version != rule.version):
        rules.append(rule_of(active_row))
    reads = {root for r in rules for root in r.compiled.references}
    query = _events(scope, replay_features="features" in reads)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if count > MAX_EVENTS:
        raise ValidationFailed(
            f"this backtest would read {count:,} stored events, more than {MAX_EVENTS:,} per run (the range and,"
            " for rules reading features, each customer's earlier orders, transactions and payments); narrow the"
            " dates or name the customers"
        )
    history: History = _history(session, query, scope, reads)
    reports = run_backtests(rules, history)
    result = StoredBacktest(rule, unsaved, scope, reports[0], count)
    if len(reports) > 1:
        old, new = set(reports[1].customers), set(reports[0].customers)
        result.active = reports[1]
        result.comparison = Comparison(rules[1].version, sorted(new & old), sorted(new - old), sorted(old - new))
    return result


def run_version(session: Session, *, rule_id: str, version: int, scope: Scope) -> StoredBacktest:
    row = rulebook.get_version(session, rule_id=rule_id, version=version)
    return run(session, rule=rule_of(row), scope=scope)


def as_json(result: StoredBacktest) -> dict[str, Any]:
    """The report as JSON: counts, the flags (the first ``MAX_LISTED``), failures (the first 50), comparison."""
    report = result.report

    def flags(of: BacktestReport) -> list[dict[str, Any]]:
        return [
            {"customer_id": f.customer_id, "occurred_at": f.occurred_at.isoformat(), "event_id": f.event_id}
            for f in of.flags[:MAX_LISTED]
        ]

    out: dict[str, Any] = {
        "rule_id": None if result.rule.id == UNSAVED else result.rule.id,
        "version": None if result.unsaved else result.rule.version,
        "unsaved": result.unsaved,
        "expression": result.rule.expression,
        "suppression_seconds": int(result.rule.suppression.total_seconds()),
        "from": result.scope.first.isoformat(),
        "to": result.scope.last.isoformat(),
        "customer_ids": list(result.scope.customer_ids),
        "events_read": result.events_read,
        "evaluated": report.evaluated,
        "flagged": len(report.flags),
        "customers_flagged": len(report.customers),
        "customers": report.customers,
        "suppressed": report.suppressed,
        "failed": len(report.failures),
        "failures": [
            {
                "customer_id": f.customer_id,
                "occurred_at": f.occurred_at.isoformat(),
                "event_id": f.event_id,
                "reason": f.reason,
            }
            for f in report.failures[:MAX_FAILURES_LISTED]
        ],
        "flags": flags(report),
        "flags_listed": min(len(report.flags), MAX_LISTED),
        "active": None,
    }
    if result.active is not None and result.comparison is not None:
        out["active"] = {
            "version": result.comparison.active_version,
            "flagged": len(result.active.flags),
            "customers_flagged": len(result.active.customers),
            "suppressed": result.active.suppressed,
            "failed": len(result.active.failures),
            "both": result.comparison.both,
            "only_new": result.comparison.only_new,
            "only_old": result.comparison.only_old,
        }
    return out
