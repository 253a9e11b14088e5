"""The ledger over JSON: browse, verify, prove."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query

from riskdesk.audit import service
from riskdesk.audit.models import AuditEntry
from riskdesk.audit.schemas import EntryOut, EntryPage, ProofOut, VerifyOut
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import SessionDep, require

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


def entry_out(entry: AuditEntry) -> EntryOut:
    return EntryOut(
        seq=entry.seq,
        occurred_at=entry.occurred_at,
        actor=entry.actor,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        changes=json.loads(entry.changes),
        reason=entry.reason,
        request_id=entry.request_id,
        prev_hash=entry.prev_hash,
        entry_hash=entry.entry_hash,
    )


def verify_out(report: service.VerifyReport) -> VerifyOut:
    brk = report.first_break
    return VerifyOut(
        ok=report.ok,
        entries_checked=report.entries_checked,
        checkpoints_checked=report.checkpoints_checked,
        first_break_seq=brk.seq if brk else None,
        kind=brk.kind if brk else None,
        message=brk.message if brk else f"the chain of {report.entries_checked} entries is intact",
    )


@router.get("/entries", response_model=EntryPage)
def list_entries(
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.audit_read)],
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EntryPage:
    rows, total = service.recent(session, limit=per_page, offset=(page - 1) * per_page)
    return EntryPage(items=[entry_out(e) for e in rows], total=total, page=page, per_page=per_page)


@router.post("/verify", response_model=VerifyOut)
def verify(session: SessionDep, principal: Annotated[Principal, require(Permission.audit_verify)]) -> VerifyOut:
    return verify_out(service.verify(session))


@router.get("/proofs/{seq}", response_model=ProofOut)
def prove(seq: int, session: SessionDep, principal: Annotated[Principal, require(Permission.audit_read)]) -> ProofOut:
    return ProofOut(**service.prove(session, seq=seq))
