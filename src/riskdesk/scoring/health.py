"""Keeping the champion honest: its latest rescoring compared with the population it learned from (PSI, CSI),
and with the outcomes once they are known (realised AUC and KS); past the thresholds, a model review is needed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskdesk import events
from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.errors import ValidationFailed
from riskdesk.scoring import registry, stability
from riskdesk.scoring.models import ModelHealth, PdPrediction


def check(session: Session, *, outcomes: dict[int, int] | None, actor: Actor) -> ModelHealth:
    """Check the champion on its latest run; ``outcomes`` (customer id → 1 defaulted / 0 not) give realised AUC/KS."""
    import numpy as np
    import pandas as pd

    champion = registry.in_role(session, "champion")
    if champion is None:
        raise ValidationFailed("there is no champion model to check")
    population = champion.manifest.get("population")
    if not population:
        raise ValidationFailed(
            f"model {champion.version} keeps no population profile (trained before riskdesk kept one); retrain it"
        )
    run = session.scalar(
        select(PdPrediction.run)
        .where(PdPrediction.model_version_id == champion.id)
        .group_by(PdPrediction.run)
        .order_by(func.max(PdPrediction.id).desc())
        .limit(1)
    )
    if run is None:
        raise ValidationFailed(f"model {champion.version} has not scored the portfolio yet: rescore first")
    predictions = list(session.scalars(select(PdPrediction).where(PdPrediction.run == run)))
    frame = pd.DataFrame([p.inputs for p in predictions])
    probabilities = np.array([float(p.model_pd) for p in predictions], dtype=np.float64)
    result = stability.compare(population, frame, probabilities)
    realised = _realised(predictions, outcomes or {}, champion.metrics.get("auc"))
    review = bool(result["review_needed"] or realised.get("review_needed", False))
    record = ModelHealth(
        model_version_id=champion.id,
        run=run,
        rows=len(predictions),
        psi=Decimal(str(result["psi"])),
        csi=result["csi"],
        realised=realised,
        review_needed=review,
        checked_by=actor.name,
    )
    session.add(record)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="model.review_needed" if review else "model.health_checked",
        entity_type=registry.ENTITY,
        entity_id=champion.id,
        changes={"version": champion.version, "psi": result["psi"], "csi": result["csi"], "realised": realised},
    )
    if review:  # monitoring turns it into a model-review alert in its queue (riskdesk.bootstrap)
        events.record(
            session, events.ModelReviewNeeded(champion.id, record.id, record.checked_at, breaches(result, realised))
        )
    return record


def breaches(result: dict[str, Any], realised: dict[str, Any]) -> tuple[events.ModelBreach, ...]:
    """The measures past their thresholds: PSI or a CSI above ``stability.REVIEW``, a realised AUC below its floor."""
    found = []
    if result["psi"] > stability.REVIEW:
        found.append(events.ModelBreach("psi", "probability_of_default", float(result["psi"]), stability.REVIEW))
    found += [
        events.ModelBreach("csi", name, float(value), stability.REVIEW)
        for name, value in result["csi"].items()
        if value > stability.REVIEW
    ]
    if realised.get("review_needed"):
        found.append(events.ModelBreach("auc", "realised_auc", float(realised["auc"]), float(realised["auc_floor"])))
    return tuple(found)


def _realised(predictions: list[PdPrediction], outcomes: dict[int, int], validated_auc: float | None) -> dict[str, Any]:
    """AUC and KS of the PD against outcomes, once both goods and bads are among the customers scored; a review is
    needed when the realised AUC falls below 0.6 or more than 0.1 below the AUC the model was validated with."""
    pairs = [(float(p.model_pd), outcomes[p.customer_id]) for p in predictions if p.customer_id in outcomes]
    labels = [label for _, label in pairs]
    if len(set(labels)) < 2:
        return {"n": len(pairs), "note": "outcomes of both kinds are needed for a realised AUC"}
    from riskdesk.scoring.scorecard import evaluate

    metrics = evaluate(labels, [pd for pd, _ in pairs])
    floor = 0.6 if validated_auc is None else max(0.6, float(validated_auc) - 0.1)
    return {
        "n": metrics["n"],
        "auc": metrics["auc"],
        "ks": metrics["ks"],
        "bad_rate": metrics["bad_rate"],
        "validated_auc": validated_auc,
        "auc_floor": floor,
        "review_needed": metrics["auc"] < floor,
    }


def latest(session: Session) -> dict[int, ModelHealth]:
    """The latest health check of each model version."""
    found: dict[int, ModelHealth] = {}
    for record in session.scalars(select(ModelHealth).order_by(ModelHealth.id)):
        found[record.model_version_id] = record
    return found
