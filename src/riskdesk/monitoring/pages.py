"""The alert queue page: filters, paging, and the moves of an alert (investigate, escalate, close with a reason);
the watch list page and the monitoring panel of a customer's page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from riskdesk.customers import service as customers
from riskdesk.customers.models import Customer
from riskdesk.errors import DomainError, ValidationFailed
from riskdesk.monitoring import panel, service, watch_list
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


# ── watch list ───────────────────────────────────────────────────────────────────────────────────────────────

WATCH_LABELS = {
    "current": "On the list",
    "on": "On",
    "removal_requested": "Removal requested",
    "removed": "Removed",
    "all": "All, with history",
    "consented": "Consented",
    "refused": "Refused",
}
FEATURE_LABELS = {
    "orders_count_30d": "Orders, last 30 days",
    "orders_amount_30d": "Order amount, last 30 days",
    "order_velocity_ratio": "Order pace, 7 days against 90 days",
    "transactions_count_30d": "Transactions, last 30 days",
    "payments_count_90d": "Payments, last 90 days",
    "avg_days_late_90d": "Average days late, last 90 days",
    "share_paid_late_90d": "Share paid late, last 90 days",
    "partial_payments_90d": "Partial payments, last 90 days",
    "payment_delay_trend": "Payment delay trend, days",
}


def _watch_list(
    request: Request,
    session: SessionDep,
    *,
    status: str,
    page: int,
    error: str = "",
    status_code: int = 200,
) -> Response:
    found = watch_list.list_entries(
        session, status=None if status == "all" else status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    names = customers.names_by_id(session, Customer, Customer.name, {e.customer_id for e in found.entries})
    return render(
        request,
        "monitoring/watch_list.html",
        {
            "entries": found.entries,
            "total": found.total,
            "names": names,
            "status": status,
            "statuses": ("current", *watch_list.STATUSES, "all"),
            "page": page,
            "pages": max(1, -(-found.total // PAGE_SIZE)),
            "error": error,
            "labels": WATCH_LABELS,
        },
        status_code=status_code,
    )


@router.get("/watch-list")
def watch_list_page(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.customers_read)],
    status: Annotated[str, Query(pattern="^(current|on|removal_requested|removed|all)$")] = "current",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """Customers on the watch list: why and since when, the next review, removal requests to decide."""
    return _watch_list(request, session, status=status, page=page)


def _watch_change(request: Request, session: SessionDep, change: Callable[[], object]) -> Response:
    """Run one change in a savepoint; a refusal shows the list again with the message, anything else goes back."""
    try:
        with session.begin_nested():
            change()
    except DomainError as exc:
        return _watch_list(request, session, status="current", page=1, error=exc.message, status_code=exc.status_code)
    return RedirectResponse("/watch-list", status_code=303)


@router.post("/watch-list")
def add_to_watch_list(
    request: Request,
    form: FormDep,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.alerts_work)],
) -> Response:
    values = form_text(form)
    raw_id = values.get("customer_id", "").strip()

    def add() -> object:
        if not raw_id.isdigit():
            raise ValidationFailed("customer ID: give the number of the customer to put on the watch list")
        return watch_list.add(
            session, customer_id=int(raw_id), reason=values.get("reason", ""), actor=actor_of(request, principal)
        )

    return _watch_change(request, session, add)


@router.post("/watch-list/{customer_id}/removal-request")
def request_watch_list_removal(
    customer_id: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.alerts_work)],
) -> Response:
    reason = form_text(form).get("reason", "")
    return _watch_change(
        request,
        session,
        lambda: watch_list.request_removal(
            session, customer_id=customer_id, reason=reason, actor=actor_of(request, principal)
        ),
    )


@router.post("/watch-list/{customer_id}/removal-decision")
def decide_watch_list_removal(
    customer_id: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.watch_list_decide)],
) -> Response:
    values = form_text(form)
    return _watch_change(
        request,
        session,
        lambda: watch_list.decide_removal(
            session,
            customer_id=customer_id,
            decision=values.get("decision", ""),
            reason=values.get("reason", ""),
            actor=actor_of(request, principal),
        ),
    )


@router.get("/customers/{customer_id}/monitoring")
def customer_monitoring_panel(
    customer_id: int,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.customers_read)],
) -> Response:
    """The part of a customer's page HTMX loads: watch-list standing, open alerts, behaviour state."""
    customers.get_customer(session, customer_id=customer_id)  # 404 for an unknown customer
    return render(
        request,
        "monitoring/_customer.html",
        {
            "m": panel.customer_monitoring(session, customer_id=customer_id),
            "labels": LABELS | WATCH_LABELS,
            "feature_labels": FEATURE_LABELS,
        },
    )
