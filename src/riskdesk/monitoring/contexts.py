"""The rules' inputs of one event, built the same way when it arrives (``intake``) and when stored history is
replayed (``backtests``): the ``event`` input, the observation that feeds ``features``, the ``customer`` input,
and the ``state`` snapshot kept with each stored event. Pure apart from the customer record it is handed.

The state snapshot is stored as JSON with money (Decimals) as exact decimal strings — as the event's own
``amount_base`` and an alert's evidence are — and read back into Decimals, so a backtest hands a rule the same
values the intake did.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from riskdesk.monitoring.validation import EventIn, InvalidEvent, json_value, parse_event
from riskdesk.monitoring.vocabulary import VOCABULARY, FieldType
from riskdesk.monitoring.windows import Observation, OrderObserved, PaymentObserved, TransactionObserved

STATE_KEY = "state"  # where a stored event's payload keeps the state snapshot the rules saw
_STATE_FIELDS = VOCABULARY["state"]


def observation(event: EventIn, amount: Decimal | None) -> Observation | None:
    """What the event adds to the customer's behaviour (``windows``), given its amount in the base currency."""
    if amount is None:
        return None
    if event.type == "order_placed":
        return OrderObserved(event.occurred_at, amount)
    if event.type == "transaction":
        return TransactionObserved(event.occurred_at, amount)
    if event.type == "payment_received":
        return PaymentObserved(
            event.occurred_at, amount, int(event.fields["days_late"]), bool(event.fields.get("partial", False))
        )
    return None


def event_input(event: EventIn, amount: Decimal | None) -> dict[str, Any]:
    """The ``event`` input: the event's fields, with ``amount`` in the base currency."""
    return {
        **event.fields,
        "event_id": event.event_id,
        "type": event.type,
        "customer_id": event.customer_id,
        "occurred_at": event.occurred_at,
        "reference": event.reference,
        "amount": amount,
    }


def customer_input(customer: Any, *, on_watch_list: bool) -> dict[str, Any]:
    """The ``customer`` input from a customer record or profile (``customers.service.profiles``)."""
    return {
        "customer_id": customer.id,
        "kind": customer.kind,
        "industry": customer.industry_code[0] if customer.industry_code else None,
        "region": customer.uscc[2:8] if customer.uscc else None,
        "on_watch_list": on_watch_list,
    }


def state_to_json(state: Mapping[str, Any]) -> dict[str, Any]:
    """The state snapshot as JSON values: Decimals as exact strings, floats and ints as numbers."""
    return {name: json_value(value) for name, value in state.items()}


def state_from_json(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The snapshot back as the rules received it: the money fields (doubles) given as text become Decimals."""
    out: dict[str, Any] = {}
    for name, value in stored.items():
        spec = _STATE_FIELDS.get(name)
        if spec is not None and spec.type is FieldType.DOUBLE and isinstance(value, str):
            # Text that is not a number stays text: the rule reading it fails on this event, naming the field.
            with contextlib.suppress(InvalidOperation):
                value = Decimal(value)
        out[name] = value
    return out


def stored_event(payload: Mapping[str, Any]) -> tuple[EventIn, Decimal | None]:
    """A stored event's payload back as the normalised event and its amount in the base currency."""
    content = {k: v for k, v in payload.items() if k not in ("amount_base", STATE_KEY)}
    occurred_at = datetime.fromisoformat(str(content.get("occurred_at")))
    event = parse_event(content, now=occurred_at)  # stored events were valid; `now` only bounds the future
    base = payload.get("amount_base")
    try:
        amount = Decimal(str(base)) if base is not None else None
    except InvalidOperation:
        raise InvalidEvent(f"amount_base {base!r} is not a number") from None
    return event, amount
