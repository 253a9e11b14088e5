"""Domain events: how a lower feature tells higher ones that something happened, without importing them.

A service records an event on the session; the unit of work of the edge (web request, command) hands pending
events to the handlers the composition root registered, inside the same transaction, before it commits — so a
customer and the screening hits its change raised are saved together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

_PENDING = "riskdesk.pending_events"


@dataclass(frozen=True)
class CustomerChanged:
    """A customer was created or its data changed (names, codes, relationships): screen it again."""

    customer_id: int


@dataclass(frozen=True)
class GradeDowngraded:
    """A rescoring moved a customer down by at least the threshold of grades: monitoring turns it into a
    ``score_changed`` event, whose id (customer and run) makes a replay of the same rescoring alert once."""

    customer_id: int
    previous_grade: str
    grade: str
    probability_of_default: str
    run: str
    scored_at: datetime


@dataclass(frozen=True)
class ModelBreach:
    """One measure of a model health check past its threshold: ``kind`` psi (the PD's population), csi (a
    feature's population) or auc (realised discrimination, which breaches by falling *below* its floor)."""

    kind: str
    measure: str
    value: float
    threshold: float


@dataclass(frozen=True)
class ModelReviewNeeded:
    """A health check of a model version found breaches: monitoring raises a model-review alert per kind."""

    model_version_id: int
    health_check_id: int
    checked_at: datetime
    breaches: tuple[ModelBreach, ...]


@dataclass(frozen=True)
class ChampionChanged:
    """A model version became the champion: the portfolio is due for rescoring (credit)."""

    model_version_id: int
    by: str


@dataclass(frozen=True)
class OverlaysChanged:
    """A PD overlay was added (or ended by a factor of 1): the portfolio is due for rescoring from ``valid_from``."""

    overlay_id: int
    valid_from: date
    by: str


@dataclass(frozen=True)
class AlertRaised:
    """Monitoring raised an alert: comms queues its notifications in the same transaction."""

    alert_id: int
    customer_id: int
    rule_id: str
    severity: str
    tier: str


Event = CustomerChanged | GradeDowngraded | ModelReviewNeeded | ChampionChanged | OverlaysChanged | AlertRaised


def record(session: Session, event: Event) -> None:
    pending: list[Event] = session.info.setdefault(_PENDING, [])
    if event not in pending:
        pending.append(event)


def take(session: Session) -> list[Event]:
    pending: list[Event] = session.info.pop(_PENDING, [])
    return pending
