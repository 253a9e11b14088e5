"""What a rule may read: four inputs (``event``, ``state``, ``features``, ``customer``), their fields and types.

This is the one place the vocabulary is declared. ``rules.compile_rule`` refuses any other name or field, the
evaluator hands a rule exactly these fields (a declared field the caller left out is ``null``), ``windows`` and
``anomaly`` produce exactly the ``features`` listed here, and docs/monitoring.md describes them.

- ``event``: the event being processed. Every event has the common fields; the fields of other event types are
  ``null`` (a rule reading ``event.days_late`` must first check ``event.type == "payment_received"``).
- ``state``: the customer's live credit state (exposure, limit, days past due, score and grade), kept by the
  monitoring service.
- ``features``: the customer's behaviour over time windows, kept incrementally by ``windows.BehaviourState``.
- ``customer``: the customer's master data.

Money is a ``double`` in the desk's base currency (CNY): rules compare it with ``100000.0``, not ``100000``.
Counts and days are ``int``. CEL does not mix ``int`` and ``double`` in arithmetic (``2 * 1.5`` is an error);
comparisons across them work (``features.order_velocity_ratio > 3`` is fine). Convert with ``double(x)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class FieldType(StrEnum):
    INT = "int"
    DOUBLE = "double"
    STRING = "string"
    BOOL = "bool"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    description: str
    nullable: bool = False
    values: tuple[str, ...] = ()  # the closed set of values of a string field, when there is one


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    money: bool  # carries ``amount`` and ``currency``
    fields: tuple[str, ...] = ()  # its own fields, null on every other type


ROOTS = ("event", "state", "features", "customer")

# ── event ────────────────────────────────────────────────────────────────────────────────────────────────────────

EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in (
        EventType("order_placed", "a customer placed an order", money=True),
        EventType("order_changed", "an order's amount or terms changed", money=True),
        EventType("order_cancelled", "an order was cancelled", money=True),
        EventType("delivery", "goods or services were delivered", money=True),
        EventType("invoice_issued", "an invoice was issued", money=True, fields=("due_at",)),
        EventType("payment_received", "a payment arrived", money=True, fields=("days_late", "partial")),
        EventType("credit_note", "a credit note reduced what the customer owes", money=True),
        EventType("transaction", "a generic money movement", money=True, fields=("channel", "counterparty", "country")),
        EventType("lawsuit", "a lawsuit naming the customer", money=True, fields=("role",)),
        EventType("enforcement", "a court enforcement against the customer", money=True),
        EventType(
            "dishonest_debtor_listed", "the customer was listed as a dishonest debtor (失信被执行人)", money=False
        ),
        EventType("administrative_penalty", "an administrative penalty", money=True),
        EventType(
            "registry_change",
            "the business registry changed",
            money=False,
            fields=("change", "previous_value", "new_value"),
        ),
        EventType(
            "external_rating_change",
            "an external rating changed",
            money=False,
            fields=("agency", "rating", "previous_rating", "downgrade"),
        ),
        EventType("adverse_news", "adverse news entered by an analyst", money=False, fields=("category",)),
        EventType("score_changed", "the customer was scored or graded again (see state.score_change)", money=False),
        EventType("review", "a scheduled re-evaluation with no new facts: days past due grow with time", money=False),
    )
}

_EVENT_FIELDS = (
    FieldSpec("event_id", FieldType.STRING, "the event's id, unique per source"),
    FieldSpec("type", FieldType.STRING, "the event type", values=tuple(EVENT_TYPES)),
    FieldSpec("customer_id", FieldType.INT, "the customer the event is about"),
    FieldSpec("occurred_at", FieldType.TIMESTAMP, "when it happened (UTC), not when it arrived"),
    FieldSpec("amount", FieldType.DOUBLE, "the amount in the base currency (money events; claims and penalties)", True),
    FieldSpec("currency", FieldType.STRING, "the currency the amount was given in (ISO 4217)", nullable=True),
    FieldSpec("reference", FieldType.STRING, "the document: order, invoice, case or registry number", nullable=True),
    FieldSpec("due_at", FieldType.TIMESTAMP, "invoice_issued: when the invoice falls due", nullable=True),
    FieldSpec("days_late", FieldType.INT, "payment_received: days after the due date (negative: early)", True),
    FieldSpec("partial", FieldType.BOOL, "payment_received: paid less than the invoice's open amount", True),
    FieldSpec("channel", FieldType.STRING, "transaction: bank transfer, card, cash…", nullable=True),
    FieldSpec("counterparty", FieldType.STRING, "transaction: the other party", nullable=True),
    FieldSpec("country", FieldType.STRING, "transaction: the counterparty's country (ISO 3166 alpha-2)", True),
    FieldSpec(
        "role",
        FieldType.STRING,
        "lawsuit: the customer's role",
        nullable=True,
        values=("defendant", "plaintiff", "third_party"),
    ),
    FieldSpec(
        "change",
        FieldType.STRING,
        "registry_change: what changed",
        nullable=True,
        values=("legal_representative", "shareholders", "capital_reduction", "address", "other"),
    ),
    FieldSpec("previous_value", FieldType.STRING, "registry_change: the value before", nullable=True),
    FieldSpec("new_value", FieldType.STRING, "registry_change: the value after", nullable=True),
    FieldSpec("agency", FieldType.STRING, "external_rating_change: the rating agency", nullable=True),
    FieldSpec("rating", FieldType.STRING, "external_rating_change: the new rating", nullable=True),
    FieldSpec("previous_rating", FieldType.STRING, "external_rating_change: the rating before", nullable=True),
    FieldSpec("downgrade", FieldType.BOOL, "external_rating_change: the new rating is worse", nullable=True),
    FieldSpec("category", FieldType.STRING, "adverse_news: the analyst's category", nullable=True),
)

# ── state ────────────────────────────────────────────────────────────────────────────────────────────────────────

_STATE_FIELDS = (
    FieldSpec("exposure", FieldType.DOUBLE, "open orders, deliveries and invoices, base currency"),
    FieldSpec("credit_limit", FieldType.DOUBLE, "the limit in force, base currency; 0 when there is none"),
    FieldSpec("utilisation", FieldType.DOUBLE, "exposure ÷ credit_limit (1.0 = at the limit); 0 without a limit"),
    FieldSpec("overdue_amount", FieldType.DOUBLE, "invoices past their due date, base currency"),
    FieldSpec("overdue_invoices", FieldType.INT, "how many invoices are past their due date"),
    FieldSpec("max_days_past_due", FieldType.INT, "the oldest overdue invoice's days past due; 0 if none"),
    FieldSpec("score", FieldType.INT, "the latest credit score (points); null if never scored", nullable=True),
    FieldSpec("score_change", FieldType.INT, "the latest score minus the one before (negative: worse); 0 if none"),
    FieldSpec(
        "grade",
        FieldType.STRING,
        "the master-scale grade, 1 (best) to 10, of the newer of the latest assessment and the latest rescoring;"
        " null if never graded",
        True,
    ),
    FieldSpec("previous_grade", FieldType.STRING, "the grade before the latest regrading", nullable=True),
    FieldSpec("grade_notches_down", FieldType.INT, "how many grades the latest regrading fell; 0 if not worse"),
)

# ── features ─────────────────────────────────────────────────────────────────────────────────────────────────────

WINDOWS = ("24h", "7d", "30d", "90d")
WINDOW_WORDS = {
    "24h": "the last 24 hours",
    "7d": "the last 7 days",
    "30d": "the last 30 days",
    "90d": "the last 90 days",
}
STREAMS = {"orders": "orders placed", "transactions": "transactions", "payments": "payments received"}
TREND_PAYMENTS = 3  # payment_delay_trend compares the last 3 payments with the 3 before


def window_feature(stream: str, measure: str, window: str) -> str:
    """``orders_count_7d``, ``payments_amount_90d``…"""
    return f"{stream}_{measure}_{window}"


def _window_fields() -> Iterator[FieldSpec]:
    for stream, words in STREAMS.items():
        for window in WINDOWS:
            span = WINDOW_WORDS[window]
            yield FieldSpec(window_feature(stream, "count", window), FieldType.INT, f"{words} in {span}")
            yield FieldSpec(window_feature(stream, "amount", window), FieldType.DOUBLE, f"amount of {words} in {span}")


_FEATURE_FIELDS = (
    *_window_fields(),
    FieldSpec("orders_per_day_7d", FieldType.DOUBLE, "orders_count_7d ÷ 7"),
    FieldSpec("orders_per_day_90d", FieldType.DOUBLE, "orders_count_90d ÷ 90"),
    FieldSpec("order_velocity_ratio", FieldType.DOUBLE, "orders_per_day_7d ÷ orders_per_day_90d; 0 without orders"),
    FieldSpec("transactions_per_day_30d", FieldType.DOUBLE, "transactions_count_30d ÷ 30"),
    FieldSpec(
        "transaction_velocity_ratio",
        FieldType.DOUBLE,
        "transactions_count_24h ÷ transactions_per_day_30d; 0 without transactions",
    ),
    FieldSpec("avg_days_late_90d", FieldType.DOUBLE, "average days late of payments in 90 days; 0 without payments"),
    FieldSpec("share_paid_late_90d", FieldType.DOUBLE, "share (0–1) of payments in 90 days made after the due date"),
    FieldSpec("partial_payments_90d", FieldType.INT, "partial payments in 90 days"),
    FieldSpec(
        "avg_days_late_last_3", FieldType.DOUBLE, "average days late of the last 3 payments; 0 with fewer than 3"
    ),
    FieldSpec(
        "avg_days_late_previous_3",
        FieldType.DOUBLE,
        "average days late of the 3 payments before those; 0 with fewer than 6",
    ),
    FieldSpec(
        "payment_delay_trend",
        FieldType.DOUBLE,
        "avg_days_late_last_3 − avg_days_late_previous_3 (positive: paying later); 0 with fewer than 6 payments",
    ),
    FieldSpec(
        "transaction_amount_zscore",
        FieldType.DOUBLE,
        "robust z-score of this transaction's amount against the customer's own history; 0 if not a transaction"
        " or the history is too short",
    ),
    FieldSpec("transaction_unusual", FieldType.BOOL, "this transaction is unusual for the customer (|z| ≥ threshold)"),
    FieldSpec("transaction_history_size", FieldType.INT, "how many past transaction amounts the z-score used"),
)

# ── customer ─────────────────────────────────────────────────────────────────────────────────────────────────────

_CUSTOMER_FIELDS = (
    FieldSpec("customer_id", FieldType.INT, "the customer's id"),
    FieldSpec("kind", FieldType.STRING, "company or individual", values=("company", "individual")),
    FieldSpec("industry", FieldType.STRING, "industry section (GB/T 4754: A–T)", nullable=True),
    FieldSpec("region", FieldType.STRING, "administrative division code of its registered address", nullable=True),
    FieldSpec("on_watch_list", FieldType.BOOL, "the customer is on the watch list"),
)

VOCABULARY: Mapping[str, Mapping[str, FieldSpec]] = {
    "event": {f.name: f for f in _EVENT_FIELDS},
    "state": {f.name: f for f in _STATE_FIELDS},
    "features": {f.name: f for f in _FEATURE_FIELDS},
    "customer": {f.name: f for f in _CUSTOMER_FIELDS},
}
FEATURE_NAMES = tuple(VOCABULARY["features"])
EVENT_COMMON_FIELDS = ("event_id", "type", "customer_id", "occurred_at", "reference")
EVENT_MONEY_FIELDS = ("amount", "currency")


def event_fields_of(event_type: str) -> frozenset[str]:
    """The event fields that are set (not null) on an event of this type."""
    kind = EVENT_TYPES[event_type]
    return frozenset((*EVENT_COMMON_FIELDS, *(EVENT_MONEY_FIELDS if kind.money else ()), *kind.fields))


# ── samples: realistic contexts the compiler runs a rule on, to find type errors before any event does ───────────

_SAMPLE_AT = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
_SAMPLE_STRINGS = {"currency": "CNY", "country": "CN", "grade": "5", "previous_grade": "4"}


def sample_value(spec: FieldSpec) -> Any:
    """A typical non-null value of the field's type (odd numbers: a sample should not divide by zero)."""
    if spec.values:
        return spec.values[0]
    match spec.type:
        case FieldType.INT:
            return 7
        case FieldType.DOUBLE:
            return 7.5
        case FieldType.BOOL:
            return False
        case FieldType.TIMESTAMP:
            return _SAMPLE_AT
        case FieldType.STRING:
            return _SAMPLE_STRINGS.get(spec.name, "sample")


def sample_contexts() -> Iterator[tuple[str, dict[str, dict[str, Any]]]]:
    """One context per event type, each as the evaluator would see it; then each again with the nullable state
    and customer fields null (a customer never scored). Yields (what the sample is, the context)."""
    others = {root: VOCABULARY[root] for root in ROOTS if root != "event"}
    for nulls in (False, True):
        rest = {
            root: {name: None if nulls and spec.nullable else sample_value(spec) for name, spec in fields.items()}
            for root, fields in others.items()
        }
        for event_type in EVENT_TYPES:
            present = event_fields_of(event_type)
            event = {
                name: (event_type if name == "type" else sample_value(spec)) if name in present else None
                for name, spec in VOCABULARY["event"].items()
            }
            what = f"an event of type {event_type}" + (" for a customer without score or grade" if nulls else "")
            yield what, {"event": event, **rest}
