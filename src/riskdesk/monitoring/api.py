"""Monitoring over JSON: events in, dead letters and their replay, alerts and their moves, the watch list."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from riskdesk.monitoring import intake, service, watch_list
from riskdesk.monitoring.intake import IngestResult
from riskdesk.monitoring.models import Alert, DeadLetter, WatchListEntry
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
        session, events=data.events, actor=actor_of(request, principal), policy=container.credit_policy
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
