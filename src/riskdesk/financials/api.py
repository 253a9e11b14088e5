"""Financial statements and analysis over JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile

from riskdesk.financials import service
from riskdesk.financials.models import FinancialStatement
from riskdesk.financials.schemas import PeriodAnalysis, StatementIn, StatementOut
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import SessionDep, actor_of, require

router = APIRouter(prefix="/api/v1", tags=["financials"])

Reader = Annotated[Principal, require(Permission.customers_read)]
Writer = Annotated[Principal, require(Permission.customers_write)]


def statement_out(statement: FinancialStatement) -> StatementOut:
    return StatementOut(
        id=statement.id,
        customer_id=statement.customer_id,
        period_end=statement.period_end,
        period_type=statement.period_type,
        currency=statement.currency,
        lines={k: Decimal(v) for k, v in statement.lines.items()},
        source=statement.source,
        entered_by=statement.entered_by,
        version=statement.version,
    )


@router.get("/financials/line-items")
def line_items(principal: Reader) -> list[dict[str, Any]]:
    """The line items riskdesk reads, with their Chinese and English labels; required ones marked."""
    return service.line_items()


@router.get("/customers/{customer_id}/financials", response_model=list[StatementOut])
def list_statements(customer_id: int, session: SessionDep, principal: Reader) -> list[StatementOut]:
    return [statement_out(s) for s in service.statements_of(session, customer_id=customer_id)]


@router.post("/customers/{customer_id}/financials", status_code=201, response_model=StatementOut)
def enter_statement(
    customer_id: int, data: StatementIn, request: Request, session: SessionDep, principal: Writer
) -> StatementOut:
    """Enter a period (or restate it). Checked: assets = liabilities + equity within 0.5 %, required lines,
    known line items, no negative amount where none is possible, one currency per customer."""
    return statement_out(
        service.save_statement(session, customer_id=customer_id, data=data, actor=actor_of(request, principal))
    )


@router.post("/customers/{customer_id}/financials/import", status_code=201, response_model=list[StatementOut])
def import_statements(
    customer_id: int, request: Request, session: SessionDep, principal: Writer, file: Annotated[UploadFile, File()]
) -> list[StatementOut]:
    """A CSV with a line_item column and one column per period end; every period or none."""
    saved = service.import_csv(
        session, customer_id=customer_id, raw=file.file.read(), actor=actor_of(request, principal)
    )
    return [statement_out(s) for s in saved]


@router.get("/customers/{customer_id}/financials/analysis", response_model=list[PeriodAnalysis])
def analysis(customer_id: int, session: SessionDep, principal: Reader) -> list[PeriodAnalysis]:
    """Ratios (with formulas, or why one is not meaningful) and the Altman score with its model id, per period."""
    return service.analyse(session, customer_id=customer_id)
