"""Credit checks: may this order go out on credit? ``approve``, or ``hold`` with every reason — and a hold is a
credit-block case that an approver releases or rejects.

An order is identified by its reference and revision: the same request again returns the same answer (idempotent),
the same reference and revision with other content is a conflict, and a changed, copied or re-opened order sends a
new revision or reference and is checked again against the exposure of that moment. The order's own earlier amount
(its open item or the reservation of its earlier revision) is left out, so that a changed order is not counted twice.
An approved check reserves its amount until the order arrives in the exposure or the reservation lapses, so that
two orders checked at the same moment cannot both pass on the same headroom; checks of one customer are serialised
on the row of its limit (SQLite serialises every write).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.credit import exposure as exposures
from riskdesk.credit.buckets import Exposure, Rates
from riskdesk.credit.models import CreditCheck, CreditLimit, GroupLimit
from riskdesk.credit.policy import Policy
from riskdesk.customers import relationships
from riskdesk.customers import service as customers
from riskdesk.db.types import utcnow
from riskdesk.errors import Conflict, ErrorDetail, NotFound, PermissionDenied, ValidationFailed
from riskdesk.security import service as security


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: int
    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reference: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/#-]+$")
    revision: int = Field(default=1, ge=1, le=10_000)


@dataclass(frozen=True)
class CheckResult:
    check: CreditCheck
    replayed: bool


def _reason(code: str, en: str, zh: str, **values: Any) -> dict[str, Any]:
    return {"code": code, "en": en, "zh": zh, **{k: str(v) for k, v in values.items()}}


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _request_hash(data: CheckIn) -> str:
    body = {"customer_id": data.customer_id, "amount": str(data.amount), "currency": data.currency}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _customer_reasons(status: str, limit: CreditLimit | None, policy: Policy, now: datetime) -> list[dict[str, Any]]:
    reasons = []
    if status != "active":
        reasons.append(
            _reason(
                "customer_not_active", f"the customer is {status}", f"客户状态为「{status}」，不可赊销", status=status
            )
        )
    if limit is None:
        reasons.append(_reason("no_limit", "the customer has no approved credit limit", "客户没有已批准的信用额度"))
        return reasons
    today = now.date()
    if today < limit.effective_from:
        reasons.append(
            _reason(
                "limit_not_effective",
                f"the credit limit takes effect on {limit.effective_from}",
                f"信用额度自 {limit.effective_from} 起生效",
                effective_from=limit.effective_from,
            )
        )
    if today > limit.expires_on:
        reasons.append(
            _reason(
                "limit_expired",
                f"the credit limit expired on {limit.expires_on}",
                f"信用额度已于 {limit.expires_on} 到期",
                expires_on=limit.expires_on,
            )
        )
    blocking = sorted(set(limit.conditions) & set(policy.checks.blocking_conditions))
    if blocking:
        reasons.append(
            _reason(
                "grade_below_policy",
                f"grade {limit.grade} allows no sale on credit ({', '.join(blocking)})",
                f"信用等级 {limit.grade} 不允许赊销（{'、'.join(blocking)}）",
                grade=limit.grade,
            )
        )
    return reasons


def _exposure_reasons(exposure: Exposure, limit: CreditLimit, amount: Decimal, policy: Policy) -> list[dict[str, Any]]:
    reasons = []
    if exposure.max_days_past_due > policy.checks.max_days_overdue:
        reasons.append(
            _reason(
                "overdue",
                f"an invoice is {exposure.max_days_past_due} days overdue (policy: at most"
                f" {policy.checks.max_days_overdue}); overdue {_money(exposure.overdue, exposure.currency)}",
                f"有发票逾期 {exposure.max_days_past_due} 天（政策上限 {policy.checks.max_days_overdue} 天），"
                f"逾期金额 {_money(exposure.overdue, exposure.currency)}",
                days=exposure.max_days_past_due,
            )
        )
    after = exposure.total + amount
    if after > limit.amount:
        over = after - limit.amount
        reasons.append(
            _reason(
                "over_limit",
                f"over the limit by {_money(over, limit.currency)} (exposure {_money(exposure.total, limit.currency)}"
                f" + this order {_money(amount, limit.currency)} > limit {_money(limit.amount, limit.currency)})",
                f"超出信用额度 {_money(over, limit.currency)}（敞口 {_money(exposure.total, limit.currency)}"
                f" + 本单 {_money(amount, limit.currency)} > 额度 {_money(limit.amount, limit.currency)}）",
                over=over,
            )
        )
    return reasons


def _group_reasons(
    session: Session, group_id: int | None, data: CheckIn, policy: Policy, rates: Rates, now: datetime
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    if group_id is None:
        return [], None
    group_limit = session.scalar(select(GroupLimit).where(GroupLimit.group_id == group_id).with_for_update())
    if group_limit is None:
        return [], None
    members = relationships.group_member_ids(session, group_id=group_id)
    group = exposures.exposure_of(
        session,
        customer_ids=members,
        policy=policy,
        currency=group_limit.currency,
        now=now,
        rates=rates,
        excluding=data.reference,
    )
    amount = rates.convert(data.amount, data.currency, group_limit.currency)
    snapshot = {
        "group_id": group_id,
        "limit": str(group_limit.amount),
        "currency": group_limit.currency,
        "exposure": str(group.total),
    }
    if now.date() > group_limit.expires_on:
        return [
            _reason(
                "group_limit_expired",
                f"the group limit expired on {group_limit.expires_on}",
                f"集团额度已于 {group_limit.expires_on} 到期",
            )
        ], snapshot
    if group.total + amount > group_limit.amount:
        over = group.total + amount - group_limit.amount
        money = _money(over, group_limit.currency)
        return [
            _reason("group_over_limit", f"over the group limit by {money}", f"超出集团额度 {money}", over=over)
        ], snapshot
    return [], snapshot


def check_credit(
    session: Session, *, data: CheckIn, policy: Policy, actor: Actor, now: datetime | None = None
) -> CheckResult:
    now = now or utcnow()
    request_hash = _request_hash(data)
    existing = _existing(session, data)
    if existing is not None:
        return _replay(existing, request_hash, data)
    status, group_id = customers.standing(session, customer_id=data.customer_id)
    rates = exposures.rates_on(session, day=now.date(), base=policy.base_currency)
    rates.rate(data.currency)  # a currency without a rate is an error of the request, not a hold
    limit = session.scalar(select(CreditLimit).where(CreditLimit.customer_id == data.customer_id).with_for_update())
    reasons = _customer_reasons(status, limit, policy, now)
    snapshot: dict[str, Any] = {"customer_status": status}
    if limit is not None:
        exposure = exposures.exposure_of(
            session,
            customer_ids=[data.customer_id],
            policy=policy,
            currency=limit.currency,
            now=now,
            rates=rates,
            excluding=data.reference,
        )
        amount = rates.convert(data.amount, data.currency, limit.currency)
        reasons += _exposure_reasons(exposure, limit, amount, policy)
        snapshot |= {
            "limit": {"amount": str(limit.amount), "currency": limit.currency, "grade": limit.grade},
            "amount_in_limit_currency": str(amount),
            "exposure": {k: str(v) for k, v in exposure.buckets.items()},
            "exposure_total": str(exposure.total),
            "exposure_after": str(exposure.total + amount),
            "max_days_past_due": exposure.max_days_past_due,
            "conversions": exposure.conversions,
        }
    group_reasons, group_snapshot = _group_reasons(session, group_id, data, policy, rates, now)
    reasons += group_reasons
    if group_snapshot:
        snapshot["group"] = group_snapshot
    outcome = "hold" if reasons else "approve"
    record = CreditCheck(
        reference=data.reference,
        revision=data.revision,
        customer_id=data.customer_id,
        amount=data.amount,
        currency=data.currency,
        request_hash=request_hash,
        outcome=outcome,
        status="held" if reasons else "approved",
        reasons=reasons,
        snapshot=snapshot,
        policy_version=policy.version,
        checked_by=actor.name,
        checked_at=now,
        reserved_until=now + timedelta(hours=policy.checks.reservation_hours),
        decision_reason="",
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:  # the same reference and revision checked at the same moment by another request
        existing = _existing(session, data)
        if existing is None:
            raise
        return _replay(existing, request_hash, data)
    audit.append(
        session,
        actor=actor,
        action=f"credit.check_{'held' if reasons else 'approved'}",
        entity_type="customer",
        entity_id=data.customer_id,
        changes={
            "check": record.id,
            "reference": data.reference,
            "revision": data.revision,
            "amount": str(data.amount),
            "currency": data.currency,
            "reasons": [r["code"] for r in reasons],
        },
        reason="; ".join(r["en"] for r in reasons),
    )
    return CheckResult(record, replayed=False)


def _existing(session: Session, data: CheckIn) -> CreditCheck | None:
    return session.scalar(
        select(CreditCheck).where(CreditCheck.reference == data.reference, CreditCheck.revision == data.revision)
    )


def _replay(existing: CreditCheck, request_hash: str, data: CheckIn) -> CheckResult:
    if existing.request_hash != request_hash:
        raise Conflict(
            f"order {data.reference} revision {data.revision} was checked with other content (customer"
            f" {existing.customer_id}, {existing.amount} {existing.currency}); a changed or re-opened order is a new"
            f" revision: send revision {data.revision + 1}",
            details=[ErrorDetail("revision", "already used with other content")],
        )
    return CheckResult(existing, replayed=True)


def decide_block(
    session: Session,
    *,
    check_id: int,
    decision: Literal["release", "reject"],
    reason: str,
    policy: Policy,
    actor: Actor,
) -> CreditCheck:
    """Release (the order may go out on credit) or reject a held check — a documented credit decision. Releasing
    needs the approval level for the customer's exposure after the order, in the base currency, at its grade."""
    if len(reason.strip()) < 3:
        raise ValidationFailed("give the reason for the decision", details=[ErrorDetail("reason", "required")])
    check = session.get(CreditCheck, check_id)
    if check is None:
        raise NotFound(f"credit check {check_id} does not exist")
    if check.checked_by == actor.name:
        raise PermissionDenied("nobody releases a block on their own request (four eyes); another approver must")
    if decision == "release":
        _require_level(session, check, policy, actor)
    now = utcnow()
    status = "released" if decision == "release" else "rejected"
    changed = session.execute(
        update(CreditCheck)
        .where(CreditCheck.id == check_id, CreditCheck.status == "held")
        .values(
            status=status,
            decided_by=actor.name,
            decided_at=now,
            decision_reason=reason.strip(),
            reserved_until=now + timedelta(hours=policy.checks.reservation_hours),
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(check)
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"credit check {check_id} is {check.status}, not held; only a hold can be released or rejected")
    audit.append(
        session,
        actor=actor,
        action=f"credit.block_{status}",
        entity_type="customer",
        entity_id=check.customer_id,
        changes={"check": check.id, "reference": check.reference, "revision": check.revision},
        reason=reason.strip(),
    )
    return check


def _require_level(session: Session, check: CreditCheck, policy: Policy, actor: Actor) -> None:
    rates = exposures.rates_on(session, day=utcnow().date(), base=policy.base_currency)
    limit = check.snapshot.get("limit")
    if limit:
        after = rates.convert(Decimal(check.snapshot["exposure_after"]), limit["currency"], policy.base_currency)
        grade = limit["grade"]
    else:
        after, grade = rates.convert(check.amount, check.currency, policy.base_currency), policy.grades[-1].grade
    needed = policy.required_level(amount=after, grade=grade)
    held = security.get_user(session, username=actor.name).approval_level
    if held is None or held < needed.level:
        raise PermissionDenied(
            f"releasing this order takes the exposure to {_money(after, policy.base_currency)} at grade {grade}: that"
            f" needs approval level {needed.level} ({needed.en}); yours is {held or 'none'} — pass it on"
        )


def checks(
    session: Session, *, status: str | None = "held", customer_id: int | None = None, limit: int = 100, offset: int = 0
) -> list[CreditCheck]:
    query = select(CreditCheck)
    if status:
        query = query.where(CreditCheck.status == status)
    if customer_id is not None:
        query = query.where(CreditCheck.customer_id == customer_id)
    return list(session.scalars(query.order_by(CreditCheck.id.desc()).limit(limit).offset(offset)))


def get_check(session: Session, *, check_id: int) -> CreditCheck:
    check = session.get(CreditCheck, check_id)
    if check is None:
        raise NotFound(f"credit check {check_id} does not exist")
    return check
