"""Import customers from CSV or JSON Lines: every row checked first, then all written or none.

CSV columns are the API's field names; ``registered_capital_amount`` / ``registered_capital_currency`` carry
the money, list fields (``former_names``) are separated by ``;`` and one contact may be given as
``contact_name``, ``contact_title``, ``contact_phone``, ``contact_email``. Empty cells are absent values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskdesk import jsonlines
from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.customers import service
from riskdesk.customers.models import Customer
from riskdesk.customers.schemas import CUSTOMER_CREATE, CompanyCreate, IndividualCreate
from riskdesk.errors import Conflict, DomainError, ErrorDetail, ValidationFailed, details_from_pydantic
from riskdesk.security.crypto import KeyRing

MAX_ROWS = 100_000
_CONTACT_COLUMNS = ("contact_name", "contact_title", "contact_phone", "contact_email")
_LIST_COLUMNS = ("former_names",)


@dataclass
class ImportReport:
    filename: str
    rows: int = 0
    imported: int = 0
    rejected: list[ErrorDetail] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.filename,
            "rows": self.rows,
            "imported": self.imported,
            "rejected_rows": len({d.line for d in self.rejected}),
            "errors": [d.as_dict() for d in self.rejected],
        }


def detect_format(filename: str, explicit: str | None = None) -> str:
    if explicit:
        if explicit not in ("csv", "jsonl"):
            raise ValidationFailed(f"format {explicit!r} is not supported; use csv or jsonl")
        return explicit
    lower = filename.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise ValidationFailed(f"cannot tell the format of {filename!r}; name it .csv or .jsonl, or pass --format")


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GB18030 by default
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("the file is neither UTF-8 nor GB18030 text; save it as UTF-8 CSV")


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | ErrorDetail]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise ValidationFailed("the CSV file has no header row; the first line must name the columns")
    if "kind" not in reader.fieldnames:
        raise ValidationFailed("the CSV header has no 'kind' column (company or individual)")
    for row in reader:
        line = reader.line_num
        if None in row:
            yield line, ErrorDetail(None, "the row has more cells than the header has columns", line)
            continue
        record: dict[str, Any] = {}
        for column, cell in row.items():
            value = (cell or "").strip()
            if value == "":
                continue
            if column in _LIST_COLUMNS:
                record[column] = [part.strip() for part in value.split(";") if part.strip()]
            elif column == "registered_capital_amount":
                record.setdefault("registered_capital", {})["amount"] = value
            elif column == "registered_capital_currency":
                record.setdefault("registered_capital", {})["currency"] = value
            elif column in _CONTACT_COLUMNS:
                record.setdefault("contacts", [{}])[0][column.removeprefix("contact_")] = value
            else:
                record[column] = value
        if record:
            yield line, record


def parse(
    raw: bytes, *, filename: str, file_format: str | None = None
) -> tuple[list[tuple[int, CompanyCreate | IndividualCreate]], list[ErrorDetail], int]:
    """Validate every row; return the valid ones with their line numbers, every error, and the row count."""
    text = _decode(raw)
    rows_iter = _csv_rows(text) if detect_format(filename, file_format) == "csv" else jsonlines.objects(text)
    valid: list[tuple[int, CompanyCreate | IndividualCreate]] = []
    errors: list[ErrorDetail] = []
    seen_codes: dict[str, int] = {}
    count = 0
    for line, record in rows_iter:
        count += 1
        if count > MAX_ROWS:
            raise ValidationFailed(f"the file has more than {MAX_ROWS} rows; split it into smaller files")
        if isinstance(record, ErrorDetail):
            errors.append(record)
            continue
        try:
            data = CUSTOMER_CREATE.validate_python(record)
        except ValidationError as exc:
            errors.extend(details_from_pydantic(exc.errors(), line))
            continue
        key = data.uscc if isinstance(data, CompanyCreate) else f"{data.id_type.value}:{data.id_number}"
        if key:
            if key in seen_codes:
                field_name = "uscc" if isinstance(data, CompanyCreate) else "id_number"
                errors.append(ErrorDetail(field_name, f"duplicate of line {seen_codes[key]} in this file", line))
                continue
            seen_codes[key] = line
        valid.append((line, data))
    if count == 0:
        raise ValidationFailed("the file has no rows to import")
    return valid, errors, count


def import_customers(
    session: Session,
    *,
    raw: bytes,
    filename: str,
    keyring: KeyRing,
    actor: Actor,
    file_format: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """All-or-nothing: when any row is rejected nothing is written and the report lists every reason.

    The caller owns the transaction; on a rejected file it must roll back (the web and CLI edges do).
    """
    valid, errors, count = parse(raw, filename=filename, file_format=file_format)
    report = ImportReport(filename=filename, rows=count, rejected=errors)
    existing = set(
        session.scalars(
            select(Customer.uscc).where(
                Customer.uscc.in_([d.uscc for _, d in valid if isinstance(d, CompanyCreate) and d.uscc])
            )
        )
    )
    for line, data in valid:
        if isinstance(data, CompanyCreate) and data.uscc in existing:
            report.rejected.append(ErrorDetail("uscc", f"a customer with code {data.uscc} already exists", line))
    if report.rejected:
        report.rejected.sort(key=lambda d: (d.line or 0, d.field or ""))
        return report
    for done, (line, data) in enumerate(valid, start=1):
        try:
            with session.begin_nested():
                service.create_customer(session, data=data, keyring=keyring, actor=actor, reason=f"import {filename}")
        except (Conflict, ValidationFailed) as exc:
            field_name = exc.details[0].field if exc.details else None
            report.rejected.append(ErrorDetail(field_name, exc.message, line))
        except DomainError as exc:  # any other domain rule a row breaks is still that row's error
            report.rejected.append(ErrorDetail(None, exc.message, line))
        if progress:
            progress(done, len(valid))
    if report.rejected:
        return report
    report.imported = len(valid)
    audit.append(
        session,
        actor=actor,
        action="customers.imported",
        entity_type="import",
        entity_id=filename[:64],
        changes={"rows": count, "imported": report.imported},
    )
    return report
