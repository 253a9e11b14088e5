"""Domain events: how a lower feature tells higher ones that something happened, without importing them.

A service records an event on the session; the unit of work of the edge (web request, command) hands pending
events to the handlers the composition root registered, inside the same transaction, before it commits — so a
customer and the screening hits its change raised are saved together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

_PENDING = "riskdesk.pending_events"


@dataclass(frozen=True)
class CustomerChanged:
    """A customer was created or its data changed (names, codes, relationships): screen it again."""

    customer_id: int


@dataclass(frozen=True)
class GradeDowngraded:
    """A rescoring moved a customer down by at least the threshold of grades: monitoring raises an alert."""

    customer_id: int
    previous_grade: str
    grade: str
    probability_of_default: str


@dataclass(frozen=True)
class AlertRaised:
    """Monitoring raised an alert: comms queues its notifications in the same transaction."""

    alert_id: int
    customer_id: int
    rule_id: str
    severity: str
    tier: str


Event = CustomerChanged | GradeDowngraded | AlertRaised


def record(session: Session, event: Event) -> None:
    pending: list[Event] = session.info.setdefault(_PENDING, [])
    if event not in pending:
        pending.append(event)


def take(session: Session) -> list[Event]:
    pending: list[Event] = session.info.pop(_PENDING, [])
    return pending
