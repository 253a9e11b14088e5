"""Verification of a customer: registry record, findings, screening, and an outcome stored as a decision."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskdesk import identifiers, jsonlines
from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.customers import service as customers
from riskdesk.errors import ErrorDetail, ValidationFailed
from riskdesk.verification import findings as compare
from riskdesk.verification.models import RegistrySnapshot, ScreeningHit, VerificationCheck
from riskdesk.verification.registry import (
    RegistryProvider,
    RegistryRecord,
    RegistryUnavailable,
    record_from_mapping,
)

ALGORITHM = "verification-v1"
OUTCOMES = ("passed", "passed_with_findings", "failed", "incomplete")


@dataclass
class SnapshotProvider:
    """Registry data the unit imported (``riskdesk registry import``)."""

    session: Session
    name: str = "snapshot"

    def lookup(self, uscc: str) -> RegistryRecord | None:
        row = self.session.scalar(select(RegistrySnapshot).where(RegistrySnapshot.uscc == uscc))
        if row is None:
            return None
        return record_from_mapping(row.record, source=f"snapshot:{row.source}")


def import_registry(session: Session, *, raw: bytes, filename: str, actor: Actor) -> int:
    """Every row or none: a CSV or JSON Lines file of registry records (our field names), keyed by uscc."""
    text = raw.decode("utf-8-sig")
    if filename.lower().endswith(".csv"):
        rows: list[tuple[int, dict[str, Any]]] = [
            (n, dict(r)) for n, r in enumerate(csv.DictReader(io.StringIO(text)), 2)
        ]
    else:
        rows = [
            (line, item if isinstance(item, dict) else {"__error__": item.reason})
            for line, item in jsonlines.objects(text)
        ]
    errors: list[ErrorDetail] = []
    records: list[RegistryRecord] = []
    for line, values in rows:
        if "__error__" in values:
            errors.append(ErrorDetail(None, values["__error__"], line))
            continue
        try:
            record = record_from_mapping(values, source=filename)
        except ValueError as exc:
            errors.append(ErrorDetail(None, str(exc), line))
            continue
        if not identifiers.check_uscc(record.uscc).valid:
            errors.append(ErrorDetail("uscc", identifiers.check_uscc(record.uscc).rule or "invalid", line))
            continue
        records.append(record)
    if errors:
        raise ValidationFailed(f"{len(errors)} rows are malformed, so nothing was imported", details=errors)
    for record in records:
        row = session.scalar(select(RegistrySnapshot).where(RegistrySnapshot.uscc == record.uscc))
        if row is None:
            session.add(RegistrySnapshot(uscc=record.uscc, record=record.as_json(), source=filename[:100]))
        else:
            row.record, row.source = record.as_json(), filename[:100]
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="registry.imported",
        entity_type="registry",
        entity_id=filename[:64],
        changes={"records": len(records)},
    )
    return len(records)


def _facts(customer: Any) -> compare.CompanyFacts:
    return compare.CompanyFacts(
        name=customer.name,
        uscc=customer.uscc or "",
        legal_representative=customer.legal_representative,
        registered_capital=customer.registered_capital_amount,
        currency=customer.registered_capital_currency or "CNY",
        established_on=customer.established_on,
        address=customer.address,
    )


def verify_customer(
    session: Session, *, customer_id: int, provider: RegistryProvider, actor: Actor
) -> VerificationCheck:
    """Check the customer against the registry (companies) and its screening hits; store the outcome."""
    customer = customers.get_customer(session, customer_id=customer_id)
    found: list[compare.Finding] = []
    record_json: dict[str, Any] | None = None
    source = provider.name
    incomplete_reason = ""
    if customer.kind == "company":
        if not customer.uscc:
            found.append(compare.Finding("uscc", "high", "no unified social credit code to look up"))
        else:
            try:
                record = provider.lookup(customer.uscc)
                if record is not None and record.uscc != customer.uscc:
                    raise RegistryUnavailable(
                        f"{provider.name} answered about another company ({record.uscc}); check the field mapping"
                    )
            except RegistryUnavailable as exc:
                record, incomplete_reason = None, str(exc)
            if record is not None:
                record_json, source = record.as_json(), record.source or provider.name
                found.extend(compare.compare(_facts(customer), record))
            elif not incomplete_reason:
                found.append(
                    compare.Finding("uscc", "critical", f"{provider.name} has no company with this code", customer.uscc)
                )
    hits = list(
        session.scalars(
            select(ScreeningHit).where(ScreeningHit.customer_id == customer_id, ScreeningHit.status != "dismissed")
        )
    )
    confirmed = [h for h in hits if h.status == "confirmed"]
    if confirmed:
        found.append(compare.Finding("screening", "critical", f"{len(confirmed)} confirmed watchlist match(es)"))
    elif hits:
        found.append(compare.Finding("screening", "high", f"{len(hits)} screening hit(s) awaiting review"))
    severities = {f.severity for f in found}
    if "critical" in severities:
        outcome = "failed"
    elif incomplete_reason:
        outcome = "incomplete"
    elif found:
        outcome = "passed_with_findings"
    else:
        outcome = "passed"
    reasons = [f"{f.severity}: {f.message}" for f in found] + (
        [f"incomplete: {incomplete_reason}"] if incomplete_reason else []
    )
    if outcome == "passed":
        reasons = [
            "the registry record agrees with what the customer gave; no open screening hits"
            if customer.kind == "company"
            else "no open screening hits"
        ]
    inputs = {
        "customer": {
            "name": customer.name,
            "uscc": customer.uscc,
            "legal_representative": customer.legal_representative,
            "registered_capital": str(customer.registered_capital_amount)
            if customer.registered_capital_amount is not None
            else None,
            "established_on": customer.established_on.isoformat() if customer.established_on else None,
            "address": customer.address,
            "version": customer.version,
        },
        "registry": record_json,
        "screening_hits": sorted(h.id for h in hits),
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    check = VerificationCheck(
        customer_id=customer_id,
        outcome=outcome,
        algorithm=ALGORITHM,
        source=source,
        inputs=inputs,
        inputs_hash=digest,
        findings=[f.as_dict() for f in found],
        reasons=reasons,
        checked_by=actor.name,
    )
    session.add(check)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="verification.completed",
        entity_type="customer",
        entity_id=customer_id,
        changes={"check": check.id, "outcome": outcome, "findings": len(found), "source": source},
        reason="; ".join(reasons)[:500],
    )
    return check


def checks_of(session: Session, *, customer_id: int, limit: int = 50) -> list[VerificationCheck]:
    customers.get_customer(session, customer_id=customer_id)
    return list(
        session.scalars(
            select(VerificationCheck)
            .where(VerificationCheck.customer_id == customer_id)
            .order_by(VerificationCheck.id.desc())
            .limit(limit)
        )
    )


def retry_incomplete(session: Session, *, provider: RegistryProvider, actor: Actor) -> list[VerificationCheck]:
    """Run again every customer whose latest check is incomplete."""
    latest: dict[int, str] = {}
    for check in session.scalars(select(VerificationCheck).order_by(VerificationCheck.id)):
        latest[check.customer_id] = check.outcome
    return [
        verify_customer(session, customer_id=cid, provider=provider, actor=actor)
        for cid, outcome in latest.items()
        if outcome == "incomplete"
    ]
