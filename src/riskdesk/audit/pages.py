"""The ledger page: recent entries and a button that verifies the whole chain."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from riskdesk.audit import service
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import SessionDep, require_page
from riskdesk.web.templating import render

router = APIRouter(include_in_schema=False)
PER_PAGE = 50


@router.get("/audit")
def ledger_page(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.audit_read)],
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    rows, total = service.recent(session, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    entries = [(entry, json.loads(entry.changes)) for entry in rows]
    return render(
        request,
        "audit/ledger.html",
        {
            "entries": entries,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PER_PAGE)),
            "report": None,
        },
    )


@router.post("/audit/verify")
def ledger_verify(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.audit_verify)],
) -> Response:
    report = service.verify(session)
    return render(request, "audit/_verify.html", {"report": report}, status_code=200 if report.ok else 409)
