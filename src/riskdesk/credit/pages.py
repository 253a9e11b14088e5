"""The assessment page: score, reasons, grade, terms and the proposed limit with its calculation log."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from riskdesk.credit import checks, portfolio, proposals, service
from riskdesk.credit import exposure as exposures
from riskdesk.customers import service as customers
from riskdesk.errors import DomainError, details_from_pydantic
from riskdesk.scoring import registry
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import ContainerDep, FormDep, SessionDep, actor_of, form_text, require_page
from riskdesk.web.templating import render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    customer_id: int,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "credit/assessment.html",
        {
            "customer": customers.get_customer(session, customer_id=customer_id),
            "limit": proposals.limit_of(session, customer_id=customer_id),
            "proposals": proposals.proposals(session, status=None, customer_id=customer_id),
            "today": date.today(),
            "timedelta": timedelta,
            "assessments": service.assessments_of(session, customer_id=customer_id, limit=10),
            "policy": container.credit_policy,
            "error": error,
            **_exposure(session, container, customer_id),
            "prediction": next(iter(portfolio.predictions_of(session, customer_id=customer_id, limit=1)), None),
        },
        status_code=status_code,
    )


def _exposure(session: SessionDep, container: ContainerDep, customer_id: int) -> dict[str, Any]:
    try:
        exposure, _ = exposures.customer_exposure(session, customer_id=customer_id, policy=container.credit_policy)
    except DomainError as exc:  # a missing exchange rate must not hide the rest of the page
        return {"exposure": None, "exposure_error": exc.message, "checks": []}
    return {
        "exposure": exposure,
        "exposure_error": "",
        "checks": checks.checks(session, status=None, customer_id=customer_id, limit=20),
        "bucket_label": bucket_label,
    }


def bucket_label(name: str, lang: str) -> str:
    """'overdue_31_60' → 'Overdue 31–60 days' / '逾期 31–60 天'; the bands come from the policy."""
    zh = lang == "zh"
    if name.startswith("overdue_over_"):
        days = name.rsplit("_", 1)[1]
        return f"逾期 {days} 天以上" if zh else f"Overdue over {days} days"
    if name.startswith("overdue_"):
        _, low, high = name.split("_")
        return f"逾期 {low}–{high} 天" if zh else f"Overdue {low}–{high} days"
    return BUCKETS[name][0 if zh else 1]


BUCKETS = {
    "orders": ("未交货订单", "Open orders"),
    "deliveries": ("已交货未开票", "Delivered, not invoiced"),
    "invoices_not_due": ("未到期发票", "Invoices not yet due"),
    "reserved": ("已通过检查、订单未到", "Approved checks awaiting their order"),
}


@router.get("/customers/{customer_id}/assessment")
def assessment_page(
    customer_id: int,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require_page(Permission.customers_read)],
) -> Response:
    return _page(request, session, container, customer_id)


@router.post("/customers/{customer_id}/assessment")
def run_assessment(
    customer_id: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require_page(Permission.credit_assess)],
) -> Response:
    raw = form_text(form).get("expected_monthly_sales", "").replace(",", "").strip()
    try:
        monthly = Decimal(raw) if raw else None
        if monthly is not None and (monthly < 0 or not monthly.is_finite()):
            raise InvalidOperation
    except InvalidOperation:
        return _page(
            request,
            session,
            container,
            customer_id,
            status_code=422,
            error="expected monthly sales must be an amount of 0 or more",
        )
    try:
        with session.begin_nested():
            service.assess_customer(
                session,
                customer_id=customer_id,
                policy=container.credit_policy,
                actor=actor_of(request, principal),
                expected_monthly_sales=monthly,
            )
    except DomainError as exc:
        return _page(request, session, container, customer_id, error=exc.message, status_code=exc.status_code)
    return RedirectResponse(f"/customers/{customer_id}/assessment", status_code=303)


@router.post("/customers/{customer_id}/credit-proposals")
def propose(
    customer_id: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require_page(Permission.credit_assess)],
) -> Response:
    values = form_text(form)
    payload: dict[str, object] = {
        key: values.get(key, "")
        for key in ("grade", "limit_amount", "currency", "payment_days", "effective_from", "expires_on", "rationale")
    }
    payload["conditions"] = [c for c in values.get("conditions", "").split(",") if c.strip()]
    if values.get("assessment_id"):
        payload["assessment_id"] = values["assessment_id"]
    try:
        data = proposals.ProposalIn.model_validate(
            {**payload, "limit_amount": values.get("limit_amount", "").replace(",", "")}
        )
        with session.begin_nested():
            proposals.propose(session, customer_id=customer_id, data=data, actor=actor_of(request, principal))
    except ValidationError as exc:
        message = "; ".join(f"{d.field}: {d.reason}" for d in details_from_pydantic(exc.errors()))
        return _page(request, session, container, customer_id, error=message, status_code=422)
    except DomainError as exc:
        return _page(request, session, container, customer_id, error=exc.message, status_code=exc.status_code)
    return RedirectResponse(f"/customers/{customer_id}/assessment", status_code=303)


@router.get("/approvals")
def approvals_inbox(
    request: Request, session: SessionDep, principal: Annotated[Principal, require_page(Permission.customers_read)]
) -> Response:
    return _inbox(request, session)


def _inbox(request: Request, session: SessionDep, *, error: str = "", status_code: int = 200) -> Response:
    pending = proposals.proposals(session, status="proposed")
    decided = [p for p in proposals.proposals(session, status=None) if p.status != "proposed"][:30]
    blocks = checks.checks(session, status="held", limit=100)
    ids = {p.customer_id for p in [*pending, *decided]} | {c.customer_id for c in blocks}
    names = {i: customers.get_customer(session, customer_id=i).name for i in ids}
    return render(
        request,
        "credit/approvals.html",
        {"pending": pending, "decided": decided, "blocks": blocks, "names": names, "error": error},
        status_code=status_code,
    )


@router.post("/credit-blocks/{check_id}")
def decide_block(
    check_id: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require_page(Permission.credit_approve)],
) -> Response:
    values = form_text(form)
    decision = values.get("decision", "")
    if decision not in ("release", "reject"):
        return _inbox(request, session, error="choose release or reject", status_code=422)
    try:
        with session.begin_nested():
            checks.decide_block(
                session,
                check_id=check_id,
                decision="release" if decision == "release" else "reject",
                reason=values.get("reason", ""),
                policy=container.credit_policy,
                actor=actor_of(request, principal),
            )
    except DomainError as exc:
        return _inbox(request, session, error=exc.message, status_code=exc.status_code)
    return RedirectResponse("/approvals", status_code=303)


@router.post("/approvals/{proposal_id}")
def decide(
    proposal_id: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require_page(Permission.credit_approve)],
) -> Response:
    values = form_text(form)
    try:
        with session.begin_nested():
            proposals.decide(
                session,
                proposal_id=proposal_id,
                decision=values.get("decision", ""),
                reason=values.get("reason", ""),
                policy=container.credit_policy,
                actor=actor_of(request, principal),
            )
    except DomainError as exc:
        return _inbox(request, session, error=exc.message, status_code=exc.status_code)
    return RedirectResponse("/approvals", status_code=303)


def _models(
    request: Request, session: SessionDep, *, error: str = "", rescored: Any = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "credit/models.html",
        {
            "versions": registry.versions(session),
            "overlays": registry.overlays(session),
            "rescored": rescored,
            "due": portfolio.open_rescorings(session),
            "labels": {"champion_changed": "New champion", "overlay_changed": "Overlay changed"},
            "error": error,
            "today": date.today(),
        },
        status_code=status_code,
    )


@router.get("/models")
def models_page(
    request: Request, session: SessionDep, principal: Annotated[Principal, require_page(Permission.customers_read)]
) -> Response:
    return _models(request, session)


@router.post("/models/{version_id}/promotion")
def models_promotion(
    version_id: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.models_manage)],
) -> Response:
    try:
        with session.begin_nested():
            registry.request_promotion(
                session,
                version_id=version_id,
                reason=form_text(form).get("reason", ""),
                actor=actor_of(request, principal),
            )
    except DomainError as exc:
        return _models(request, session, error=exc.message, status_code=exc.status_code)
    return RedirectResponse("/models", status_code=303)


@router.post("/models/{version_id}/promotion/decision")
def models_decision(
    version_id: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.credit_approve)],
) -> Response:
    values = form_text(form)
    if values.get("decision") not in ("approve", "reject"):
        return _models(request, session, error="choose approve or reject", status_code=422)
    try:
        with session.begin_nested():
            registry.decide_promotion(
                session,
                version_id=version_id,
                decision="approve" if values["decision"] == "approve" else "reject",
                reason=values.get("reason", ""),
                actor=actor_of(request, principal),
            )
    except DomainError as exc:
        return _models(request, session, error=exc.message, status_code=exc.status_code)
    return RedirectResponse("/models", status_code=303)


@router.post("/models/overlays")
def models_overlay(
    request: Request,
    form: FormDep,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.models_manage)],
) -> Response:
    try:
        values = form_text(form)
        data = registry.OverlayIn.model_validate(
            {k: values.get(k, "") for k in ("sector", "factor", "valid_from", "reason")}
        )
        with session.begin_nested():
            registry.add_overlay(session, data=data, actor=actor_of(request, principal))
    except ValidationError as exc:
        message = "; ".join(f"{d.field}: {d.reason}" for d in details_from_pydantic(exc.errors()))
        return _models(request, session, error=message, status_code=422)
    return RedirectResponse("/models", status_code=303)


@router.post("/models/rescoring")
def models_rescoring(
    request: Request,
    form: FormDep,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require_page(Permission.models_manage)],
) -> Response:
    try:
        with session.begin_nested():
            result = portfolio.rescore(
                session, policy=container.credit_policy, actor=actor_of(request, principal), today=date.today()
            )
    except DomainError as exc:
        return _models(request, session, error=exc.message, status_code=exc.status_code)
    return _models(request, session, rescored=result)
