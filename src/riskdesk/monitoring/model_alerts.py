"""What the PD models tell monitoring: a model version that needs a review, and customers a rescoring downgraded.

- **Model reviews.** A health check past its thresholds (``scoring.health``, event ``ModelReviewNeeded``) raises one
  alert per model version and breach kind (PSI of the PD, CSI of the features, realised AUC) in the ordinary queue,
  with the measures and thresholds as evidence. While such an alert is open, another check that finds the same kind
  of breach raises nothing: the alert already asks for the review; once it is closed, a new breach raises again.
- **Grade drops.** A rescoring's ``GradeDowngraded`` becomes a ``score_changed`` event sent through the intake, so the
  built-in ``score_or_grade_drop`` rule (or an admin's version of it) decides, with its suppression window. The event
  id names the customer and the run: the same rescoring handed over again is a duplicate, never a second alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.credit.policy import Policy
from riskdesk.db.types import utcnow
from riskdesk.events import GradeDowngraded, ModelBreach, ModelReviewNeeded
from riskdesk.monitoring import intake
from riskdesk.monitoring.intake import IngestResult
from riskdesk.monitoring.models import Alert
from riskdesk.monitoring.rules import Severity, Tier
from riskdesk.monitoring.service import SLA
from riskdesk.scoring import registry

SEVERITY, TIER = Severity.HIGH, Tier.WATCH
# breach kind → (rule id of the alert, name, Chinese name, the test in words)
KINDS = {
    "psi": ("model_psi", "Model review: PD population shifted (PSI)", "模型复核：评分总体偏移（PSI）", "PSI > limit"),
    "csi": ("model_csi", "Model review: features shifted (CSI)", "模型复核：特征总体偏移（CSI）", "CSI > limit"),
    "auc": ("model_auc", "Model review: realised AUC below its floor", "模型复核：实际AUC低于下限", "AUC < floor"),
}


def _evidence(event: ModelReviewNeeded, version: str, kind: str, found: list[ModelBreach]) -> dict[str, Any]:
    rule_id, name, name_zh, test = KINDS[kind]
    limit = "floor" if kind == "auc" else "threshold"
    return {
        "event_ids": [],
        "event": {
            "type": "model_health_check",
            "occurred_at": event.checked_at.isoformat(),
            "reference": f"model-health {event.health_check_id}",
        },
        "values": {**{f"{b.kind}.{b.measure}": b.value for b in found}, limit: found[0].threshold},
        "rule": {
            "id": rule_id,
            "version": 1,
            "expression": test,
            "name": name,
            "name_zh": name_zh,
            "suppression_seconds": 0,
        },
        "model": {"id": event.model_version_id, "version": version},
        "health_check_id": event.health_check_id,
    }


def raise_model_review(session: Session, *, event: ModelReviewNeeded, actor: Actor) -> int:
    """One alert per breach kind of the check, unless an alert of that kind on the version is still open; the
    number raised."""
    version = registry.get_version(session, version_id=event.model_version_id).version
    by_kind: dict[str, list[ModelBreach]] = {}
    for breach in event.breaches:
        by_kind.setdefault(breach.kind, []).append(breach)
    raised = 0
    for kind, found in by_kind.items():
        rule_id = KINDS[kind][0]
        still_open = session.scalar(
            select(Alert.id)
            .where(
                Alert.subject == "model",
                Alert.model_version_id == event.model_version_id,
                Alert.rule_id == rule_id,
                Alert.status != "closed",
            )
            .limit(1)
        )
        if still_open is not None:
            continue
        now = utcnow()
        alert = Alert(
            subject="model",
            customer_id=None,
            model_version_id=event.model_version_id,
            rule_id=rule_id,
            rule_version=1,
            severity=SEVERITY.value,
            tier=TIER.value,
            status="new",
            dedup_key=f"model:{event.model_version_id}:{rule_id}:{event.health_check_id}",
            event_id=f"model-health:{event.health_check_id}",
            occurred_at=event.checked_at,
            evidence=_evidence(event, version, kind, found),
            sla_due_at=now + SLA[SEVERITY.value],
            close_reason="",
            raised_at=now,
            updated_by=actor.name,
            updated_at=now,
        )
        session.add(alert)
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="alert.raised",
            entity_type=registry.ENTITY,
            entity_id=event.model_version_id,
            changes={
                "alert_id": alert.id,
                "rule": f"{rule_id} v1",
                "severity": SEVERITY.value,
                "tier": TIER.value,
                "health_check_id": event.health_check_id,
                "breaches": {f"{b.kind}.{b.measure}": b.value for b in found},
            },
        )
        raised += 1
    return raised


def score_changed_event(downgrade: GradeDowngraded) -> dict[str, Any]:
    """The intake event of a downgrade; its id is the same whenever the same run's downgrade is handed over."""
    return {
        "event_id": f"rescoring:{downgrade.run}:{downgrade.customer_id}",
        "type": "score_changed",
        "customer_id": downgrade.customer_id,
        "occurred_at": downgrade.scored_at.isoformat(),
        "reference": f"rescoring {downgrade.run}",
    }


def send_grade_drops(
    session: Session, *, downgrades: Sequence[GradeDowngraded], policy: Policy, actor: Actor
) -> IngestResult:
    """Send the downgrades through the intake in the caller's transaction (batches of ``intake.MAX_BATCH``)."""
    total = IngestResult()
    raw = [score_changed_event(d) for d in downgrades]
    for start in range(0, len(raw), intake.MAX_BATCH):
        result = intake.ingest(session, events=raw[start : start + intake.MAX_BATCH], actor=actor, policy=policy)
        total.accepted += result.accepted
        total.duplicates += result.duplicates
        total.dead_lettered += result.dead_lettered
        total.alerts += result.alerts
        total.rejections += result.rejections
    return total
