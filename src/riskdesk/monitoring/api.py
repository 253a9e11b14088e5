"""Monitoring over JSON: events in, dead letters and their replay, alerts and their moves, the watch list, rules
and backtests."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from riskdesk.monitoring import backtests, intake, rulebook, rules, service, watch_list
from riskdesk.monitoring.intake import IngestResult
from riskdesk.monitoring.models import Alert, DeadLetter, MonitoringRule, WatchListEntry
from riskdesk.monitoring.rules import Severity, Tier
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import ContainerDep, SessionDep, actor_of, require

router = APIRouter(prefix="/api/v1", tags=["monitoring"])


class EventsIn(BaseModel):
    """Each event is checked on its own (an invalid one is dead-lettered, the rest go on), so it is any object."""

    model_config = ConfigDict(extra="forbid")
    events: list[Any] = Field(min_length=1, max_length=intake.MAX_BATCH)


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Literal["investigating", "escalated", "closed"]
    reason: Annotated[str, StringConstraints(max_length=2000)] = ""
    assignee: Annotated[str, StringConstraints(max_length=64)] | None = None


class AssigneeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    assignee: Annotated[str, StringConstraints(max_length=64)]


def result_out(result: IngestResult) -> dict[str, Any]:
    return result.counts() | {
        "rejected": [
            {
                "index": r.index,
                "event_id": r.event_id,
                "code": r.code,
                "reason": r.reason,
                "dead_letter_id": r.dead_letter_id,
            }
            for r in result.rejections
        ]
    }


def alert_out(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "subject": alert.subject,
        "customer_id": alert.customer_id,
        "model_version_id": alert.model_version_id,
        "rule_id": alert.rule_id,
        "rule_version": alert.rule_version,
        "severity": alert.severity,
        "tier": alert.tier,
        "status": alert.status,
        "event_id": alert.event_id,
        "occurred_at": alert.occurred_at,
        "evidence": alert.evidence,
        "assignee": alert.assignee,
        "sla_due_at": alert.sla_due_at,
        "close_reason": alert.close_reason,
        "raised_at": alert.raised_at,
        "updated_by": alert.updated_by,
        "updated_at": alert.updated_at,
    }


def dead_letter_out(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "event_id": letter.event_id,
        "raw": letter.raw,
        "code": letter.code,
        "reason": letter.reason,
        "attempts": letter.attempts,
        "received_by": letter.received_by,
        "received_at": letter.received_at,
        "replayed_by": letter.replayed_by,
        "replayed_at": letter.replayed_at,
    }


@router.post("/events")
def ingest_events(
    data: EventsIn,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.events_ingest)],
) -> dict[str, Any]:
    """A batch of up to 1,000 events: counts, and for each event not accepted its index, reason and dead letter.
    The same event id with the same content is a duplicate (processed once); with other content, a conflict."""
    result = intake.ingest(
        session,
        events=data.events,
        actor=actor_of(request, principal),
        policy=container.credit_policy,
        cache=container.monitoring_states,
    )
    return result_out(result)


@router.get("/events/dead-letters")
def list_dead_letters(
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.events_ingest)],
    replayed: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Events that could not be processed, with the reason (``replayed=true``: those since replayed)."""
    letters, total = service.list_dead_letters(session, replayed=replayed, limit=limit, offset=offset)
    return {"total": total, "items": [dead_letter_out(letter) for letter in letters]}


@router.post("/events/dead-letters/{dead_letter_id}/replay")
def replay_dead_letter(
    dead_letter_id: int,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.events_ingest)],
) -> dict[str, Any]:
    """Process the dead letter's event again; it stays on the list, with the new reason, if it fails again."""
    letter, result = intake.replay(
        session, dead_letter_id=dead_letter_id, actor=actor_of(request, principal), policy=container.credit_policy
    )
    return result_out(result) | {"dead_letter": dead_letter_out(letter)}


@router.get("/alerts")
def list_alerts(
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.customers_read)],
    status: Annotated[str | None, Query(pattern="^(open|new|investigating|escalated|closed)$")] = None,
    severity: Annotated[str | None, Query(pattern="^(low|medium|high|critical)$")] = None,
    customer_id: int | None = None,
    subject: Annotated[str | None, Query(pattern="^(customer|model)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The alert queue, newest first; ``status=open`` is every status but closed; ``subject=model`` the alerts
    asking for a model review (they have a ``model_version_id`` and no customer)."""
    page = service.list_alerts(
        session,
        status=status,
        severity=severity,
        customer_id=customer_id,
        subject=subject,
        limit=limit,
        offset=offset,
    )
    return {"total": page.total, "items": [alert_out(a) for a in page.alerts]}


@router.get("/alerts/{alert_id}")
def get_alert(
    alert_id: int, session: SessionDep, principal: Annotated[Principal, require(Permission.customers_read)]
) -> dict[str, Any]:
    return alert_out(service.get_alert(session, alert_id=alert_id))


@router.post("/alerts/{alert_id}/transition")
def transition_alert(
    alert_id: int,
    data: TransitionIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.alerts_work)],
) -> dict[str, Any]:
    """new → investigating → escalated → closed (closing needs a reason); optionally (re)assign on the way."""
    alert = service.transition(
        session,
        alert_id=alert_id,
        status=data.status,
        reason=data.reason,
        assignee=data.assignee,
        actor=actor_of(request, principal),
    )
    return alert_out(alert)


@router.post("/alerts/{alert_id}/assignee")
def assign_alert(
    alert_id: int,
    data: AssigneeIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.alerts_work)],
) -> dict[str, Any]:
    """Give the alert to a user by username (empty: to no one)."""
    alert = service.assign(session, alert_id=alert_id, assignee=data.assignee, actor=actor_of(request, principal))
    return alert_out(alert)


# ── watch list ───────────────────────────────────────────────────────────────────────────────────────────────

Reason = Annotated[str, StringConstraints(max_length=2000)]


class WatchListAddIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: int = Field(ge=1)
    reason: Reason


class RemovalRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Reason


class RemovalDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Literal["consent", "refuse"]
    reason: Reason = ""


def watch_entry_out(entry: WatchListEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "customer_id": entry.customer_id,
        "status": entry.status,
        "alert_id": entry.alert_id,
        "added_because": entry.added_because,
        "added_by": entry.added_by,
        "added_at": entry.added_at,
        "next_review_on": entry.next_review_on,
        "removal_requested_by": entry.removal_requested_by,
        "removal_requested_at": entry.removal_requested_at,
        "removal_reason": entry.removal_reason,
        "decision": entry.decision,
        "decided_by": entry.decided_by,
        "decided_at": entry.decided_at,
        "decision_reason": entry.decision_reason,
        "removed_at": entry.removed_at,
    }


@router.get("/watch-list")
def list_watch_list(
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.customers_read)],
    status: Annotated[str, Query(pattern="^(current|on|removal_requested|removed|all)$")] = "current",
    customer_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Entries newest first; ``current`` (the default) is on or removal requested, ``all`` every stay ever."""
    page = watch_list.list_entries(
        session, status=None if status == "all" else status, customer_id=customer_id, limit=limit, offset=offset
    )
    return {"total": page.total, "items": [watch_entry_out(e) for e in page.entries]}


@router.post("/watch-list", status_code=201)
def add_to_watch_list(
    data: WatchListAddIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.alerts_work)],
) -> dict[str, Any]:
    """Put a customer on the list by hand, with a reason (409 when it is on already)."""
    entry = watch_list.add(
        session, customer_id=data.customer_id, reason=data.reason, actor=actor_of(request, principal)
    )
    return watch_entry_out(entry)


@router.post("/watch-list/{customer_id}/removal-request")
def request_watch_list_removal(
    customer_id: int,
    data: RemovalRequestIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.alerts_work)],
) -> dict[str, Any]:
    """Ask an approver to take the customer off; refused (409) while an early-warning alert of it is open."""
    entry = watch_list.request_removal(
        session, customer_id=customer_id, reason=data.reason, actor=actor_of(request, principal)
    )
    return watch_entry_out(entry)


@router.post("/watch-list/{customer_id}/removal-decision")
def decide_watch_list_removal(
    customer_id: int,
    data: RemovalDecisionIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.watch_list_decide)],
) -> dict[str, Any]:
    """Consent (the customer leaves the list) or refuse with a reason; never on one's own request (403)."""
    entry = watch_list.decide_removal(
        session,
        customer_id=customer_id,
        decision=data.decision,
        reason=data.reason,
        actor=actor_of(request, principal),
    )
    return watch_entry_out(entry)


# ── rules: versions, the editor's check, backtests ───────────────────────────────────────────────────────────

RuleIdText = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
NameText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ExpressionText = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
SuppressionSeconds = Annotated[int, Field(ge=0, le=rulebook.MAX_SUPPRESSION_SECONDS)]


class RuleFieldsIn(BaseModel):
    """The fields of a rule version an author writes; on a new version or an edit, those given change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: NameText | None = None
    name_zh: NameText | None = None
    expression: ExpressionText | None = None
    severity: Severity | None = None
    tier: Tier | None = None
    suppression_seconds: SuppressionSeconds | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None

    def changes(self) -> dict[str, Any]:
        given = self.model_dump(exclude_none=True)
        return {k: v.value if isinstance(v, Severity | Tier) else v for k, v in given.items()}


class RuleIn(RuleFieldsIn):
    rule_id: RuleIdText
    name: NameText
    name_zh: NameText
    expression: ExpressionText
    severity: Severity
    tier: Tier
    suppression_seconds: SuppressionSeconds = 0
    description: Annotated[str, StringConstraints(max_length=2000)] = ""


class NewVersionIn(RuleFieldsIn):
    from_version: Annotated[int, Field(ge=1)] | None = None


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Annotated[str, StringConstraints(max_length=2000)] = ""


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: Annotated[str, StringConstraints(max_length=rules.MAX_EXPRESSION_LENGTH + 1)]


class BacktestIn(BaseModel):
    """A saved version (``rule_id`` and ``version``), or an unsaved ``expression`` (with ``rule_id``: compared
    with that rule's active version); over the events that occurred from ``from`` to ``to`` (UTC days, both
    included), optionally only of some customers."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    rule_id: RuleIdText | None = None
    version: Annotated[int, Field(ge=1)] | None = None
    expression: ExpressionText | None = None
    suppression_seconds: SuppressionSeconds = 0
    first: date = Field(alias="from")
    last: date = Field(alias="to")
    customer_ids: Annotated[list[Annotated[int, Field(ge=1)]], Field(max_length=1000)] = []

    @model_validator(mode="after")
    def _one_rule(self) -> BacktestIn:
        if (self.expression is None) == (self.version is None):
            raise ValueError("version: give rule_id and version (a saved version) or expression (unsaved), not both")
        if self.version is not None and self.rule_id is None:
            raise ValueError("rule_id: a version needs its rule_id")
        return self


def rule_out(row: MonitoringRule) -> dict[str, Any]:
    return {
        "rule_id": row.rule_id,
        "version": row.version,
        "status": row.status,
        "name": row.name,
        "name_zh": row.name_zh,
        "expression": row.expression,
        "severity": row.severity,
        "tier": row.tier,
        "suppression_seconds": row.suppression_seconds,
        "description": row.description,
        "created_by": row.created_by,
        "created_at": row.created_at,
    }


def refusal_out(error: rules.RuleError) -> dict[str, Any]:
    return {
        "message": error.message,
        "reason": error.reason,
        "line": error.line,
        "column": error.column,
        "excerpt": error.excerpt,
    }


@router.get("/rules")
def list_rules(
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.customers_read)],
    status: Annotated[str | None, Query(pattern="^(draft|active|retired)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Rule versions by rule and version, filtered by status."""
    rows, total = rulebook.list_versions(session, status=status, limit=limit, offset=offset)
    return {"total": total, "items": [rule_out(row) for row in rows]}


@router.post("/rules/check")
def check_rule(data: CheckIn, principal: Annotated[Principal, require(Permission.rules_write)]) -> dict[str, Any]:
    """Compile an expression: ``ok`` and what it reads, or the first problem with its line, column and caret."""
    try:
        compiled = rules.compile_rule(data.expression)
    except rules.RuleError as error:
        return {"ok": False, "error": refusal_out(error)}
    reads = {root: sorted(names) if names is not None else None for root, names in compiled.references.items()}
    return {"ok": True, "reads": reads}


@router.post("/rules/backtest")
def backtest_rule(
    data: BacktestIn, session: SessionDep, principal: Annotated[Principal, require(Permission.customers_read)]
) -> dict[str, Any]:
    """Which customers the rule would have flagged over stored events, and when; with the active version's
    flags over the same history. At most 200,000 stored events per run."""
    scope = backtests.Scope(data.first, data.last, tuple(sorted(set(data.customer_ids))))
    if data.version is not None and data.rule_id is not None:
        result = backtests.run_version(session, rule_id=data.rule_id, version=data.version, scope=scope)
    else:
        rule = backtests.unsaved_rule(
            data.expression or "", suppression_seconds=data.suppression_seconds, rule_id=data.rule_id
        )
        result = backtests.run(session, rule=rule, scope=scope, unsaved=True)
    return backtests.as_json(result)


@router.post("/rules", status_code=201)
def create_rule(
    data: RuleIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.rules_write)],
) -> dict[str, Any]:
    """A new rule: version 1, a draft. A rule that does not compile is refused with its line and column."""
    fields = data.changes()
    rule_id = fields.pop("rule_id")
    row = rulebook.create_rule(session, rule_id=rule_id, fields=fields, actor=actor_of(request, principal))
    return rule_out(row)


@router.get("/rules/{rule_id}")
def get_rule(
    rule_id: str, session: SessionDep, principal: Annotated[Principal, require(Permission.customers_read)]
) -> dict[str, Any]:
    """The rule's versions, oldest first, and which is active."""
    rows = rulebook.versions_of(session, rule_id=rule_id)
    active = next((row.version for row in rows if row.status == "active"), None)
    return {"rule_id": rule_id, "active_version": active, "versions": [rule_out(row) for row in rows]}


@router.post("/rules/{rule_id}/versions", status_code=201)
def new_rule_version(
    rule_id: str,
    data: NewVersionIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.rules_write)],
) -> dict[str, Any]:
    """A new draft version, copied from ``from_version`` (the newest by default) with the fields given."""
    changes = data.changes()
    from_version = changes.pop("from_version", None)
    row = rulebook.new_version(
        session, rule_id=rule_id, changes=changes, from_version=from_version, actor=actor_of(request, principal)
    )
    return rule_out(row)


@router.patch("/rules/{rule_id}/versions/{version}")
def edit_rule_draft(
    rule_id: str,
    version: int,
    data: RuleFieldsIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.rules_write)],
) -> dict[str, Any]:
    """Change a draft; an active or retired version never changes (make a new version)."""
    row = rulebook.edit_draft(
        session, rule_id=rule_id, version=version, changes=data.changes(), actor=actor_of(request, principal)
    )
    return rule_out(row)


@router.post("/rules/{rule_id}/versions/{version}/activate")
def activate_rule(
    rule_id: str,
    version: int,
    data: DecisionIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.rules_activate)],
) -> dict[str, Any]:
    """Switch the draft on; the rule's active version is retired in the same transaction. Never one's own."""
    row = rulebook.activate(
        session, rule_id=rule_id, version=version, reason=data.reason, actor=actor_of(request, principal)
    )
    return rule_out(row)


@router.post("/rules/{rule_id}/versions/{version}/retire")
def retire_rule(
    rule_id: str,
    version: int,
    data: DecisionIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.rules_activate)],
) -> dict[str, Any]:
    """Switch an active version off, or set a draft aside; needs a reason."""
    row = rulebook.retire(
        session, rule_id=rule_id, version=version, reason=data.reason, actor=actor_of(request, principal)
    )
    return rule_out(row)
