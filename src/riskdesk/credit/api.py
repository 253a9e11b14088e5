"""Credit assessments over JSON."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from riskdesk.credit import checks, portfolio, proposals, service
from riskdesk.credit import exposure as exposures
from riskdesk.credit.buckets import Exposure
from riskdesk.credit.models import CreditAssessment, CreditCheck, CreditProposal
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
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.credit_approve)],
) -> dict[str, Any]:
    return proposal_out(
        proposals.decide(
            session,
            proposal_id=proposal_id,
            decision=data.decision,
            reason=data.reason,
            policy=container.credit_policy,
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


class RatesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rates: list[exposures.RateIn] = Field(min_length=1, max_length=1000)


class ItemsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[exposures.ItemIn] = Field(min_length=1, max_length=exposures.MAX_BATCH)


class BlockDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Literal["release", "reject"]
    reason: Annotated[str, StringConstraints(min_length=3, max_length=2000)]


def exposure_out(exposure: Exposure, limit_amount: Decimal | None, **extra: Any) -> dict[str, Any]:
    utilisation = exposure.utilisation(limit_amount)
    return {
        **extra,
        "currency": exposure.currency,
        "buckets": {name: str(value) for name, value in exposure.buckets.items()},
        "total": str(exposure.total),
        "overdue": str(exposure.overdue),
        "max_days_past_due": exposure.max_days_past_due,
        "limit": str(limit_amount) if limit_amount is not None else None,
        "utilisation": str(utilisation) if utilisation is not None else None,
        "conversions": exposure.conversions,
    }


def check_out(check: CreditCheck) -> dict[str, Any]:
    return {
        "id": check.id,
        "reference": check.reference,
        "revision": check.revision,
        "customer_id": check.customer_id,
        "amount": str(check.amount),
        "currency": check.currency,
        "decision": "approve" if check.status in ("approved", "released") else "hold",
        "outcome": check.outcome,
        "status": check.status,
        "reasons": check.reasons,
        "snapshot": check.snapshot,
        "policy_version": check.policy_version,
        "checked_by": check.checked_by,
        "checked_at": check.checked_at,
        "reserved_until": check.reserved_until,
        "decided_by": check.decided_by,
        "decided_at": check.decided_at,
        "decision_reason": check.decision_reason,
    }


@router.put("/fx-rates")
def load_rates(
    data: RatesIn,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.exposure_write)],
) -> dict[str, int]:
    """Add or correct exchange rates: units of the base currency (CNY) for one unit of the currency, per day."""
    base = container.credit_policy.base_currency
    return {"loaded": exposures.load_rates(session, rates=data.rates, base=base, actor=actor_of(request, principal))}


@router.get("/fx-rates")
def list_rates(
    session: SessionDep, principal: Annotated[Principal, require(Permission.customers_read)]
) -> list[dict[str, Any]]:
    return [
        {"currency": r.currency, "rate": str(r.rate), "valid_on": r.valid_on, "source": r.source}
        for r in exposures.list_rates(session)
    ]


@router.put("/exposure-items")
def record_items(
    data: ItemsIn,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.exposure_write)],
) -> dict[str, int]:
    """Report the open amount of orders, deliveries and invoices (0 settles one); all or nothing."""
    base = container.credit_policy.base_currency
    return exposures.record_items(session, items=data.items, base=base, actor=actor_of(request, principal))


@router.get("/customers/{customer_id}/exposure")
def customer_exposure(
    customer_id: int,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.customers_read)],
) -> dict[str, Any]:
    """Exposure in buckets, in the limit's currency, with utilisation = exposure / limit."""
    exposure, limit = exposures.customer_exposure(session, customer_id=customer_id, policy=container.credit_policy)
    return exposure_out(exposure, limit.amount if limit else None, customer_id=customer_id)


@router.get("/customer-groups/{group_id}/exposure")
def group_exposure(
    group_id: int,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.customers_read)],
) -> dict[str, Any]:
    exposure, limit = exposures.group_exposure(session, group_id=group_id, policy=container.credit_policy)
    return exposure_out(exposure, limit.amount if limit else None, group_id=group_id)


@router.put("/customer-groups/{group_id}/credit-limit")
def set_group_limit(
    group_id: int,
    data: exposures.GroupLimitIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.credit_approve)],
) -> dict[str, Any]:
    """A ceiling over the limits and the exposure of the group's members."""
    limit = exposures.set_group_limit(session, group_id=group_id, data=data, actor=actor_of(request, principal))
    return {
        "group_id": limit.group_id,
        "amount": str(limit.amount),
        "currency": limit.currency,
        "expires_on": limit.expires_on,
        "set_by": limit.set_by,
    }


@router.post("/credit-checks", status_code=201)
def credit_check(
    data: checks.CheckIn,
    request: Request,
    response: Response,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.credit_check)],
) -> dict[str, Any]:
    """May this order go out on credit? ``approve`` or ``hold`` with reasons. The same reference and revision
    again returns the stored answer (200); a changed or re-opened order sends a new revision."""
    result = checks.check_credit(session, data=data, policy=container.credit_policy, actor=actor_of(request, principal))
    if result.replayed:
        response.status_code = 200
    return check_out(result.check) | {"replayed": result.replayed}


@router.get("/credit-checks")
def list_checks(
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.customers_read)],
    status: Annotated[str | None, Query(pattern="^(approved|held|released|rejected)$")] = "held",
    customer_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """The credit-block queue (status=held) or the history of checks."""
    found = checks.checks(session, status=status, customer_id=customer_id, limit=limit, offset=offset)
    return [check_out(c) for c in found]


@router.get("/credit-checks/{check_id}")
def get_check(
    check_id: int, session: SessionDep, principal: Annotated[Principal, require(Permission.customers_read)]
) -> dict[str, Any]:
    return check_out(checks.get_check(session, check_id=check_id))


@router.post("/credit-checks/{check_id}/decision")
def decide_block(
    check_id: int,
    data: BlockDecisionIn,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.credit_approve)],
) -> dict[str, Any]:
    """Release a credit block (the order may go out) or reject it, with the reason: a documented credit decision."""
    check = checks.decide_block(
        session,
        check_id=check_id,
        decision=data.decision,
        reason=data.reason,
        policy=container.credit_policy,
        actor=actor_of(request, principal),
    )
    return check_out(check)


@router.post("/portfolio/rescoring")
def rescore_portfolio(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.models_manage)],
) -> dict[str, Any]:
    """Score every company by the champion (challenger in shadow), with the overlays in force; the grade migration
    matrix of the run."""
    result = portfolio.rescore(
        session, policy=container.credit_policy, actor=actor_of(request, principal), today=date.today()
    )
    return rescored_out(result)


def rescored_out(result: portfolio.Rescored) -> dict[str, Any]:
    return {
        "run": result.run,
        "model_version": result.model_version,
        "scored": result.scored,
        "downgraded": result.downgraded,
        "migrations": [
            {"from": before, "to": after, "customers": count} for before, after, count in result.migration_rows()
        ],
    }


@router.get("/customers/{customer_id}/explanation")
def explanation(
    customer_id: int, session: SessionDep, principal: Annotated[Principal, require(Permission.customers_read)]
) -> dict[str, Any]:
    """The explanation of the automated assessment a person may ask for (PIPL Art. 24): model, overlay, PD, grade,
    reasons and inputs, and the expert assessment's reasons."""
    return portfolio.explanation(session, customer_id=customer_id)


@router.post("/portfolio/model-health")
def model_health(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.models_manage)],
) -> dict[str, Any]:
    """PSI of the champion's PD and CSI of its features on the latest rescoring against the training population,
    realised AUC/KS against today's outcomes (90+ days past due); ``review_needed`` past the thresholds."""
    record = portfolio.check_model(session, policy=container.credit_policy, actor=actor_of(request, principal))
    return health_out(record)


def health_out(record: Any) -> dict[str, Any]:
    return {
        "model_version_id": record.model_version_id,
        "run": record.run,
        "rows": record.rows,
        "psi": str(record.psi),
        "csi": record.csi,
        "realised": record.realised,
        "review_needed": record.review_needed,
        "checked_by": record.checked_by,
        "checked_at": record.checked_at,
    }
