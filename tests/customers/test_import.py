"""Imports are all-or-nothing per file and report every rejected row by line, field and reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskdesk.audit import service as audit
from riskdesk.audit.models import AuditEntry
from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.customers import importer, service
from riskdesk.customers.models import Customer
from riskdesk.errors import ValidationFailed
from riskdesk.security.permissions import Role
from tests.conftest import company_payload, new_resident_id, new_uscc

HEADER = (
    "kind,name,uscc,legal_representative,registered_capital_amount,registered_capital_currency,industry_code,"
    "id_number,phone,former_names,contact_name,contact_phone\n"
)


def csv_row(**values: str) -> str:
    columns = HEADER.strip().split(",")
    return ",".join(values.get(column, "") for column in columns) + "\n"


def counts(container: Container) -> tuple[int, int]:
    # A short session of its own: on SQLite an open transaction holds the write lock (BEGIN IMMEDIATE).
    with container.session_factory() as session:
        return (
            session.scalar(select(func.count()).select_from(Customer)) or 0,
            session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        )


def run_import(container: Container, raw: bytes, filename: str) -> importer.ImportReport:
    with container.session_factory() as session:
        report = importer.import_customers(
            session, raw=raw, filename=filename, keyring=container.keyring, actor=Actor("test")
        )
        if report.ok:
            session.commit()
        else:
            session.rollback()
    return report


def test_csv_import_writes_every_row(container: Container, session: Session) -> None:
    text = HEADER + csv_row(
        kind="company",
        name="苏州瑞丰电子有限公司",
        uscc=new_uscc("320505"),
        registered_capital_amount="1000000",
        industry_code="C3982",
        former_names="苏州瑞丰;瑞丰电子",
        contact_name="张伟",
        contact_phone="13912345678",
    )
    text += csv_row(
        kind="individual", name="陈静", id_number=new_resident_id(born="1990-01-02", male=False), phone="13700001234"
    )
    report = run_import(container, text.encode(), "book.csv")
    assert (report.ok, report.rows, report.imported) == (True, 2, 2)
    page = service.list_customers(
        session, query=service.CustomerQuery(q="瑞丰"), keyring=container.keyring, reveal=True
    )
    assert page.items[0].former_names == ["苏州瑞丰", "瑞丰电子"]
    assert page.items[0].contacts[0].phone == "13912345678"


def test_rejected_rows_are_reported_and_nothing_is_written(container: Container) -> None:
    before = counts(container)
    duplicate = new_uscc()
    text = HEADER
    text += csv_row(kind="company", name="好公司", uscc=new_uscc())  # line 2: fine
    text += csv_row(kind="company", name="坏代码有限公司", uscc="91330106MA2B0R3X1K")  # line 3
    text += csv_row(kind="company", name="甲", uscc=duplicate)  # line 4
    text += csv_row(kind="company", name="乙", uscc=duplicate)  # line 5: duplicate of line 4
    text += csv_row(kind="individual", name="丙", id_number="110105198506151235")  # line 6
    text += csv_row(kind="company", name="丁", uscc=new_uscc(), registered_capital_amount="lots")  # line 7
    report = run_import(container, text.encode(), "bad.csv")
    assert not report.ok
    assert report.imported == 0
    rejected = {(d.line, d.field) for d in report.rejected}
    assert rejected == {(3, "uscc"), (5, "uscc"), (6, "id_number"), (7, "registered_capital.amount")}
    assert any("duplicate of line 4" in d.reason for d in report.rejected)
    assert counts(container) == before


def test_jsonl_import_reports_malformed_lines(container: Container) -> None:
    lines = [json.dumps(company_payload()), "{not json", "[1, 2]", json.dumps(company_payload(kind="bank"))]
    report = run_import(container, "\n".join(lines).encode(), "book.jsonl")
    assert [(d.line, d.field) for d in report.rejected] == [(2, None), (3, None), (4, "kind")]
    assert "not valid JSON" in report.rejected[0].reason


def test_existing_code_in_the_database_rejects_the_row(container: Container) -> None:
    payload = company_payload()
    assert run_import(container, json.dumps(payload).encode(), "one.jsonl").ok
    report = run_import(container, json.dumps(payload).encode(), "again.jsonl")
    assert [(d.line, d.field) for d in report.rejected] == [(1, "uscc")]


def test_gb18030_csv_from_excel_is_read(container: Container) -> None:
    text = HEADER + csv_row(kind="company", name="合肥鼎立置业有限公司", uscc=new_uscc("340104"))
    assert run_import(container, text.encode("gb18030"), "excel.csv").imported == 1


@pytest.mark.parametrize(
    ("raw", "filename", "message"),
    [(b"", "empty.csv", "no header"), (b"name\nx\n", "nokind.csv", "'kind'"), (b"x", "file.xlsx", "cannot tell")],
)
def test_unusable_files_are_refused_with_the_reason(
    container: Container, raw: bytes, filename: str, message: str
) -> None:
    with pytest.raises(ValidationFailed, match=message):
        run_import(container, raw, filename)


def test_a_crash_in_the_middle_leaves_the_database_as_it_was(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = counts(container)
    original = service.create_customer
    calls = {"n": 0}

    def crash_on_third(*args: object, **kwargs: object) -> Customer:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "create_customer", crash_on_third)
    raw = "\n".join(json.dumps(company_payload()) for _ in range(5)).encode()
    with pytest.raises(OSError, match="disk full"):
        run_import(container, raw, "crash.jsonl")
    assert counts(container) == before
    with container.session_factory() as fresh:
        assert audit.verify(fresh).ok


def test_import_over_the_api_reports_rejections_with_422(
    client: TestClient, token_for: Callable[[Role], dict[str, str]]
) -> None:
    headers = token_for(Role.analyst)
    bad = HEADER + csv_row(kind="company", name="x", uscc="123")
    response = client.post(
        "/api/v1/customers/import", files={"file": ("bad.csv", bad.encode(), "text/csv")}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["details"] == [
        {"field": "uscc", "line": 2, "reason": response.json()["details"][0]["reason"]}
    ]
    good = HEADER + csv_row(kind="company", name="好", uscc=new_uscc())
    response = client.post(
        "/api/v1/customers/import", files={"file": ("good.csv", good.encode(), "text/csv")}, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["imported"] == 1


def test_cli_import_exits_1_with_the_report(
    tmp_path: Path, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from riskdesk.cli import common
    from riskdesk.cli.main import app

    monkeypatch.setenv("RISKDESK_DATABASE_URL", container.settings.database_url)
    common.container.cache_clear()
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + csv_row(kind="company", name="x", uscc="123"), encoding="utf-8")
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(company_payload()) + "\n", encoding="utf-8")
    runner = CliRunner()
    try:
        failed = runner.invoke(app, ["customers", "import", str(bad)])
        assert failed.exit_code == 1
        assert json.loads(failed.stdout)["errors"][0]["line"] == 2
        passed = runner.invoke(app, ["customers", "import", str(good)])
        assert passed.exit_code == 0, passed.output
        assert json.loads(passed.stdout)["imported"] == 1
    finally:
        common.container().dispose()
        common.container.cache_clear()
