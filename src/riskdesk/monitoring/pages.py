"""The alert queue page: filters, paging, and the moves of an alert (investigate, escalate, close with a reason)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from riskdesk.customers import service as customers
from riskdesk.customers.models import Customer
from riskdesk.errors import DomainError
from riskdesk.monitoring import service
from riskdesk.scoring import registry
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import FormDep, SessionDep, actor_of, form_text, require_page
from riskdesk.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
# Words shown for stored codes (English keys of web.i18n; "medium" alone is a company size there).
LABELS = {
    "open": "Open",
    "new": "New",
    "investigating": "Investigating",
    "escalated": "Escalated",
    "closed": "Closed",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "critical": "Critical",
    "watch": "Watch",
    "early_warning": "Early warning",
    "default_candidate": "Default candidate",
    "move_investigating": "Investigate",
    "move_escalated": "Escalate",
    "move_closed": "Close",
}


def _queue(
    request: Request,
    session: SessionDep,
    *,
    status: str | None,
    severity: str | None,
    customer_id: int | None,
    page: int,
    error: str = "",
    status_code: int = 200,
) -> Response:
    found = service.list_alerts(
        session,
        status=status,
        severity=severity,
        customer_id=customer_id,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    ids = {a.customer_id for a in found.alerts if a.customer_id is not None}
    names = customers.names_by_id(session, Customer, Customer.name, ids)
    # A model-review alert concerns a model version, not a customer: it links to the Models page.
    model_ids = {a.model_version_id for a in found.alerts if a.model_version_id is not None}
    models = {i: registry.get_version(session, version_id=i).version for i in model_ids}
    return render(
        request,
        "monitoring/alerts.html",
        {
            "alerts": found.alerts,
            "total": found.total,
            "names": names,
            "models": models,
            "status": status or "",
            "severity": severity or "",
            "customer_id": customer_id,
            "page": page,
            "pages": max(1, -(-found.total // PAGE_SIZE)),
            "error": error,
            "statuses": ("open", *service.STATUSES),
            "severities": tuple(service.SLA),
            "moves": service.TRANSITIONS,
            "labels": LABELS,
        },
        status_code=status_code,
    )


@router.get("/alerts")
def alert_queue(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.customers_read)],
    status: Annotated[str | None, Query(pattern="^(|open|new|investigating|escalated|closed)$")] = "open",
    severity: Annotated[str | None, Query(pattern="^(|low|medium|high|critical)$")] = None,
    customer_id: Annotated[str | None, Query(pattern=r"^\d{0,12}$")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """The queue, open alerts first by default; the filter form sends empty values for "any"."""
    return _queue(
        request,
        session,
        status=status or None,
        severity=severity or None,
        customer_id=int(customer_id) if customer_id else None,
        page=page,
    )


@router.post("/alerts/{alert_id}")
def move_alert(
    alert_id: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.alerts_work)],
) -> Response:
    values = form_text(form)
    try:
        with session.begin_nested():
            service.transition(
                session,
                alert_id=alert_id,
                status=values.get("status", ""),
                reason=values.get("reason", ""),
                assignee=values.get("assignee") or None,
                actor=actor_of(request, principal),
            )
    except DomainError as exc:
        return _queue(
            request,
            session,
            status="open",
            severity=None,
            customer_id=None,
            page=1,
            error=exc.message,
            status_code=exc.status_code,
        )
    return RedirectResponse("/alerts", status_code=303)
