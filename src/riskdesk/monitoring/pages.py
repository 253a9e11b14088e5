"""The alert queue page (filters, paging, the moves of an alert); the watch list page and the monitoring panel of a
customer's page; the rules pages: the list, a rule's versions with the editor of a draft and its live check,
activation and retirement, and a backtest of a version."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from riskdesk.customers import service as customers
from riskdesk.customers.models import Customer
from riskdesk.errors import DomainError, ValidationFailed
from riskdesk.monitoring import backtests, panel, rulebook, service, watch_list
from riskdesk.monitoring.rules import RuleError, Severity, Tier, compile_rule
from riskdesk.scoring import registry
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import FormDep, SessionDep, actor_of, form_text, require_page
from riskdesk.web.templating import TEMPLATES, render

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


# ── rules: the list, a rule's versions and editor, the live check, backtests ─────────────────────────────────

RULE_LABELS = {
    **LABELS,
    "draft": "Draft",
    "active": "Active",
    "retired": "Retired",
}
_RULE_FIELDS = ("name", "name_zh", "expression", "severity", "tier", "description")


def _form_fields(values: dict[str, str]) -> dict[str, Any]:
    """A rule's fields from the editor's form; the suppression window is given in hours."""
    fields: dict[str, Any] = {name: values.get(name, "") for name in _RULE_FIELDS}
    hours = values.get("suppression_hours", "").strip() or "0"
    if not hours.isdigit():
        raise ValidationFailed("suppression: give the window in whole hours (0: every hit alerts)")
    fields["suppression_seconds"] = int(hours) * 3600
    return fields


def _scope(values: Mapping[str, str]) -> backtests.Scope | None:
    """The backtest asked for in the query string, if any (``from``, ``to`` and optional ``customers``)."""
    if not values.get("from") or not values.get("to"):
        return None
    try:
        first, last = date.fromisoformat(values["from"]), date.fromisoformat(values["to"])
    except ValueError:
        raise ValidationFailed("from, to: give dates as YYYY-MM-DD") from None
    ids = [part.strip() for part in values.get("customers", "").replace("，", ",").split(",") if part.strip()]
    if not all(part.isdigit() for part in ids):
        raise ValidationFailed("customers: customer ids separated by commas")
    return backtests.Scope(first, last, tuple(sorted({int(part) for part in ids})))


def _rules_page(
    request: Request,
    session: Session,
    *,
    page: int = 1,
    error: str = "",
    form: dict[str, str] | None = None,
    refusal: RuleError | None = None,
    status_code: int = 200,
) -> Response:
    found, total = rulebook.summaries(session, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(
        request,
        "monitoring/rules.html",
        {
            "rules": found,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "labels": RULE_LABELS,
            "severities": [s.value for s in Severity],
            "tiers": [t.value for t in Tier],
            "error": error,
            "refusal": refusal,
            "form": form or {"severity": "medium", "tier": "watch", "suppression_hours": "0"},
        },
        status_code=status_code,
    )


def _rule_page(
    request: Request,
    session: Session,
    *,
    rule_id: str,
    version: int | None = None,
    query: Mapping[str, str] | None = None,
    error: str = "",
    notice: str = "",
    form: dict[str, str] | None = None,
    refusal: RuleError | None = None,
    status_code: int = 200,
) -> Response:
    rows = rulebook.versions_of(session, rule_id=rule_id)
    drafts = [row for row in rows if row.status == "draft"]
    chosen = next((row for row in rows if row.version == version), None)
    if chosen is None:
        chosen = drafts[-1] if drafts else next((row for row in rows if row.status == "active"), rows[-1])
    report = names = None
    query = query or {}
    try:
        scope = _scope(query)
        if scope is not None:
            report = backtests.run_version(session, rule_id=rule_id, version=chosen.version, scope=scope)
            shown = {*report.report.customers, *(report.active.customers if report.active else [])}
            names = customers.names_by_id(session, Customer, Customer.name, shown)
    except DomainError as exc:
        error, status_code = exc.message, exc.status_code
    check = None
    if chosen.status == "draft" and refusal is None:
        check = _check(chosen.expression)
    values = form or {
        **{name: getattr(chosen, name) for name in _RULE_FIELDS},
        "suppression_hours": str(chosen.suppression_seconds // 3600),
    }
    return render(
        request,
        "monitoring/rule.html",
        {
            "rule_id": rule_id,
            "rows": rows,
            "chosen": chosen,
            "values": values,
            "labels": RULE_LABELS,
            "severities": [s.value for s in Severity],
            "tiers": [t.value for t in Tier],
            "history": [
                (entry, json.loads(entry.changes or "{}").get("version"))
                for entry in rulebook.history(session, rule_id=rule_id, limit=50)
            ],
            "error": error,
            "notice": notice,
            "refusal": refusal,
            "check": check,
            "report": report,
            "names": names or {},
            "query": query,
            "max_listed": backtests.MAX_LISTED,
            "today": date.today().isoformat(),
            "month_ago": (date.today() - timedelta(days=30)).isoformat(),
        },
        status_code=status_code,
    )


def _check(expression: str) -> dict[str, Any]:
    try:
        compiled = compile_rule(expression)
    except RuleError as exc:
        return {"ok": False, "refusal": exc}
    reads: list[str] = []
    for root, names in compiled.references.items():
        reads.extend([f"{root}.{name}" for name in sorted(names)] if names is not None else [f"{root}.*"])
    return {"ok": True, "reads": reads}


def duration_words(seconds: int) -> tuple[str, int]:
    """(unit key, amount) of a suppression window, for the templates: days when whole, else hours."""
    if seconds == 0:
        return "none", 0
    if seconds % 86400 == 0:
        return "days", seconds // 86400
    return "hours", seconds // 3600


TEMPLATES.env.globals["duration_words"] = duration_words


@router.get("/rules")
def rules_list(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.customers_read)],
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """Each rule with the version in force, its severity, tier and suppression window; a form for a new rule."""
    return _rules_page(request, session, page=page)


@router.post("/rules")
def rules_create(
    request: Request,
    form: FormDep,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.rules_write)],
) -> Response:
    values = form_text(form)
    rule_id = values.get("rule_id", "").strip()
    try:
        with session.begin_nested():
            rulebook.create_rule(
                session, rule_id=rule_id, fields=_form_fields(values), actor=actor_of(request, principal)
            )
    except RuleError as exc:
        return _rules_page(request, session, form=values, refusal=exc, status_code=exc.status_code)
    except DomainError as exc:
        return _rules_page(request, session, form=values, error=exc.message, status_code=exc.status_code)
    return RedirectResponse(f"/rules/{rule_id}?version=1", status_code=303)


@router.post("/rules/check")
def rules_check(
    request: Request,
    form: FormDep,
    principal: Annotated[Principal, require_page(Permission.rules_write)],
) -> Response:
    """The editor's live check (HTMX): compiles, or the first problem with its caret."""
    check = _check(form_text(form).get("expression", ""))
    return render(request, "monitoring/rule_check.html", {"check": check})


@router.get("/rules/{rule_id}")
def rule_detail(
    rule_id: str,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.customers_read)],
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """The rule's versions, the editor of a draft, and a backtest of the chosen version when dates are given."""
    query = {k: v for k, v in request.query_params.items() if k in ("from", "to", "customers")}
    saved = "Draft saved." if request.query_params.get("saved") else ""
    return _rule_page(request, session, rule_id=rule_id, version=version, query=query, notice=saved)


@router.post("/rules/{rule_id}/versions")
def rule_new_version(
    rule_id: str,
    request: Request,
    form: FormDep,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.rules_write)],
) -> Response:
    source = form_text(form).get("from_version", "")
    try:
        with session.begin_nested():
            row = rulebook.new_version(
                session,
                rule_id=rule_id,
                changes={},
                from_version=int(source) if source.isdigit() else None,
                actor=actor_of(request, principal),
            )
    except DomainError as exc:
        return _rule_page(request, session, rule_id=rule_id, error=exc.message, status_code=exc.status_code)
    return RedirectResponse(f"/rules/{rule_id}?version={row.version}", status_code=303)


@router.post("/rules/{rule_id}/versions/{version}")
def rule_save_draft(
    rule_id: str,
    version: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.rules_write)],
) -> Response:
    values = form_text(form)
    try:
        with session.begin_nested():
            rulebook.edit_draft(
                session,
                rule_id=rule_id,
                version=version,
                changes=_form_fields(values),
                actor=actor_of(request, principal),
            )
    except RuleError as exc:
        return _rule_page(
            request, session, rule_id=rule_id, version=version, form=values, refusal=exc, status_code=exc.status_code
        )
    except DomainError as exc:
        return _rule_page(
            request,
            session,
            rule_id=rule_id,
            version=version,
            form=values,
            error=exc.message,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/rules/{rule_id}?version={version}&saved=1", status_code=303)


def _decide(
    request: Request, session: Session, principal: Principal, rule_id: str, version: int, reason: str, to: str
) -> Response:
    actor = actor_of(request, principal)
    try:
        with session.begin_nested():
            if to == "active":
                rulebook.activate(session, rule_id=rule_id, version=version, reason=reason, actor=actor)
            else:
                rulebook.retire(session, rule_id=rule_id, version=version, reason=reason, actor=actor)
    except DomainError as exc:
        return _rule_page(
            request, session, rule_id=rule_id, version=version, error=exc.message, status_code=exc.status_code
        )
    return RedirectResponse(f"/rules/{rule_id}?version={version}", status_code=303)


@router.post("/rules/{rule_id}/versions/{version}/activate")
def rule_activate(
    rule_id: str,
    version: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.rules_activate)],
) -> Response:
    reason = form_text(form).get("reason", "")
    return _decide(request, session, principal, rule_id, version, reason, "active")


@router.post("/rules/{rule_id}/versions/{version}/retire")
def rule_retire(
    rule_id: str,
    version: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.rules_activate)],
) -> Response:
    reason = form_text(form).get("reason", "")
    return _decide(request, session, principal, rule_id, version, reason, "retired")
