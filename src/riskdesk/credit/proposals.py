"""Maker-checker credit decisions: a credit officer proposes, an approver with enough authority decides, nobody
decides on their own proposal; the approved proposal becomes the customer's limit. All in the ledger."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.credit import exposure
from riskdesk.credit.models import CreditAssessment, CreditLimit, CreditProposal
from riskdesk.credit.policy import Policy
from riskdesk.customers import service as customers
from riskdesk.db.types import utcnow
from riskdesk.errors import Conflict, ErrorDetail, NotFound, PermissionDenied, ValidationFailed
from riskdesk.security import service as security
from riskdesk.verification import documents

DECISIONS = {"approve": "approved", "reject": "rejected", "return": "returned"}
REVIEW_NOTICE_DAYS = 30


class ProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    grade: str = Field(min_length=1, max_length=8)
    limit_amount: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    payment_days: int = Field(ge=0, le=365)
    conditions: list[str] = Field(default_factory=list, max_length=10)
    effective_from: date
    expires_on: date
    assessment_id: int | None = None
    rationale: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _dates(self) -> ProposalIn:
        if self.expires_on <= self.effective_from:
            raise ValueError("expires_on: a limit must expire after it takes effect")
        if self.expires_on > self.effective_from + timedelta(days=3 * 366):
            raise ValueError("expires_on: a limit runs for three years at most; review it before then")
        return self


def propose(session: Session, *, customer_id: int, data: ProposalIn, actor: Actor) -> CreditProposal:
    customers.get_customer(session, customer_id=customer_id)
    if data.assessment_id is not None:
        assessment = session.get(CreditAssessment, data.assessment_id)
        if assessment is None or assessment.customer_id != customer_id:
            raise ValidationFailed(
                "the assessment does not belong to this customer",
                details=[ErrorDetail("assessment_id", "not this customer's")],
            )
    pending = session.scalar(
        select(CreditProposal.id).where(CreditProposal.customer_id == customer_id, CreditProposal.status == "proposed")
    )
    if pending is not None:
        raise Conflict(f"proposal {pending} for this customer is still awaiting a decision")
    proposal = CreditProposal(customer_id=customer_id, proposed_by=actor.name, status="proposed", **data.model_dump())
    session.add(proposal)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="credit.proposed",
        entity_type="customer",
        entity_id=customer_id,
        changes={
            "proposal": proposal.id,
            "grade": data.grade,
            "limit": str(data.limit_amount),
            "currency": data.currency,
            "payment_days": data.payment_days,
            "expires_on": data.expires_on.isoformat(),
        },
        reason=data.rationale,
    )
    return proposal


def decide(
    session: Session, *, proposal_id: int, decision: str, reason: str, policy: Policy, actor: Actor
) -> CreditProposal:
    """Approve, reject or return; never one's own proposal. Approving needs the policy's approval level for the
    group's whole commitment (this limit and the other members' limits, in the base currency) at this grade."""
    if decision not in DECISIONS:
        raise ValidationFailed("decision must be approve, reject or return")
    if len(reason.strip()) < 3:
        raise ValidationFailed("give the reason for the decision", details=[ErrorDetail("reason", "required")])
    proposal = session.get(CreditProposal, proposal_id)
    if proposal is None:
        raise NotFound(f"credit proposal {proposal_id} does not exist")
    if proposal.proposed_by == actor.name:
        raise PermissionDenied("nobody decides on their own proposal (four eyes); another approver must")
    if decision == "approve":
        _require_level(session, proposal, policy, actor)
    status = DECISIONS[decision]
    decided = session.execute(
        update(CreditProposal)
        .where(CreditProposal.id == proposal_id, CreditProposal.status == "proposed")
        .values(status=status, decided_by=actor.name, decided_at=utcnow(), decision_reason=reason.strip())
        .execution_options(synchronize_session=False)
    )
    session.refresh(proposal)
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"proposal {proposal_id} was already {proposal.status} by {proposal.decided_by}")
    if status == "approved":
        limit = session.scalar(select(CreditLimit).where(CreditLimit.customer_id == proposal.customer_id))
        if limit is None:
            limit = CreditLimit(customer_id=proposal.customer_id)
            session.add(limit)
        limit.proposal_id, limit.grade, limit.amount, limit.currency = (
            proposal.id,
            proposal.grade,
            proposal.limit_amount,
            proposal.currency,
        )
        limit.payment_days, limit.conditions = proposal.payment_days, list(proposal.conditions)
        limit.effective_from, limit.expires_on = proposal.effective_from, proposal.expires_on
        limit.approved_by, limit.updated_at = actor.name, utcnow()
        session.flush()
    audit.append(
        session,
        actor=actor,
        action=f"credit.{status}",
        entity_type="customer",
        entity_id=proposal.customer_id,
        changes={"proposal": proposal.id, "limit": str(proposal.limit_amount), "grade": proposal.grade},
        reason=reason.strip(),
    )
    return proposal


def _require_level(session: Session, proposal: CreditProposal, policy: Policy, actor: Actor) -> None:
    rates = exposure.rates_on(session, day=utcnow().date(), base=policy.base_currency)
    customer = customers.get_customer(session, customer_id=proposal.customer_id)
    own = rates.convert(proposal.limit_amount, proposal.currency, policy.base_currency)
    others, count = exposure.group_commitment(
        session, group_id=customer.group_id, customer_id=customer.id, rates=rates, currency=policy.base_currency
    )
    needed = policy.required_level(amount=own + others, grade=proposal.grade)
    held = security.get_user(session, username=actor.name).approval_level
    if held is None or held < needed.level:
        group = f" with the group's {count} other limits" if count else ""
        raise PermissionDenied(
            f"approving {own + others:,.2f} {policy.base_currency}{group} at grade {proposal.grade} needs approval"
            f" level {needed.level} ({needed.en}); yours is {held or 'none'} — pass it to a higher approver"
        )


def limit_of(session: Session, *, customer_id: int) -> CreditLimit | None:
    customers.get_customer(session, customer_id=customer_id)
    return session.scalar(select(CreditLimit).where(CreditLimit.customer_id == customer_id))


def proposals(
    session: Session, *, status: str | None = "proposed", customer_id: int | None = None
) -> list[CreditProposal]:
    query = select(CreditProposal)
    if status:
        query = query.where(CreditProposal.status == status)
    if customer_id is not None:
        query = query.where(CreditProposal.customer_id == customer_id)
    return list(session.scalars(query.order_by(CreditProposal.id.desc()).limit(200)))


def open_reviews(session: Session, *, today: date, actor: Actor, days: int = REVIEW_NOTICE_DAYS) -> int:
    """A review task for the owner of every customer whose limit expires within ``days`` (once per limit)."""
    created = 0
    expiring = session.scalars(select(CreditLimit).where(CreditLimit.expires_on <= today + timedelta(days=days)))
    for limit in expiring:
        customer = customers.get_customer(session, customer_id=limit.customer_id)
        task = documents.create_task(
            session,
            kind="limit_review",
            subject_type="credit_limit",
            subject_id=limit.proposal_id,
            customer_id=customer.id,
            owner_id=customer.owner_id,
            due_on=limit.expires_on,
            actor=actor,
            title=f"credit limit of {customer.name} expires {limit.expires_on.isoformat()} — review and propose anew",
        )
        created += task is not None
    return created
