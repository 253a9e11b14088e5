"""The assessment page: score, reasons, grade, terms and the proposed limit with its calculation log."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from riskdesk.credit import service
from riskdesk.customers import service as customers
from riskdesk.errors import DomainError
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
            "assessments": service.assessments_of(session, customer_id=customer_id, limit=10),
            "policy": container.credit_policy,
            "error": error,
        },
        status_code=status_code,
    )


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
