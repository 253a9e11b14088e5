"""The notifications page: the outbox with failed rows and their retry, and the subscriptions (admins add and
deactivate them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from riskdesk.comms import service
from riskdesk.comms.deliverer import MAX_ATTEMPTS
from riskdesk.errors import DomainError
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import ContainerDep, FormDep, SessionDep, actor_of, form_text, require_page
from riskdesk.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
# Words shown for stored codes (English keys of web.i18n).
LABELS = {
    "pending": "Pending",
    "delivered": "Delivered",
    "failed": "Failed",
    "webhook": "Webhook",
    "email": "E-mail",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "critical": "Critical",
    "watch": "Watch",
    "early_warning": "Early warning",
    "default_candidate": "Default candidate",
}
Manager = Annotated[Principal, require_page(Permission.notifications_manage)]


def _page(
    request: Request,
    session: SessionDep,
    *,
    status: str | None = None,
    page: int = 1,
    error: str = "",
    new_secret: str = "",
    status_code: int = 200,
) -> Response:
    rows, total = service.list_notifications(session, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(
        request,
        "comms/notifications.html",
        {
            "rows": rows,
            "total": total,
            "counts": service.status_counts(session),
            "status": status or "",
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "subscriptions": service.list_subscriptions(session),
            "statuses": service.STATUSES,
            "channels": service.CHANNELS,
            "severities": service.SEVERITIES,
            "tiers": service.TIERS,
            "max_attempts": MAX_ATTEMPTS,
            "labels": LABELS,
            "error": error,
            "new_secret": new_secret,
        },
        status_code=status_code,
    )


@router.get("/notifications")
def notifications_page(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.notifications_read)],
    status: Annotated[str | None, Query(pattern="^(|pending|delivered|failed)$")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    return _page(request, session, status=status or None, page=page)


@router.post("/notifications/{notification_id}/retry")
def retry_notification(notification_id: int, request: Request, session: SessionDep, principal: Manager) -> Response:
    """HTMX swaps the row in place (with the reason when the retry is refused); without HTMX, back to the page."""
    error = ""
    try:
        with session.begin_nested():
            service.retry(session, notification_id=notification_id, actor=actor_of(request, principal))
    except DomainError as exc:
        error = exc.message
    if not request.headers.get("hx-request"):
        if error:
            return _page(request, session, error=error, status_code=409)
        return RedirectResponse("/notifications", status_code=303)
    row = service.get_notification(session, notification_id=notification_id)
    return render(
        request,
        "comms/_notification.html",
        {"n": row, "labels": LABELS, "max_attempts": MAX_ATTEMPTS, "row_error": error, "retried": not error},
    )


@router.post("/notifications/subscriptions")
def create_subscription(
    request: Request, form: FormDep, session: SessionDep, container: ContainerDep, principal: Manager
) -> Response:
    values = form_text(form)
    try:
        with session.begin_nested():
            _, secret = service.create_subscription(
                session,
                name=values.get("name", ""),
                channel=values.get("channel", ""),
                target=values.get("target", ""),
                min_severity=values.get("min_severity", ""),
                tiers=[t for t in form.getlist("tiers") if isinstance(t, str)],
                keyring=container.keyring,
                actor=actor_of(request, principal),
            )
    except DomainError as exc:
        return _page(request, session, error=exc.message, status_code=exc.status_code)
    return _page(request, session, new_secret=secret or "")


@router.post("/notifications/subscriptions/{subscription_id}")
def toggle_subscription(
    subscription_id: int, request: Request, form: FormDep, session: SessionDep, principal: Manager
) -> Response:
    try:
        service.update_subscription(
            session,
            subscription_id=subscription_id,
            active=form_text(form).get("active") == "1",
            actor=actor_of(request, principal),
        )
    except DomainError as exc:
        return _page(request, session, error=exc.message, status_code=exc.status_code)
    return RedirectResponse("/notifications#subscriptions", status_code=303)
