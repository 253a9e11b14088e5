"""The financial statements page: periods, ratio table, trend charts, entry by CSV upload."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from riskdesk.customers import service as customers
from riskdesk.errors import DomainError
from riskdesk.financials import lines as catalogue
from riskdesk.financials import service
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import ContainerDep, FormDep, SessionDep, actor_of, require_page
from riskdesk.web.templating import render

router = APIRouter(include_in_schema=False)
CHART_RATIOS = ("current", "liabilities_to_assets", "net_margin", "roe")


def trend_svg(points: list[tuple[str, Decimal | None]], *, width: int = 260, height: int = 90) -> str:
    """A small line chart as SVG markup built from numbers only (no user text), so it is safe to embed."""
    known = [(i, float(v)) for i, (_, v) in enumerate(points) if v is not None]
    if len(known) < 2:
        return ""
    low, high = min(v for _, v in known), max(v for _, v in known)
    # At least a quarter of the values' size tall: 1.5715 → 1.5714 must look flat, not like a fall.
    span = max(high - low, max(abs(high), abs(low)) * 0.25, 1e-9)
    low = (high + low) / 2 - span / 2
    step = (width - 20) / max(1, len(points) - 1)
    coords = [(10 + i * step, height - 10 - (v - low) / span * (height - 20)) for i, v in known]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>' for x, y in coords)
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" class="trend" role="img">'
        f'<polyline points="{path}" fill="none" stroke="#9b1c1c" stroke-width="2"/>{dots}</svg>'
    )


def _page(
    request: Request,
    session: SessionDep,
    customer_id: int,
    *,
    error: str = "",
    status_code: int = 200,
    details: list[Any] | None = None,
) -> Response:
    customer = customers.get_customer(session, customer_id=customer_id)
    statements = service.statements_of(session, customer_id=customer_id)
    periods = service.analyse(session, customer_id=customer_id, statements=statements)
    names = [r["name"] for r in periods[-1].ratios] if periods else []
    table = {name: [next(r for r in p.ratios if r["name"] == name) for p in periods] for name in names}
    charts = {
        name: trend_svg([(str(p.period_end), next(r["value"] for r in p.ratios if r["name"] == name)) for p in periods])
        for name in CHART_RATIOS
        if name in table
    }
    return render(
        request,
        "financials/page.html",
        {
            "customer": customer,
            "statements": statements,
            "periods": periods,
            "table": table,
            "charts": charts,
            "items": catalogue.LINE_ITEMS,
            "error": error,
            "details": details or [],
        },
        status_code=status_code,
    )


@router.get("/customers/{customer_id}/financials")
def financials_page(
    customer_id: int,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require_page(Permission.customers_read)],
) -> Response:
    return _page(request, session, customer_id)


@router.post("/customers/{customer_id}/financials")
def upload_statements(
    customer_id: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require_page(Permission.customers_write)],
) -> Response:
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _page(request, session, customer_id, error="Choose a CSV file.", status_code=422)
        with session.begin_nested():
            service.import_csv(
                session, customer_id=customer_id, raw=upload.file.read(), actor=actor_of(request, principal)
            )
    except DomainError as exc:
        return _page(request, session, customer_id, error=exc.message, details=exc.details, status_code=exc.status_code)
    return RedirectResponse(f"/customers/{customer_id}/financials", status_code=303)
