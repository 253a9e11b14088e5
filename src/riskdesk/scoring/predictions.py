"""PD predictions: the decision records of the models — stored, and read back per customer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskdesk.scoring.models import PdPrediction


def record(session: Session, **values: Any) -> PdPrediction:
    prediction = PdPrediction(**values)
    session.add(prediction)
    return prediction


def latest_grades(session: Session) -> dict[int, str]:
    """Each customer's grade in its latest prediction."""
    newest = select(func.max(PdPrediction.id)).group_by(PdPrediction.customer_id)
    rows = session.execute(select(PdPrediction.customer_id, PdPrediction.grade).where(PdPrediction.id.in_(newest)))
    return {int(customer_id): str(grade) for customer_id, grade in rows}


def latest_of(session: Session, *, customer_ids: Sequence[int]) -> dict[int, PdPrediction]:
    """The latest prediction of each of the customers, in one query."""
    if not customer_ids:
        return {}
    newest = (
        select(func.max(PdPrediction.id))
        .where(PdPrediction.customer_id.in_(sorted(set(customer_ids))))
        .group_by(PdPrediction.customer_id)
    )
    return {row.customer_id: row for row in session.scalars(select(PdPrediction).where(PdPrediction.id.in_(newest)))}


def of_customer(session: Session, *, customer_id: int, limit: int = 20) -> list[PdPrediction]:
    """The customer's predictions, newest first."""
    return list(
        session.scalars(
            select(PdPrediction)
            .where(PdPrediction.customer_id == customer_id)
            .order_by(PdPrediction.id.desc())
            .limit(limit)
        )
    )
