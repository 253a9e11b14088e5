"""Credit assessments over JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, StringConstraints

from riskdesk.credit import proposals, service
from riskdesk.credit.models import CreditAssessment, CreditProposal
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


def proposal_out(p: CreditProposal) -> dict[str, Any]:
    return {
        "id": p.id,
        "customer_id": p.customer_id,
        "assessment_id": p.assessment_id,
        "grade": p.grade,
        "limit_amount": str(p.limit_amount),
        "currency": p.currency,
        "payment_days": p.payment_days,
        "conditions": p.conditions,
        "effective_from": p.effective_from,
        "expires_on": p.expires_on,
        "rationale": p.rationale,
        "status": p.status,
        "proposed_by": p.proposed_by,
        "proposed_at": p.proposed_at,
        "decided_by": p.decided_by,
        "decided_at": p.decided_at,
        "decision_reason": p.decision_reason,
    }


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Literal["approve", "reject", "return"]
    reason: Annotated[str, StringConstraints(min_length=3, max_length=2000)]


@router.post("/customers/{customer_id}/credit-proposals", status_code=201)
def propose(
    customer_id: int,
    data: proposals.ProposalIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.credit_assess)],
) -> dict[str, Any]:
    """Propose grade, limit, terms and conditions; an approver decides (never the proposer)."""
    return proposal_out(
        proposals.propose(session, customer_id=customer_id, data=data, actor=actor_of(request, principal))
    )


@router.get("/credit-proposals")
def list_proposals(
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.customers_read)],
    status: Annotated[str | None, Query(pattern="^(proposed|approved|rejected|returned)$")] = "proposed",
    customer_id: int | None = None,
) -> list[dict[str, Any]]:
    """The approvals inbox (status=proposed) or the history."""
    return [proposal_out(p) for p in proposals.proposals(session, status=status, customer_id=customer_id)]


@router.post("/credit-proposals/{proposal_id}/decision")
def decide(
    proposal_id: int,
    data: DecisionIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.credit_approve)],
) -> dict[str, Any]:
    return proposal_out(
        proposals.decide(
            session,
            proposal_id=proposal_id,
            decision=data.decision,
            reason=data.reason,
            actor=actor_of(request, principal),
        )
    )


@router.get("/customers/{customer_id}/credit-limit")
def credit_limit(
    customer_id: int, session: SessionDep, principal: Annotated[Principal, require(Permission.customers_read)]
) -> dict[str, Any] | None:
    limit = proposals.limit_of(session, customer_id=customer_id)
    if limit is None:
        return None
    return {
        "customer_id": limit.customer_id,
        "proposal_id": limit.proposal_id,
        "grade": limit.grade,
        "amount": str(limit.amount),
        "currency": limit.currency,
        "payment_days": limit.payment_days,
        "conditions": limit.conditions,
        "effective_from": limit.effective_from,
        "expires_on": limit.expires_on,
        "approved_by": limit.approved_by,
    }
