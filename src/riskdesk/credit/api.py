"""Credit assessments over JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from riskdesk.credit import service
from riskdesk.credit.models import CreditAssessment
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import ContainerDep, SessionDep, actor_of, require

router = APIRouter(prefix="/api/v1", tags=["credit"])


def assessment_out(record: CreditAssessment) -> dict[str, Any]:
    return {
        "id": record.id,
        "customer_id": record.customer_id,
        "policy_version": record.policy_version,
        "points": record.points,
        "probability_of_default": str(record.probability_of_default),
        "grade": record.grade,
        "recommended_limit": str(record.recommended_limit) if record.recommended_limit is not None else None,
        "currency": record.currency,
        "payment_days": record.payment_days,
        "conditions": record.conditions,
        "reasons": record.reasons,
        "calculation": record.calculation,
        "contributions": record.contributions,
        "inputs": record.inputs,
        "inputs_hash": record.inputs_hash,
        "assessed_by": record.assessed_by,
        "assessed_at": record.assessed_at,
    }


@router.get("/credit/policy")
def policy(container: ContainerDep, principal: Annotated[Principal, require(Permission.customers_read)]) -> Any:
    """The credit policy in force: expert scorecard, master scale, limit rules, with its version."""
    return container.credit_policy.model_dump(mode="json")


@router.post("/customers/{customer_id}/assessments", status_code=201)
def assess(
    customer_id: int,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.credit_assess)],
    expected_monthly_sales: Annotated[Decimal | None, Body(embed=True, ge=0, max_digits=18, decimal_places=2)] = None,
) -> dict[str, Any]:
    """Score, PD, grade, payment terms, conditions and a recommended limit with its calculation log."""
    record = service.assess_customer(
        session,
        customer_id=customer_id,
        policy=container.credit_policy,
        actor=actor_of(request, principal),
        expected_monthly_sales=expected_monthly_sales,
    )
    return assessment_out(record)


@router.get("/customers/{customer_id}/assessments")
def list_assessments(
    customer_id: int, session: SessionDep, principal: Annotated[Principal, require(Permission.customers_read)]
) -> list[dict[str, Any]]:
    return [assessment_out(r) for r in service.assessments_of(session, customer_id=customer_id)]
