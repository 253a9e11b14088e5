"""The analysts' rules as stored versions: write a draft, edit it, switch a version on (four eyes) or off.

A rule is a stable ``rule_id`` with versions (rows of ``monitoring_rules``). A new rule is version 1, a draft; a
change to a rule is a new draft version copied from an earlier one. Only a draft is edited; an active or retired
version never changes, so an alert's ``rule_version`` always names the expression that raised it. Activating a
version retires the rule's active version in the same transaction: one active version per rule, and the next
batch of events is evaluated by it alone. Every stored version compiles (a draft that does not is refused with
the line, column and caret of the error).

Four eyes: nobody activates a version they wrote — its author (``created_by``) or anyone who edited the draft
(read from the audit ledger, where every edit is appended). Who may write and who may activate is the routes'
business (``rules:write``, ``rules:activate``); the CLI acts as ``cli:<OS user>`` under the same four-eyes rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.db.types import utcnow
from riskdesk.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from riskdesk.monitoring.models import MonitoringRule
from riskdesk.monitoring.rules import Rule, RuleStatus, Severity, Tier, compile_rule
from riskdesk.monitoring.service import rule_of

if TYPE_CHECKING:
    from riskdesk.audit.models import AuditEntry

ENTITY = "monitoring_rule"  # audit entries: entity_id is the rule_id, ``changes.version`` the version
EDITABLE = ("name", "name_zh", "expression", "severity", "tier", "suppression_seconds", "description")
MAX_SUPPRESSION_SECONDS = 366 * 24 * 3600
_WRITES = ("rule.created", "rule.version_created", "rule.edited")


@dataclass(frozen=True)
class RuleSummary:
    """One rule on the list: the version in force (or the newest, when none is), and its open drafts."""

    rule_id: str
    shown: MonitoringRule
    active: bool
    versions: int
    drafts: int


def _checked(rule_id: str, version: int, fields: Mapping[str, Any]) -> Rule:
    """The fields as a rule version, refused with the field at fault, and its expression compiled."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ValidationFailed(f"{unknown[0]}: not a field of a rule; the fields are {', '.join(EDITABLE)}")
    try:
        severity, tier = Severity(fields["severity"]), Tier(fields["tier"])
    except ValueError:
        raise ValidationFailed(f"severity is one of {', '.join(Severity)} and tier one of {', '.join(Tier)}") from None
    seconds = int(fields["suppression_seconds"])
    if not 0 <= seconds <= MAX_SUPPRESSION_SECONDS:
        raise ValidationFailed("suppression_seconds: from 0 (every hit alerts) to 366 days")
    rule = Rule(
        id=rule_id,
        version=version,
        name=str(fields["name"]).strip(),
        name_zh=str(fields["name_zh"]).strip(),
        expression=str(fields["expression"]),
        severity=severity,
        tier=tier,
        suppression=timedelta(seconds=seconds),
        description=str(fields.get("description") or "").strip(),
    )
    compile_rule(rule.expression)  # RuleError with line, column and caret
    return rule


def _fields_of(row: MonitoringRule) -> dict[str, Any]:
    return {name: getattr(row, name) for name in EDITABLE}


def _store(row: MonitoringRule, rule: Rule) -> None:
    row.name, row.name_zh, row.expression = rule.name, rule.name_zh, rule.expression
    row.severity, row.tier = rule.severity.value, rule.tier.value
    row.suppression_seconds = int(rule.suppression.total_seconds())
    row.description = rule.description


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    return {name: {"from": before[name], "to": after[name]} for name in EDITABLE if before[name] != after[name]}


# ── reading ──────────────────────────────────────────────────────────────────────────────────────────────────


def versions_of(session: Session, *, rule_id: str, for_update: bool = False) -> list[MonitoringRule]:
    """Every version of the rule, oldest first; ``NotFound`` when there is none."""
    query = select(MonitoringRule).where(MonitoringRule.rule_id == rule_id).order_by(MonitoringRule.version)
    if for_update:  # PostgreSQL: two activations of one rule wait for each other (SQLite serialises writers)
        query = query.with_for_update()
    rows = list(session.scalars(query))
    if not rows:
        raise NotFound(f"there is no rule {rule_id!r}; the rules are listed at GET /api/v1/rules")
    return rows


def get_version(session: Session, *, rule_id: str, version: int, for_update: bool = False) -> MonitoringRule:
    rows = versions_of(session, rule_id=rule_id, for_update=for_update)
    for row in rows:
        if row.version == version:
            return row
    raise NotFound(f"rule {rule_id} has no version {version}; it has {', '.join(str(r.version) for r in rows)}")


def active_version(session: Session, *, rule_id: str) -> MonitoringRule | None:
    return session.scalar(
        select(MonitoringRule).where(
            MonitoringRule.rule_id == rule_id, MonitoringRule.status == RuleStatus.ACTIVE.value
        )
    )


def list_versions(
    session: Session, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[MonitoringRule], int]:
    """Rule versions by rule and version, filtered by status, a page at a time; with the total."""
    query = select(MonitoringRule)
    if status is not None:
        query = query.where(MonitoringRule.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(MonitoringRule.rule_id, MonitoringRule.version).limit(limit).offset(offset))
    return list(rows), total


def summaries(session: Session, *, limit: int = 100, offset: int = 0) -> tuple[list[RuleSummary], int]:
    """The rules (not versions), by id, a page at a time: each with its active version, or its newest."""
    total = session.scalar(select(func.count(func.distinct(MonitoringRule.rule_id)))) or 0
    ids = list(
        session.scalars(
            select(MonitoringRule.rule_id)
            .group_by(MonitoringRule.rule_id)
            .order_by(MonitoringRule.rule_id)
            .limit(limit)
            .offset(offset)
        )
    )
    rows = session.scalars(
        select(MonitoringRule).where(MonitoringRule.rule_id.in_(ids)).order_by(MonitoringRule.version)
    )
    grouped: dict[str, list[MonitoringRule]] = {rule_id: [] for rule_id in ids}
    for row in rows:
        grouped[row.rule_id].append(row)
    out = []
    for rule_id, versions in grouped.items():
        active = [v for v in versions if v.status == RuleStatus.ACTIVE.value]
        shown = active[0] if active else versions[-1]
        drafts = sum(v.status == RuleStatus.DRAFT.value for v in versions)
        out.append(RuleSummary(rule_id, shown, bool(active), len(versions), drafts))
    return out, total


def history(session: Session, *, rule_id: str, limit: int = 200) -> list[AuditEntry]:
    """The rule's ledger entries, newest first: who wrote, edited, activated and retired which version."""
    return audit.entries_for(session, entity_type=ENTITY, entity_id=rule_id, limit=limit)


def writers_of(session: Session, *, row: MonitoringRule) -> set[str]:
    """Everyone who wrote the version: its author and anyone who edited it while it was a draft."""
    names = {row.created_by}
    for entry in audit.entries_for(session, entity_type=ENTITY, entity_id=row.rule_id, limit=10_000):
        if entry.action in _WRITES and json.loads(entry.changes or "{}").get("version") == row.version:
            names.add(entry.actor)
    return names


# ── writing ──────────────────────────────────────────────────────────────────────────────────────────────────


def create_rule(session: Session, *, rule_id: str, fields: Mapping[str, Any], actor: Actor) -> MonitoringRule:
    """A new rule: version 1, a draft. ``fields``: name, name_zh, expression, severity, tier,
    suppression_seconds and optionally description."""
    rule = _checked(rule_id, 1, fields)
    taken = session.scalar(select(MonitoringRule.id).where(MonitoringRule.rule_id == rule_id).limit(1))
    if taken is not None:
        raise Conflict(f"rule {rule_id} exists already; make a new version of it instead")
    row = MonitoringRule(
        rule_id=rule_id,
        version=1,
        status=RuleStatus.DRAFT.value,
        created_by=actor.name,
        created_at=utcnow(),
    )
    _store(row, rule)
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="rule.created",
        entity_type=ENTITY,
        entity_id=rule_id,
        changes={"version": 1, **_fields_of(row)},
    )
    return row


def new_version(
    session: Session,
    *,
    rule_id: str,
    changes: Mapping[str, Any],
    actor: Actor,
    from_version: int | None = None,
) -> MonitoringRule:
    """A new draft version of the rule, copied from ``from_version`` (by default the newest) with ``changes``."""
    rows = versions_of(session, rule_id=rule_id, for_update=True)
    base = rows[-1] if from_version is None else get_version(session, rule_id=rule_id, version=from_version)
    number = rows[-1].version + 1
    rule = _checked(rule_id, number, {**_fields_of(base), **changes})
    row = MonitoringRule(
        rule_id=rule_id,
        version=number,
        status=RuleStatus.DRAFT.value,
        created_by=actor.name,
        created_at=utcnow(),
    )
    _store(row, rule)
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="rule.version_created",
        entity_type=ENTITY,
        entity_id=rule_id,
        changes={"version": number, "from_version": base.version, **_changed(_fields_of(base), _fields_of(row))},
    )
    return row


def edit_draft(
    session: Session, *, rule_id: str, version: int, changes: Mapping[str, Any], actor: Actor
) -> MonitoringRule:
    """Change a draft's fields; an active or retired version is refused (make a new version instead)."""
    row = get_version(session, rule_id=rule_id, version=version, for_update=True)
    if row.status != RuleStatus.DRAFT.value:
        raise ValidationFailed(
            f"rule {rule_id} v{version} is {row.status}: only a draft is edited; an active or retired version"
            " never changes — make a new version from it"
        )
    before = _fields_of(row)
    rule = _checked(rule_id, version, {**before, **changes})
    _store(row, rule)
    changed = _changed(before, _fields_of(row))
    if not changed:
        return row
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="rule.edited",
        entity_type=ENTITY,
        entity_id=rule_id,
        changes={"version": version, **changed},
    )
    return row


def activate(session: Session, *, rule_id: str, version: int, actor: Actor, reason: str = "") -> MonitoringRule:
    """Switch the version on, retiring the rule's active version in the same transaction. Never one's own."""
    row = get_version(session, rule_id=rule_id, version=version, for_update=True)
    rule_of(row).transition(RuleStatus.ACTIVE)  # a draft only; compiles it again against today's vocabulary
    writers = writers_of(session, row=row)
    if actor.name in writers:
        raise PermissionDenied(
            f"you wrote rule {rule_id} v{version}; nobody activates a version they wrote (four eyes) —"
            " another approver must"
        )
    previous = active_version(session, rule_id=rule_id)
    if previous is not None:
        previous.status = RuleStatus.RETIRED.value
        session.flush()  # the old version is retired before the new one is active
    row.status = RuleStatus.ACTIVE.value
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="rule.activated",
        entity_type=ENTITY,
        entity_id=rule_id,
        changes={
            "version": version,
            "retired_version": previous.version if previous is not None else None,
            "expression": row.expression,
            "written_by": sorted(writers),
        },
        reason=reason.strip(),
    )
    return row


def retire(session: Session, *, rule_id: str, version: int, actor: Actor, reason: str) -> MonitoringRule:
    """Switch an active version off, or set a draft aside unused; a reason (3 characters or more) is needed."""
    reason = reason.strip()
    if len(reason) < 3:
        raise ValidationFailed("retiring a rule version needs a reason (at least 3 characters)")
    row = get_version(session, rule_id=rule_id, version=version, for_update=True)
    was = row.status
    rule_of(row).transition(RuleStatus.RETIRED)
    row.status = RuleStatus.RETIRED.value
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="rule.retired",
        entity_type=ENTITY,
        entity_id=rule_id,
        changes={"version": version, "from": was},
        reason=reason,
    )
    return row
