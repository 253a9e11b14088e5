"""Financial statement use cases: enter (checked), import, list, analyse. Every change is in the ledger."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.customers import service as customers
from riskdesk.db.types import utcnow
from riskdesk.errors import ErrorDetail, ValidationFailed
from riskdesk.financials import lines as catalogue
from riskdesk.financials import ratios as analysis
from riskdesk.financials.models import FinancialStatement
from riskdesk.financials.schemas import PeriodAnalysis, StatementIn

# Assets must equal liabilities plus equity within this share of total assets (rounding in published statements).
BALANCE_TOLERANCE = Decimal("0.005")


def check_lines(data: StatementIn) -> dict[str, Decimal]:
    """Our keys and amounts in the currency's unit, or every problem found at once."""
    problems: list[ErrorDetail] = []
    converted: dict[str, Decimal] = {}
    factor = Decimal(catalogue.UNITS[data.unit])
    for label, amount in data.lines.items():
        key = catalogue.resolve(label)
        if key is None:
            problems.append(ErrorDetail(f"lines.{label}", "unknown line item; see GET /api/v1/financials/line-items"))
            continue
        if key in converted:
            problems.append(ErrorDetail(f"lines.{label}", f"given twice (also as {key})"))
            continue
        if amount < 0 and not catalogue.BY_KEY[key].can_be_negative:
            problems.append(ErrorDetail(f"lines.{label}", f"{catalogue.BY_KEY[key].en} cannot be negative"))
            continue
        converted[key] = (amount * factor).quantize(Decimal("0.01"))
    missing = [key for key in catalogue.REQUIRED if key not in converted and not problems]
    problems += [
        ErrorDetail(f"lines.{key}", f"required: {catalogue.BY_KEY[key].zh} / {catalogue.BY_KEY[key].en}")
        for key in missing
    ]
    if not problems:
        assets, liabilities, equity = converted["total_assets"], converted["total_liabilities"], converted["equity"]
        gap = abs(assets - liabilities - equity)
        if gap > max(abs(assets) * BALANCE_TOLERANCE, Decimal(1)):
            problems.append(
                ErrorDetail(
                    "lines.total_assets",
                    f"the balance sheet does not balance: assets {assets} ≠ liabilities {liabilities} + equity {equity}"
                    f" (off by {gap}); check the unit and the totals",
                )
            )
        for part, total in (("current_assets", "total_assets"), ("current_liabilities", "total_liabilities")):
            if part in converted and converted[part] > converted[total]:
                problems.append(ErrorDetail(f"lines.{part}", f"{part} exceeds {total}"))
    if problems:
        raise ValidationFailed("the statement is not consistent; nothing was saved", details=problems)
    return converted


def save_statement(session: Session, *, customer_id: int, data: StatementIn, actor: Actor) -> FinancialStatement:
    """Create a period, or replace it (a restatement): the old figures stay in the ledger."""
    customers.get_customer(session, customer_id=customer_id)
    if data.period_end > date.today():
        raise ValidationFailed("the period ends in the future", details=[ErrorDetail("period_end", "in the future")])
    converted = check_lines(data)
    existing = session.scalar(
        select(FinancialStatement).where(
            FinancialStatement.customer_id == customer_id,
            FinancialStatement.period_end == data.period_end,
            FinancialStatement.period_type == data.period_type,
        )
    )
    others = session.scalars(select(FinancialStatement.currency).where(FinancialStatement.customer_id == customer_id))
    if any(currency != data.currency for currency in others) and existing is None:
        raise ValidationFailed(
            f"this customer's other statements are not in {data.currency}; enter every period in one currency",
            details=[ErrorDetail("currency", "differs from other periods")],
        )
    stored = {key: str(value) for key, value in converted.items()}
    if existing is None:
        existing = FinancialStatement(
            customer_id=customer_id,
            period_end=data.period_end,
            period_type=data.period_type,
            currency=data.currency,
            lines=stored,
            source=data.source,
            entered_by=actor.name,
            version=1,
        )
        session.add(existing)
        action, changes = "financials.entered", {"period_end": data.period_end.isoformat(), "lines": stored}
    else:
        action = "financials.restated"
        changes = {"period_end": data.period_end.isoformat(), "old": existing.lines, "new": stored}
        existing.lines, existing.currency, existing.source = stored, data.currency, data.source
        existing.entered_by, existing.version, existing.updated_at = actor.name, existing.version + 1, utcnow()
    session.flush()
    audit.append(session, actor=actor, action=action, entity_type="customer", entity_id=customer_id, changes=changes)
    return existing


def statements_of(session: Session, *, customer_id: int) -> list[FinancialStatement]:
    customers.get_customer(session, customer_id=customer_id)
    return list(
        session.scalars(
            select(FinancialStatement)
            .where(FinancialStatement.customer_id == customer_id)
            .order_by(FinancialStatement.period_type, FinancialStatement.period_end)
        )
    )


def amounts(statement: FinancialStatement) -> dict[str, Decimal]:
    return {key: Decimal(value) for key, value in statement.lines.items()}


def analyse(
    session: Session, *, customer_id: int, statements: list[FinancialStatement] | None = None
) -> list[PeriodAnalysis]:
    """Ratios and the Altman score per period, oldest first; growth against the previous period of its type.
    Pass ``statements`` when the caller has already loaded them (``statements_of``)."""
    customer = customers.get_customer(session, customer_id=customer_id)
    manufacturer = (customer.industry_code or "").startswith("C")
    result: list[PeriodAnalysis] = []
    previous: dict[str, dict[str, Decimal]] = {}
    for statement in statements if statements is not None else statements_of(session, customer_id=customer_id):
        values = amounts(statement)
        z = analysis.altman(values, manufacturer=manufacturer)
        result.append(
            PeriodAnalysis(
                period_end=statement.period_end,
                period_type=statement.period_type,
                currency=statement.currency,
                ratios=[asdict(r) for r in analysis.ratios(values, previous.get(statement.period_type))],
                z_score={
                    "model": z.model,
                    "value": z.value,
                    "zone": z.zone,
                    "components": z.components,
                    "note": z.note,
                },
            )
        )
        previous[statement.period_type] = values
    return result


def parse_csv(raw: bytes) -> list[StatementIn]:
    """A statement as a spreadsheet saves it: a ``line_item`` column, then one column per period end
    (``2024-12-31``); optional first rows ``currency`` and ``unit``. Chinese or English labels or our keys."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not rows[0] or rows[0][0].strip().lower() not in ("line_item", "项目"):
        raise ValidationFailed("the first column must be headed line_item (or 项目), followed by period ends")
    header = rows[0]
    settings = {"currency": "CNY", "unit": "元"}
    problems: list[ErrorDetail] = []
    periods: list[date] = []
    for column, cell in enumerate(header[1:], start=2):
        try:
            periods.append(date.fromisoformat(cell.strip()))
        except ValueError:
            problems.append(ErrorDetail(f"column {column}", f"{cell!r} is not a period end (YYYY-MM-DD)", 1))
    values: list[dict[str, Decimal]] = [{} for _ in periods]
    for line, row in enumerate(rows[1:], start=2):
        if not row or not row[0].strip():
            continue
        label = row[0].strip()
        if label.lower() in settings:
            settings[label.lower()] = (row[1] if len(row) > 1 else "").strip()
            continue
        for index, cell in enumerate(row[1 : len(periods) + 1]):
            cell = cell.strip().replace(",", "")
            if not cell:
                continue
            try:
                values[index][label] = Decimal(cell)
            except InvalidOperation:
                problems.append(ErrorDetail(label, f"{cell!r} is not a number", line))
    if problems:
        raise ValidationFailed("the file could not be read; nothing was saved", details=problems)
    try:
        return [
            StatementIn(
                period_end=period,
                currency=settings["currency"],
                unit=settings["unit"],
                lines=values[i],
                source="csv import",
            )
            for i, period in enumerate(periods)
        ]
    except ValueError as exc:
        raise ValidationFailed(f"currency or unit not understood: {exc}") from None


def import_csv(session: Session, *, customer_id: int, raw: bytes, actor: Actor) -> list[FinancialStatement]:
    """Every period or none."""
    saved = []
    for data in parse_csv(raw):
        saved.append(save_statement(session, customer_id=customer_id, data=data, actor=actor))
    return saved


def line_items() -> list[dict[str, Any]]:
    return [
        {
            "key": i.key,
            "statement": i.statement,
            "zh": i.zh,
            "en": i.en,
            "required": i.key in catalogue.REQUIRED,
            "can_be_negative": i.can_be_negative,
        }
        for i in catalogue.LINE_ITEMS
    ]
