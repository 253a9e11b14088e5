"""An event as it arrives (JSON or a CSV row) checked against the vocabulary and normalised. Pure.

Refused, each with a reason a person can act on: a value that is not an object, an unknown type, an unknown field
or one that belongs to another event type, a missing field the type needs, a malformed value (a timestamp without
a time zone, a customer id that is not a whole number), a negative amount, an absurd one (over 10¹² in any
currency, or finer than a cent) and an event dated more than a day in the future. CSV cells arrive as text, so
numbers, booleans and timestamps are read from text too; an empty cell is an absent value.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from riskdesk.monitoring.vocabulary import EVENT_TYPES, VOCABULARY, FieldSpec, FieldType, event_fields_of

MAX_AMOUNT = Decimal("1e12")
MAX_TEXT = 200
MAX_FUTURE = timedelta(days=1)
# The fields an event of a type cannot do without, beyond the common ones (and amount, currency on money events).
REQUIRED = {
    "invoice_issued": ("due_at",),
    "payment_received": ("days_late",),
    "lawsuit": ("role",),
    "registry_change": ("change",),
    "external_rating_change": ("rating",),
    "adverse_news": ("category",),
}
_EVENT_ID = re.compile(r"^[\w.:/#@-]{1,128}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_EVENT_FIELDS = VOCABULARY["event"]


class InvalidEvent(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class EventIn:
    """A valid event: its common fields, and its own fields normalised (``amount`` as given, in ``currency``)."""

    event_id: str
    type: str
    customer_id: int
    occurred_at: datetime
    reference: str | None
    fields: dict[str, Any]

    @property
    def amount(self) -> Decimal | None:
        value = self.fields.get("amount")
        return value if isinstance(value, Decimal) else None

    @property
    def currency(self) -> str | None:
        value = self.fields.get("currency")
        return value if isinstance(value, str) else None

    def content(self) -> dict[str, Any]:
        """The event as JSON-ready values: what is stored and hashed (so a CSV and a JSON delivery of the same
        event are the same content)."""
        out: dict[str, Any] = {
            "event_id": self.event_id,
            "type": self.type,
            "customer_id": self.customer_id,
            "occurred_at": self.occurred_at.isoformat(),
            "reference": self.reference,
        }
        for name, value in sorted(self.fields.items()):
            out[name] = json_value(value)
        return out


def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def content_hash(content: Any) -> str:
    """SHA-256 of canonical JSON (sorted keys, no spaces); anything not JSON is written as text."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _timestamp(name: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidEvent(f"{name}: {value!r} is not an ISO 8601 date and time") from None
    else:
        raise InvalidEvent(f"{name}: give an ISO 8601 date and time, not {value!r}")
    if parsed.tzinfo is None:
        raise InvalidEvent(f"{name}: {value!r} has no time zone; add one (Z for UTC, or +08:00)")
    return parsed.astimezone(UTC)


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidEvent(f"{name}: give a whole number, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,12}\s*", value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise InvalidEvent(f"{name}: give a whole number, not {value!r}")


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise InvalidEvent(f"{name}: give true or false, not {value!r}")


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidEvent(f"amount: give a number, not {value!r}")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise InvalidEvent(f"amount: {value!r} is not a number") from None
    if not amount.is_finite():
        raise InvalidEvent(f"amount: {value!r} is not a finite number")
    if amount < 0:
        raise InvalidEvent(f"amount: {value} is negative; amounts are sizes (a refund is a credit_note)")
    if amount > MAX_AMOUNT:
        raise InvalidEvent(f"amount: {value} is over 10^12 — almost certainly a mistake (cents or a unit slip)")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidEvent(f"amount: {value} is finer than a cent")
    return amount.quantize(Decimal("0.01"))


def _text(spec: FieldSpec, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(f"{spec.name}: give text, not {value!r}")
    text = value.strip()
    longest = 64 if spec.name == "reference" else MAX_TEXT
    if len(text) > longest:
        raise InvalidEvent(f"{spec.name}: at most {longest} characters")
    if spec.values and text not in spec.values:
        raise InvalidEvent(f"{spec.name}: {text!r} is not one of {', '.join(spec.values)}")
    if spec.name == "currency" and not _CURRENCY.match(text):
        raise InvalidEvent(f"currency: {text!r} is not an ISO 4217 code such as CNY or USD")
    return text


def _field(spec: FieldSpec, value: Any) -> Any:
    if spec.name == "amount":
        return _amount(value)
    match spec.type:
        case FieldType.TIMESTAMP:
            return _timestamp(spec.name, value)
        case FieldType.INT:
            return _integer(spec.name, value)
        case FieldType.BOOL:
            return _boolean(spec.name, value)
        case _:
            return _text(spec, value)


def parse_event(raw: Any, *, now: datetime) -> EventIn:
    """A valid, normalised event, or ``InvalidEvent`` with the first problem found."""
    if not isinstance(raw, dict):
        raise InvalidEvent(f"an event is a JSON object, not {type(raw).__name__}")
    if "unreadable_line" in raw:  # a line of a file that the CLI could not read as JSON
        raise InvalidEvent(f"line {raw['unreadable_line']} is not an event: {raw.get('error', 'unreadable')}")
    given = {k: v for k, v in raw.items() if v is not None and v != ""}
    unknown = sorted(set(given) - set(_EVENT_FIELDS))
    if unknown:
        raise InvalidEvent(f"unknown field {unknown[0]!r}; the fields an event may have are in docs/monitoring.md")
    for name in ("event_id", "type", "customer_id", "occurred_at"):
        if name not in given:
            raise InvalidEvent(f"{name} is missing")
    event_id = given["event_id"]
    if not isinstance(event_id, str | int) or isinstance(event_id, bool) or not _EVENT_ID.match(str(event_id)):
        raise InvalidEvent("event_id: 1–128 letters, digits and . : / # @ _ -")
    event_type = given["type"]
    if event_type not in EVENT_TYPES:
        raise InvalidEvent(f"type: {event_type!r} is not an event type; see docs/monitoring.md for the list")
    allowed = event_fields_of(event_type)
    foreign = sorted(set(given) - allowed)
    if foreign:
        raise InvalidEvent(f"{foreign[0]} does not belong to an event of type {event_type}")
    needed = [*(("amount", "currency") if EVENT_TYPES[event_type].money else ()), *REQUIRED.get(event_type, ())]
    missing = [name for name in needed if name not in given]
    if missing:
        raise InvalidEvent(f"{missing[0]} is missing: an event of type {event_type} needs it")
    customer_id = _integer("customer_id", given["customer_id"])
    if customer_id < 1:
        raise InvalidEvent(f"customer_id: {customer_id} is not a customer's id")
    occurred_at = _timestamp("occurred_at", given["occurred_at"])
    if occurred_at > now + MAX_FUTURE:
        raise InvalidEvent(f"occurred_at: {occurred_at.isoformat()} is in the future; check the source's clock")
    fields = {
        name: _field(_EVENT_FIELDS[name], value)
        for name, value in given.items()
        if name not in ("event_id", "type", "customer_id", "occurred_at", "reference")
    }
    if "due_at" in fields and fields["due_at"].date() < occurred_at.date():
        raise InvalidEvent("due_at: an invoice falls due on or after the day it is issued")
    if "days_late" in fields and abs(fields["days_late"]) > 3650:
        raise InvalidEvent(f"days_late: {fields['days_late']} is more than ten years")
    reference = _text(_EVENT_FIELDS["reference"], given["reference"]) if "reference" in given else None
    return EventIn(str(event_id), event_type, customer_id, occurred_at, reference, fields)
