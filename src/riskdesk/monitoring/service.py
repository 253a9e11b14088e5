"""Monitoring use cases around the intake: the stored rules, alerts (raise, list, move, assign), dead letters.

An alert moves new → investigating → escalated → closed (investigating and escalated may go back and forth; new
may close at once, e.g. a false positive); closing needs a reason. Its SLA runs from when it was raised, by
severity (``SLA``). Every alert raised and every move is appended to the audit ledger.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskdesk import events
from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.db.types import utcnow
from riskdesk.errors import NotFound, ValidationFailed
from riskdesk.monitoring import watch_list
from riskdesk.monitoring.models import Alert, DeadLetter, MonitoringRule
from riskdesk.monitoring.rules import Rule, RuleSet, RuleStatus, Severity, Tier
from riskdesk.monitoring.validation import EventIn, content_hash
from riskdesk.security import service as security

SLA = {
    Severity.CRITICAL.value: timedelta(days=1),
    Severity.HIGH.value: timedelta(days=3),
    Severity.MEDIUM.value: timedelta(days=7),
    Severity.LOW.value: timedelta(days=14),
}
STATUSES = ("new", "investigating", "escalated", "closed")
TRANSITIONS = {
    "new": {"investigating", "escalated", "closed"},
    "investigating": {"escalated", "closed"},
    "escalated": {"investigating", "closed"},
    "closed": set(),
}

# ── rules ────────────────────────────────────────────────────────────────────────────────────────────────────


def rule_of(row: MonitoringRule) -> Rule:
    return Rule(
        id=row.rule_id,
        version=row.version,
        name=row.name,
        name_zh=row.name_zh,
        expression=row.expression,
        severity=Severity(row.severity),
        tier=Tier(row.tier),
        status=RuleStatus(row.status),
        suppression=timedelta(seconds=row.suppression_seconds),
        description=row.description,
    )


def list_rules(session: Session, *, status: str | None = None) -> list[MonitoringRule]:
    query = select(MonitoringRule).order_by(MonitoringRule.rule_id, MonitoringRule.version)
    if status is not None:
        query = query.where(MonitoringRule.status == status)
    return list(session.scalars(query))


def active_rules(session: Session) -> RuleSet:
    """The active version of each rule, compiled (compilation is cached by expression)."""
    return RuleSet(rule_of(row) for row in list_rules(session, status=RuleStatus.ACTIVE.value))


# ── alerts ───────────────────────────────────────────────────────────────────────────────────────────────────


def _evidence_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def evidence(rule: Rule, event: EventIn, context: dict[str, Any]) -> dict[str, Any]:
    """What the alert rests on: the triggering event, the values the rule read, the rule's expression and
    version."""
    values: dict[str, Any] = {}
    for root, names in rule.compiled.references.items():
        given = context.get(root) or {}
        for name in sorted(names if names is not None else given):
            values[f"{root}.{name}"] = _evidence_value(given.get(name))
    return {
        "event_ids": [event.event_id],
        "event": {"type": event.type, "occurred_at": event.occurred_at.isoformat(), "reference": event.reference},
        "values": values,
        "rule": {
            "id": rule.id,
            "version": rule.version,
            "expression": rule.expression,
            "name": rule.name,
            "name_zh": rule.name_zh,
            "suppression_seconds": int(rule.suppression.total_seconds()),
        },
    }


@dataclass(frozen=True)
class Hit:
    """A rule that held for an event, with the inputs it saw."""

    rule: Rule
    event: EventIn
    context: dict[str, Any]


def _dedup_key(rule: Rule, event: EventIn) -> str:
    return f"{event.customer_id}:{rule.id}:{event.event_id}"


def raise_alerts(session: Session, *, hits: Sequence[Hit], actor: Actor) -> list[audit.Entry]:
    """Store the alerts of hits already checked against their suppression windows (the intake holds its batch's
    recent alerts in memory: ``recent_alerts``); an early-warning tier puts the customer on the watch list, and
    comms is told (``AlertRaised``) in the same transaction. Returns the alerts' ledger entries, one each, for the
    caller to chain with the rest of its batch's."""
    now = utcnow()
    alerts = [
        Alert(
            subject="customer",
            customer_id=hit.event.customer_id,
            rule_id=hit.rule.id,
            rule_version=hit.rule.version,
            severity=hit.rule.severity.value,
            tier=hit.rule.tier.value,
            status="new",
            dedup_key=_dedup_key(hit.rule, hit.event),
            event_id=hit.event.event_id,
            occurred_at=hit.event.occurred_at,
            evidence=evidence(hit.rule, hit.event, hit.context),
            sla_due_at=now + SLA[hit.rule.severity.value],
            close_reason="",
            raised_at=now,
            updated_by=actor.name,
            updated_at=now,
        )
        for hit in hits
    ]
    session.add_all(alerts)
    session.flush()
    entries = [
        audit.Entry(
            "alert.raised",
            "customer",
            hit.event.customer_id,
            {
                "alert_id": alert.id,
                "rule": f"{alert.rule_id} v{alert.rule_version}",
                "severity": alert.severity,
                "tier": alert.tier,
                "event_id": alert.event_id,
            },
        )
        for alert, hit in zip(alerts, hits, strict=True)
    ]
    watch_list.on_alerts(session, alerts=alerts, actor=actor, ledger=entries)
    for alert, hit in zip(alerts, hits, strict=True):  # comms queues their notifications in this transaction
        events.record(
            session, events.AlertRaised(alert.id, hit.event.customer_id, alert.rule_id, alert.severity, alert.tier)
        )
    return entries


def recent_alerts(
    session: Session, *, customer_ids: Sequence[int], start: datetime
) -> dict[int, dict[str, list[datetime]]]:
    """Per customer and rule, when the rule fired with ``occurred_at`` from ``start`` on, for suppression windows."""
    rows = session.execute(
        select(Alert.customer_id, Alert.rule_id, Alert.occurred_at).where(
            Alert.customer_id.in_(sorted(set(customer_ids))), Alert.occurred_at >= start
        )
    )
    found: dict[int, dict[str, list[datetime]]] = {}
    for customer_id, rule_id, occurred_at in rows:
        if customer_id is not None:
            found.setdefault(customer_id, {}).setdefault(rule_id, []).append(occurred_at)
    return found


def subject_of(alert: Alert) -> tuple[str, int]:
    """The ledger's entity of an alert: its customer, or the model version a model-review alert concerns."""
    if alert.subject == "model" and alert.model_version_id is not None:
        return "model_version", alert.model_version_id
    return "customer", alert.customer_id or 0


@dataclass(frozen=True)
class AlertPage:
    alerts: list[Alert]
    total: int


def list_alerts(
    session: Session,
    *,
    status: str | None = None,
    severity: str | None = None,
    customer_id: int | None = None,
    subject: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AlertPage:
    """The queue: newest first, filtered; ``status="open"`` means every status but closed; ``subject`` customer or
    model (model-review alerts have no customer)."""
    query = select(Alert)
    if subject is not None:
        query = query.where(Alert.subject == subject)
    if status == "open":
        query = query.where(Alert.status != "closed")
    elif status is not None:
        query = query.where(Alert.status == status)
    if severity is not None:
        query = query.where(Alert.severity == severity)
    if customer_id is not None:
        query = query.where(Alert.customer_id == customer_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Alert.id.desc()).limit(limit).offset(offset))
    return AlertPage(list(rows), total)


def get_alert(session: Session, *, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} does not exist")
    return alert


def alerts_by_id(session: Session, *, alert_ids: Sequence[int]) -> dict[int, Alert]:
    """The alerts of these ids that exist, in one query."""
    return {alert.id: alert for alert in session.scalars(select(Alert).where(Alert.id.in_(sorted(set(alert_ids)))))}


def transition(
    session: Session,
    *,
    alert_id: int,
    status: str,
    actor: Actor,
    reason: str = "",
    assignee: str | None = None,
) -> Alert:
    """Move an alert on; closing needs a reason (at least 3 characters)."""
    alert = get_alert(session, alert_id=alert_id)
    if status not in TRANSITIONS.get(alert.status, set()):
        allowed = ", ".join(sorted(TRANSITIONS[alert.status])) or "nothing: it is closed"
        raise ValidationFailed(f"alert {alert_id} is {alert.status}; it can go to {allowed}")
    reason = reason.strip()
    if status == "closed" and len(reason) < 3:
        raise ValidationFailed("closing an alert needs a reason (at least 3 characters): what was found")
    old = alert.status
    if assignee is not None:
        _assign(session, alert, assignee)
    alert.status = status
    if status == "closed":
        alert.close_reason = reason
    alert.updated_by, alert.updated_at = actor.name, utcnow()
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="alert.transitioned",
        entity_type=subject_of(alert)[0],
        entity_id=subject_of(alert)[1],
        changes={"alert_id": alert.id, "from": old, "to": status, "assignee": alert.assignee},
        reason=reason,
    )
    return alert


def _assign(session: Session, alert: Alert, assignee: str) -> None:
    if assignee:
        security.get_user(session, username=assignee)  # NotFound for an unknown user
    alert.assignee = assignee or None


def assign(session: Session, *, alert_id: int, assignee: str, actor: Actor) -> Alert:
    """Give the alert to a user (an empty name takes it off anyone)."""
    alert = get_alert(session, alert_id=alert_id)
    if alert.status == "closed":
        raise ValidationFailed(f"alert {alert_id} is closed")
    old = alert.assignee
    _assign(session, alert, assignee.strip())
    alert.updated_by, alert.updated_at = actor.name, utcnow()
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="alert.assigned",
        entity_type=subject_of(alert)[0],
        entity_id=subject_of(alert)[1],
        changes={"alert_id": alert.id, "from": old, "to": alert.assignee},
    )
    return alert


# ── dead letters ─────────────────────────────────────────────────────────────────────────────────────────────


def list_dead_letters(
    session: Session, *, replayed: bool | None = False, limit: int = 100, offset: int = 0
) -> tuple[list[DeadLetter], int]:
    query = select(DeadLetter)
    if replayed is True:
        query = query.where(DeadLetter.replayed_at.is_not(None))
    elif replayed is False:
        query = query.where(DeadLetter.replayed_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(session.scalars(query.order_by(DeadLetter.id.desc()).limit(limit).offset(offset))), total


def get_dead_letter(session: Session, *, dead_letter_id: int) -> DeadLetter:
    letter = session.get(DeadLetter, dead_letter_id)
    if letter is None:
        raise NotFound(f"dead letter {dead_letter_id} does not exist")
    return letter


def _json_safe(raw: Any) -> Any:
    return json.loads(json.dumps(raw, default=str, ensure_ascii=False))


def dead_letter(
    session: Session, *, raw: Any, event_id: str | None, code: str, reason: str, actor: Actor, letter: DeadLetter | None
) -> DeadLetter:
    """Keep a refused event with its reason: the same raw event refused again is one dead letter, one more
    attempt."""
    raw = _json_safe(raw)
    digest = content_hash(raw)
    if letter is None:
        letter = session.scalar(
            select(DeadLetter).where(DeadLetter.payload_hash == digest, DeadLetter.replayed_at.is_(None)).limit(1)
        )
    if letter is None:
        letter = DeadLetter(
            event_id=event_id,
            raw=raw,
            payload_hash=digest,
            code=code,
            reason=reason[:2000],
            attempts=1,
            received_by=actor.name,
            received_at=utcnow(),
        )
        session.add(letter)
    else:
        letter.code, letter.reason, letter.attempts = code, reason[:2000], letter.attempts + 1
    session.flush()
    return letter


def dead_letter_raw(session: Session, *, raw: Any, code: str, reason: str, actor: Actor) -> DeadLetter:
    """Dead-letter one raw event outside a batch, in the ledger as a batch of one (the stream worker, for an entry
    that fails on its own)."""
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    letter = dead_letter(
        session,
        raw=raw,
        event_id=str(event_id)[:128] if event_id is not None else None,
        code=code,
        reason=reason,
        actor=actor,
        letter=None,
    )
    audit.append(
        session,
        actor=actor,
        action="events.ingested",
        entity_type="monitoring_events",
        entity_id=0,
        changes={"accepted": 0, "duplicates": 0, "dead_lettered": 1, "alerts": 0, "dead_letters": [letter.id]},
    )
    return letter
