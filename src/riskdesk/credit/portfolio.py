"""The unit's own history as model data, and the portfolio scored by the champion PD model.

The customer feature view is what riskdesk knows of each company: the facts of the expert scorecard (ratios, Z
score, years in business, capital, industry) and its exposure (utilisation, days past due, overdue share). The same
view exports a training file (``riskdesk model dataset``) and feeds the champion when the portfolio is rescored, so
a model trained on the unit's history scores its customers on exactly the columns it learned from.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskdesk import events
from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.credit import exposure, service
from riskdesk.credit.models import RescoringRequest
from riskdesk.credit.policy import Policy
from riskdesk.customers import service as customers
from riskdesk.db.types import utcnow
from riskdesk.errors import ValidationFailed
from riskdesk.scoring import health, predictions, registry
from riskdesk.scoring.models import ModelHealth, PdPrediction

FEATURES = (
    "z_score",
    "current_ratio",
    "liabilities_to_assets",
    "net_margin",
    "years_in_business",
    "registered_capital",
    "industry_risk",
    "industry",
    "utilisation",
    "max_days_past_due",
    "overdue_share",
)
# The feature view's names as reasons say them (``riskdesk model train --labels``; ``dataset`` writes them).
FEATURE_LABELS: dict[str, tuple[str, str]] = {
    "z_score": ("Altman Z'' score", "Altman Z''值"),
    "current_ratio": ("current ratio", "流动比率"),
    "liabilities_to_assets": ("liabilities to assets", "资产负债率"),
    "net_margin": ("net margin", "净利率"),
    "years_in_business": ("years in business", "经营年限"),
    "registered_capital": ("registered capital", "注册资本"),
    "industry_risk": ("industry risk", "行业风险"),
    "industry": ("industry", "行业"),
    "utilisation": ("credit limit utilisation", "额度使用率"),
    "max_days_past_due": ("days past due (maximum)", "最长逾期天数"),
    "overdue_share": ("share of exposure overdue", "逾期金额占比"),
}
PD_STEP = Decimal("0.000001")


def feature_row(session: Session, *, customer_id: int, policy: Policy, today: date) -> dict[str, Any]:
    # Held while the row is built: the session's identity map keeps an object only while someone refers to it.
    customer = customers.get_customer(session, customer_id=customer_id)
    inputs = service.gather_inputs(session, customer_id=customer_id, policy=policy, today=today)
    found, limit = exposure.customer_exposure(session, customer_id=customer_id, policy=policy)
    utilisation = found.utilisation(limit.amount if limit else None)
    row: dict[str, Any] = {"customer_id": customer_id}
    for name, value in inputs["facts"].items():
        row[name] = float(value) if value is not None else None
    row["industry"] = (customer.industry_code or "")[:1] or None
    row["utilisation"] = float(utilisation) if utilisation is not None and utilisation.is_finite() else None
    row["max_days_past_due"] = found.max_days_past_due
    row["overdue_share"] = float(found.overdue / found.total) if found.total else 0.0
    return row


def companies(session: Session) -> list[int]:
    return customers.company_ids(session)


def dataset(
    session: Session,
    *,
    policy: Policy,
    today: date,
    labels: dict[int, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per company. ``default`` is the given label, or — without labels — whether an invoice is 90 days
    or more past due today (the unit's own outcome); the rows of companies without a given label are left out."""
    rows = []
    ids = companies(session)
    for done, customer_id in enumerate(ids, 1):
        if labels is not None and customer_id not in labels:
            continue
        row = feature_row(session, customer_id=customer_id, policy=policy, today=today)
        row["default"] = labels[customer_id] if labels is not None else int(row["max_days_past_due"] >= 90)
        rows.append(row)
        if progress:
            progress(done, len(ids))
    return rows


@dataclass
class Rescored:
    run: str
    model_version: str
    scored: int
    migrations: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    downgraded: int = 0

    def migration_rows(self) -> list[tuple[str | None, str, int]]:
        """(from grade, to grade, customers), grades in their natural order ("2" before "10"), new ones first."""

        def order(grade: str | None) -> tuple[int, str]:
            return (-1, "") if grade is None else (len(grade), grade)

        return sorted(
            ((before, after, count) for (before, after), count in self.migrations.items()),
            key=lambda row: (order(row[0]), order(row[1])),
        )


def rescore(
    session: Session,
    *,
    policy: Policy,
    actor: Actor,
    today: date,
    downgrade_alert: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> Rescored:
    """Score every company by the champion (the challenger in shadow), apply the overlays in force, grade on the
    master scale, store a prediction per company, and record a downgrade of ``downgrade_alert`` grades or more."""
    import pandas as pd

    champion_record = registry.in_role(session, "champion")
    if champion_record is None:
        raise ValidationFailed("there is no champion model: register a model and have its promotion approved")
    champion = registry.load_model(champion_record)
    challenger_record = registry.in_role(session, "challenger")
    challenger = registry.load_model(challenger_record) if challenger_record else None
    ids = companies(session)
    rows = [feature_row(session, customer_id=i, policy=policy, today=today) for i in ids]
    frame = pd.DataFrame(rows, columns=["customer_id", *FEATURES])
    missing = [f.name for f in champion.features if f.name not in frame.columns]
    if missing:
        raise ValidationFailed(
            f"model {champion.version} needs {', '.join(missing)}, which riskdesk does not hold for its customers;"
            " train the champion on `riskdesk model dataset` (the unit's own history)"
        )
    scored = champion.champion.score(frame)
    shadow = challenger.champion.score(frame, reasons=False) if challenger else None
    in_force = registry.overlays_in_force(session, day=today)
    previous = predictions.latest_grades(session)
    result = Rescored(uuid.uuid4().hex, champion.version, 0)
    scored_at = utcnow()
    for position, customer_id in enumerate(ids):
        model_pd = Decimal(str(float(scored.probability_of_default[position]))).quantize(PD_STEP, ROUND_HALF_UP)
        overlay = registry.overlay_for(in_force, rows[position]["industry"])
        final = min(Decimal("0.999999"), model_pd * overlay.factor) if overlay else model_pd
        final = final.quantize(PD_STEP, ROUND_HALF_UP)
        grade = next(g.grade for g in policy.grades if final <= g.pd_max)
        before = previous.get(customer_id)
        reasons = [
            {
                "feature": str(scored.reasons[f"reason_{rank}"][position]),
                "en": str(scored.reasons[f"reason_{rank}_en"][position]),
                "zh": str(scored.reasons[f"reason_{rank}_zh"][position]),
            }
            for rank in (1, 2, 3)
            if scored.reasons.get(f"reason_{rank}") is not None and str(scored.reasons[f"reason_{rank}"][position])
        ]
        predictions.record(
            session,
            customer_id=customer_id,
            model_version_id=champion_record.id,
            run=result.run,
            model_pd=model_pd,
            overlay_id=overlay.id if overlay else None,
            overlay_factor=overlay.factor if overlay else None,
            probability_of_default=final,
            grade=grade,
            previous_grade=before,
            reasons=reasons,
            inputs={k: v for k, v in rows[position].items() if k != "customer_id"},
            challenger_version_id=challenger_record.id if challenger_record else None,
            challenger_pd=(
                Decimal(str(float(shadow.probability_of_default[position]))).quantize(PD_STEP, ROUND_HALF_UP)
                if shadow is not None
                else None
            ),
            scored_by=actor.name,
            scored_at=scored_at,
        )
        result.scored += 1
        result.migrations[(before, grade)] += 1
        if before is not None and policy.grade_rank(grade) - policy.grade_rank(before) >= downgrade_alert:
            result.downgraded += 1
            events.record(
                session, events.GradeDowngraded(customer_id, before, grade, str(final), result.run, scored_at)
            )
            audit.append(
                session,
                actor=actor,
                action="model.grade_downgraded",
                entity_type="customer",
                entity_id=customer_id,
                changes={"from": before, "to": grade, "pd": str(final), "model": champion.version},
            )
        if progress:
            progress(position + 1, len(ids))
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="model.portfolio_rescored",
        entity_type="model_version",
        entity_id=champion_record.id,
        changes={
            "run": result.run,
            "scored": result.scored,
            "downgraded": result.downgraded,
            "overlays": {sector: str(o.factor) for sector, o in in_force.items()},
            "challenger": challenger_record.version if challenger_record else None,
            "migrations": result.migration_rows(),
        },
    )
    _settle_requests(session, result, today)
    return result


# ── rescoring when the champion or an overlay changes (docs/decisions/0013-rescoring-due.md) ──────────────────


def request_rescoring(session: Session, *, reason: str, reference: str, due_on: date, actor: Actor) -> RescoringRequest:
    """Mark the portfolio due for rescoring from ``due_on``; ``rescore_due`` (a scheduled job) or any rescoring on
    or after that day settles it."""
    request = RescoringRequest(
        reason=reason, reference=reference[:200], due_on=due_on, requested_by=actor.name, requested_at=utcnow()
    )
    session.add(request)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="model.rescoring_due",
        entity_type="rescoring_request",
        entity_id=request.id,
        changes={"reason": reason, "reference": request.reference, "due_on": due_on.isoformat()},
    )
    return request


def open_rescorings(session: Session, *, due_by: date | None = None) -> list[RescoringRequest]:
    """Requests not settled yet, oldest due first (``due_by``: only those due on or before that day)."""
    query = select(RescoringRequest).where(RescoringRequest.done_at.is_(None))
    if due_by is not None:
        query = query.where(RescoringRequest.due_on <= due_by)
    return list(session.scalars(query.order_by(RescoringRequest.due_on, RescoringRequest.id)))


def rescorings(session: Session, *, limit: int = 20) -> list[RescoringRequest]:
    """The latest requests, settled or not, newest first."""
    return list(session.scalars(select(RescoringRequest).order_by(RescoringRequest.id.desc()).limit(limit)))


def _settle_requests(session: Session, result: Rescored, today: date) -> None:
    outcome = {
        "model_version": result.model_version,
        "scored": result.scored,
        "downgraded": result.downgraded,
        "migrations": [{"from": b, "to": a, "customers": n} for b, a, n in result.migration_rows()],
    }
    for request in open_rescorings(session, due_by=today):
        request.run, request.done_at, request.outcome = result.run, utcnow(), outcome
    session.flush()


def rescore_due(
    session: Session,
    *,
    policy: Policy,
    actor: Actor,
    today: date,
    downgrade_alert: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> Rescored | None:
    """Rescore the portfolio if a request is due by ``today`` (the scheduled job); None when nothing is due."""
    if not open_rescorings(session, due_by=today):
        return None
    return rescore(session, policy=policy, actor=actor, today=today, downgrade_alert=downgrade_alert, progress=progress)


@dataclass(frozen=True)
class LatestGrade:
    grade: str
    previous_grade: str | None
    source: str  # model (a PD prediction of a rescoring) | assessment (the expert scorecard)


Graded = tuple[LatestGrade | None, list[Any]]  # the grade in force, and the two latest assessments


def latest_grades_of(session: Session, *, customer_ids: Sequence[int]) -> dict[int, Graded]:
    """Each customer's grade in force — the newer of its latest PD prediction and its latest expert assessment — and
    the grade it replaced (for a prediction the one the rescoring compared it with, for an assessment the
    assessment before it; None for a customer never graded), with its two latest assessments (newest first). Two
    queries for all the customers."""
    found = predictions.latest_of(session, customer_ids=customer_ids)
    assessed = service.latest_assessments(session, customer_ids=customer_ids)
    out: dict[int, Graded] = {}
    for customer_id in customer_ids:
        prediction, latest = found.get(customer_id), assessed.get(customer_id, [])
        graded: LatestGrade | None = None
        if prediction is not None and (not latest or prediction.scored_at >= latest[0].assessed_at):
            graded = LatestGrade(prediction.grade, prediction.previous_grade, "model")
        elif latest:
            graded = LatestGrade(latest[0].grade, latest[1].grade if len(latest) > 1 else None, "assessment")
        out[customer_id] = (graded, latest)
    return out


def explanation(session: Session, *, customer_id: int) -> dict[str, Any]:
    """What the automated assessment of this customer rests on (PIPL Art. 24): the latest PD prediction — model
    version, overlay, PD, grade, reasons and inputs — and the latest expert assessment's reasons."""
    customers.get_customer(session, customer_id=customer_id)
    prediction = next(iter(predictions.of_customer(session, customer_id=customer_id, limit=1)), None)
    assessments = service.assessments_of(session, customer_id=customer_id, limit=1)
    model = None
    if prediction is not None:
        version = registry.get_version(session, version_id=prediction.model_version_id)
        model = {
            "model_version": version.version,
            "model_kind": version.kind,
            "model_probability_of_default": str(prediction.model_pd),
            "overlay_factor": str(prediction.overlay_factor) if prediction.overlay_factor is not None else None,
            "probability_of_default": str(prediction.probability_of_default),
            "grade": prediction.grade,
            "previous_grade": prediction.previous_grade,
            "reasons": prediction.reasons,
            "inputs": prediction.inputs,
            "challenger_probability_of_default": (
                str(prediction.challenger_pd) if prediction.challenger_pd is not None else None
            ),
            "scored_at": prediction.scored_at,
        }
    expert = None
    if assessments:
        record = assessments[0]
        expert = {
            "policy_version": record.policy_version,
            "grade": record.grade,
            "probability_of_default": str(record.probability_of_default),
            "reasons": record.reasons,
            "assessed_at": record.assessed_at,
        }
    return {
        "customer_id": customer_id,
        "model": model,
        "expert_assessment": expert,
        "how_to_object": "A person may ask the unit to explain this assessment and to have it reviewed by a person"
        " (PIPL Art. 24); the credit officer records the review as a new assessment.",
    }


def predictions_of(session: Session, *, customer_id: int, limit: int = 20) -> list[PdPrediction]:
    customers.get_customer(session, customer_id=customer_id)
    return predictions.of_customer(session, customer_id=customer_id, limit=limit)


def outcomes(session: Session, *, policy: Policy) -> dict[int, int]:
    """The unit's own outcome of each company today: 1 when an invoice is 90 days or more past due."""
    found = {}
    for customer_id in companies(session):
        current, _ = exposure.customer_exposure(session, customer_id=customer_id, policy=policy)
        found[customer_id] = int(current.max_days_past_due >= 90)
    return found


def check_model(session: Session, *, policy: Policy, actor: Actor) -> ModelHealth:
    """The champion's stability on its latest run, and its realised AUC/KS against today's outcomes."""
    return health.check(session, outcomes=outcomes(session, policy=policy), actor=actor)
