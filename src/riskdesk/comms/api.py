"""Notifications over JSON: the outbox and its retry, the subscriptions (who gets which alerts)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from riskdesk.comms import service
from riskdesk.comms.deliverer import MAX_ATTEMPTS
from riskdesk.comms.models import Notification, NotificationSubscription
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import ContainerDep, SessionDep, actor_of, require

router = APIRouter(prefix="/api/v1", tags=["notifications"])

SeverityName = Literal["low", "medium", "high", "critical"]
TierName = Literal["watch", "early_warning", "default_candidate"]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    channel: Literal["webhook", "email"]
    target: Annotated[str, StringConstraints(min_length=1, max_length=500)]  # checked by the service
    min_severity: SeverityName = "high"
    tiers: list[TierName] = Field(default_factory=list, max_length=3)


class SubscriptionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    min_severity: SeverityName | None = None
    tiers: list[TierName] | None = Field(default=None, max_length=3)


def subscription_out(subscription: NotificationSubscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "name": subscription.name,
        "channel": subscription.channel,
        "target": subscription.target,
        "min_severity": subscription.min_severity,
        "tiers": subscription.tiers,
        "active": subscription.active,
        "created_by": subscription.created_by,
        "created_at": subscription.created_at,
        "updated_by": subscription.updated_by,
        "updated_at": subscription.updated_at,
    }


def notification_out(row: Notification) -> dict[str, Any]:
    return {
        "id": row.id,
        "alert_id": row.alert_id,
        "subscription_id": row.subscription_id,
        "channel": row.subscription.channel,
        "target": row.subscription.target,
        "event": row.event,
        "status": row.status,
        "attempts": row.attempts,
        "max_attempts": MAX_ATTEMPTS,
        "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
        "last_error": row.last_error,
        "delivered_at": row.delivered_at,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "payload": row.payload,
    }


@router.get("/notifications")
def list_notifications(
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.notifications_read)],
    status: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
    alert_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The outbox, newest first: each alert's notification per subscription, its status, attempts, last error."""
    rows, total = service.list_notifications(session, status=status, alert_id=alert_id, limit=limit, offset=offset)
    return {"total": total, "items": [notification_out(row) for row in rows]}


@router.post("/notifications/{notification_id}/retry")
def retry_notification(
    notification_id: int,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.notifications_manage)],
) -> dict[str, Any]:
    """Send a failed notification again (a fresh series of attempts from the deliverer's next round)."""
    row = service.retry(session, notification_id=notification_id, actor=actor_of(request, principal))
    return notification_out(row)


@router.get("/notification-subscriptions")
def list_subscriptions(
    session: SessionDep, principal: Annotated[Principal, require(Permission.notifications_read)]
) -> dict[str, Any]:
    return {"items": [subscription_out(s) for s in service.list_subscriptions(session)]}


@router.post("/notification-subscriptions", status_code=201)
def create_subscription(
    data: SubscriptionIn,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.notifications_manage)],
) -> dict[str, Any]:
    """A webhook (``target`` an http(s) URL) or an e-mail address. A webhook's ``secret`` is in this answer only:
    store it with the receiver, which checks ``X-Riskdesk-Signature`` with it."""
    subscription, secret = service.create_subscription(
        session,
        name=data.name,
        channel=data.channel,
        target=data.target,
        min_severity=data.min_severity,
        tiers=list(data.tiers),
        keyring=container.keyring,
        actor=actor_of(request, principal),
    )
    return subscription_out(subscription) | ({"secret": secret} if secret else {})


@router.patch("/notification-subscriptions/{subscription_id}")
def change_subscription(
    subscription_id: int,
    data: SubscriptionChange,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.notifications_manage)],
) -> dict[str, Any]:
    """Activate or deactivate, or change the minimum severity or the tiers (from the next alert on)."""
    subscription = service.update_subscription(
        session,
        subscription_id=subscription_id,
        actor=actor_of(request, principal),
        active=data.active,
        min_severity=data.min_severity,
        tiers=list(data.tiers) if data.tiers is not None else None,
    )
    return subscription_out(subscription)
