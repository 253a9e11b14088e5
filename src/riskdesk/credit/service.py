"""Assess a customer: gather the facts, apply the versioned policy, store the decision record, ledger it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.credit import assess as maths
from riskdesk.credit import exposure
from riskdesk.credit.models import CreditAssessment
from riskdesk.credit.policy import Policy
from riskdesk.customers import service as customers
from riskdesk.errors import ValidationFailed
from riskdesk.financials import service as financials


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def gather_inputs(session: Session, *, customer_id: int, policy: Policy, today: date) -> dict[str, Any]:
    """What the assessment rests on, as plain values: replaying them gives the same result."""
    customer = customers.get_customer(session, customer_id=customer_id)
    if customer.kind != "company":
        raise ValidationFailed("the expert scorecard assesses companies; individuals need the PD models (issue 5)")
    loaded = financials.statements_of(session, customer_id=customer_id)
    periods = [
        p for p in financials.analyse(session, customer_id=customer_id, statements=loaded) if p.period_type == "annual"
    ]
    latest = periods[-1] if periods else None
    ratio = {r["name"]: r["value"] for r in latest.ratios} if latest else {}
    statements = [s for s in loaded if s.period_type == "annual"]
    currency = statements[-1].currency if statements else (customer.registered_capital_currency or "CNY")
    lines = financials.amounts(statements[-1]) if statements else {}
    years = None
    if customer.established_on:
        years = (Decimal((today - customer.established_on).days) / Decimal("365.25")).quantize(Decimal("0.01"))
    industry = (customer.industry_code or "")[:1]
    return {
        "customer_id": customer_id,
        "as_of": today.isoformat(),
        "period_end": latest.period_end.isoformat() if latest else None,
        "currency": currency,
        "facts": {
            "z_score": str(latest.z_score["value"]) if latest and latest.z_score["value"] is not None else None,
            "current_ratio": str(ratio["current"]) if ratio.get("current") is not None else None,
            "liabilities_to_assets": str(ratio["liabilities_to_assets"])
            if ratio.get("liabilities_to_assets") is not None
            else None,
            "net_margin": str(ratio["net_margin"]) if ratio.get("net_margin") is not None else None,
            "years_in_business": str(years) if years is not None else None,
            "registered_capital": str(customer.registered_capital_amount)
            if customer.registered_capital_amount is not None
            else None,
            "industry_risk": str(policy.industry_risk[industry]) if industry in policy.industry_risk else None,
        },
        "tangible_net_worth": str(lines["equity"] - lines.get("intangible_assets", Decimal(0)))
        if "equity" in lines
        else None,
        "annual_revenue": str(lines["revenue"]) if "revenue" in lines else None,
    }


def _caps(
    session: Session, customer_id: int, group_id: int | None, policy: Policy, today: date, currency: str
) -> dict[str, str | None]:
    """The group limit's headroom (less the other members' limits) and the portfolio-share cap, in ``currency``."""
    rates = exposure.rates_on(session, day=today, base=policy.base_currency)
    headroom = None
    group_limit = exposure.group_limit_of(session, group_id=group_id) if group_id is not None else None
    if group_limit is not None and group_limit.expires_on >= today:
        others, _ = exposure.group_commitment(
            session, group_id=group_id, customer_id=customer_id, rates=rates, currency=currency
        )
        headroom = rates.convert(group_limit.amount, group_limit.currency, currency) - others
    total = exposure.portfolio_total(session, policy=policy, rates=rates)
    portfolio_cap = None
    if total > 0:
        cap = (policy.caps.max_portfolio_share * total).quantize(Decimal("0.01"))
        portfolio_cap = rates.convert(cap, policy.base_currency, currency)
    return {
        "group_headroom": str(headroom) if headroom is not None else None,
        "portfolio_cap": str(portfolio_cap) if portfolio_cap is not None else None,
    }


def evaluate(policy: Policy, inputs: dict[str, Any], expected_monthly_sales: Decimal | None) -> maths.Assessment:
    """Pure: the same inputs and policy version give the same assessment (the replay the ledger relies on)."""
    caps = inputs.get("caps") or {}
    return maths.assess(
        policy,
        {key: _decimal(value) for key, value in inputs["facts"].items()},
        tangible_net_worth=_decimal(inputs["tangible_net_worth"]),
        annual_revenue=_decimal(inputs["annual_revenue"]),
        expected_monthly_sales=expected_monthly_sales,
        group_headroom=_decimal(caps.get("group_headroom")),
        portfolio_cap=_decimal(caps.get("portfolio_cap")),
    )


def assess_customer(
    session: Session,
    *,
    customer_id: int,
    policy: Policy,
    actor: Actor,
    expected_monthly_sales: Decimal | None,
    today: date | None = None,
) -> CreditAssessment:
    day = today or date.today()
    inputs = gather_inputs(session, customer_id=customer_id, policy=policy, today=day)
    customer = customers.get_customer(session, customer_id=customer_id)
    # The caps are an assessment's own inputs (the feature view for the PD models does not need them).
    inputs["caps"] = _caps(session, customer_id, customer.group_id, policy, day, inputs["currency"])
    inputs["expected_monthly_sales"] = str(expected_monthly_sales) if expected_monthly_sales is not None else None
    result = evaluate(policy, inputs, expected_monthly_sales)
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    record = CreditAssessment(
        customer_id=customer_id,
        policy_version=result.policy_version,
        inputs=inputs,
        inputs_hash=digest,
        points=result.points,
        probability_of_default=result.probability_of_default,
        grade=result.grade.grade,
        recommended_limit=result.recommended_limit,
        currency=inputs["currency"],
        payment_days=result.grade.payment_days,
        conditions=list(result.grade.conditions),
        reasons=result.reasons(),
        calculation=result.calculation,
        contributions=[
            {**asdict(c), "value": str(c.value) if c.value is not None else None} for c in result.contributions
        ],
        assessed_by=actor.name,
    )
    session.add(record)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="credit.assessed",
        entity_type="customer",
        entity_id=customer_id,
        changes={
            "assessment": record.id,
            "policy": result.policy_version,
            "points": result.points,
            "pd": str(result.probability_of_default),
            "grade": result.grade.grade,
            "recommended_limit": str(result.recommended_limit) if result.recommended_limit else None,
        },
        reason="; ".join(r["en"] for r in record.reasons),
    )
    return record


def replay(record: CreditAssessment, policy: Policy) -> maths.Assessment:
    if policy.version != record.policy_version:
        raise ValidationFailed(f"assessment {record.id} used policy {record.policy_version}, not {policy.version}")
    monthly = record.inputs.get("expected_monthly_sales")
    return evaluate(policy, record.inputs, Decimal(monthly) if monthly else None)


def latest_assessments(
    session: Session, *, customer_ids: Sequence[int], per_customer: int = 2
) -> dict[int, list[CreditAssessment]]:
    """The newest ``per_customer`` assessments of each customer, newest first, in one query."""
    if not customer_ids:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=CreditAssessment.customer_id, order_by=CreditAssessment.id.desc())
        .label("rank")
    )
    ranked = (
        select(CreditAssessment.id, rank).where(CreditAssessment.customer_id.in_(sorted(set(customer_ids)))).subquery()
    )
    rows = session.scalars(
        select(CreditAssessment)
        .join(ranked, ranked.c.id == CreditAssessment.id)
        .where(ranked.c.rank <= per_customer)
        .order_by(CreditAssessment.customer_id, CreditAssessment.id.desc())
    )
    found: dict[int, list[CreditAssessment]] = {}
    for row in rows:
        found.setdefault(row.customer_id, []).append(row)
    return found


def assessments_of(session: Session, *, customer_id: int, limit: int = 20) -> list[CreditAssessment]:
    customers.get_customer(session, customer_id=customer_id)
    return list(
        session.scalars(
            select(CreditAssessment)
            .where(CreditAssessment.customer_id == customer_id)
            .order_by(CreditAssessment.id.desc())
            .limit(limit)
        )
    )
