"""What the foundation's safety costs: customer writes with field encryption and the hash-chained ledger, and
ledger verification, each next to the plain baseline that skips the safety, in one run.

- writes: `customers.service.create_customer` (validation, AES-GCM, blind indexes, uniqueness checks, ledger entry)
  vs a plain ORM insert of the same rows (no encryption, no ledger), both committing every 500 rows;
- import: `riskdesk customers import` path (`importer.import_customers`) on a generated CSV, rows per second;
- verify: `audit.verify` over the ledger vs a plain `SELECT` of the same rows (the I/O floor).

Run: `make bench` (SQLite always, PostgreSQL when reachable at RISKDESK_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, select

from riskdesk.audit import service as audit
from riskdesk.audit.models import AuditEntry
from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.config import Settings
from riskdesk.customers import importer
from riskdesk.customers import service as customers
from riskdesk.customers.models import Customer
from riskdesk.customers.schemas import CUSTOMER_CREATE
from riskdesk.db import migrate
from riskdesk.demo.portfolio import build

ROWS = int(os.environ.get("RISKDESK_BENCH_ROWS", "4000"))
BATCH = 500
ACTOR = Actor("bench")


@contextmanager
def databases() -> Iterator[list[tuple[str, Callable[[], str]]]]:
    """Fresh databases: each call of a factory gives a new migrated one; all are removed at the end."""
    made: list[str] = []
    folder = tempfile.TemporaryDirectory()
    admin_url = os.environ.get("RISKDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def sqlite() -> str:
        return f"sqlite:///{folder.name}/{uuid.uuid4().hex}.db"

    def postgres() -> str:
        name = f"riskdesk_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        made.append(name)
        return admin.url.set(database=name).render_as_string(hide_password=False)

    factories: list[tuple[str, Callable[[], str]]] = [("SQLite", sqlite)]
    try:
        with admin.connect():
            factories.append(("PostgreSQL", postgres))
    except Exception:  # no server: the PostgreSQL rows are left out and the report says so
        print("PostgreSQL not reachable; SQLite only")
    try:
        yield factories
    finally:
        with admin.connect() as connection:
            for name in made:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        folder.cleanup()


def container_for(url: str) -> Container:
    built = Container(settings=Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
    migrate.upgrade(built.engine)
    return built


def payloads() -> list[dict[str, Any]]:
    book = build(seed=42, companies=ROWS * 3 // 4, individuals=ROWS - ROWS * 3 // 4, owners=[])
    return book.companies + book.individuals


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def write_riskdesk(container: Container, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        with container.session_factory.begin() as session:
            for payload in rows[start : start + BATCH]:
                customers.create_customer(
                    session, data=CUSTOMER_CREATE.validate_python(payload), keyring=container.keyring, actor=ACTOR
                )


def write_plain(container: Container, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        with container.session_factory.begin() as session:
            for payload in rows[start : start + BATCH]:
                capital = payload.get("registered_capital") or {}
                session.add(
                    Customer(
                        kind=payload["kind"],
                        name=payload["name"],
                        status=payload.get("status", "prospect"),
                        country="CN",
                        uscc=payload.get("uscc"),
                        former_names=[],
                        industry_code=payload.get("industry_code"),
                        legal_representative=payload.get("legal_representative"),
                        registered_capital_amount=Decimal(capital["amount"]) if capital else None,
                        registered_capital_currency=capital.get("currency"),
                        id_type=payload.get("id_type"),
                        id_number_enc=payload.get("id_number"),
                        phone_enc=payload.get("phone"),
                        version=1,
                    )
                )


def csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    columns = [
        "kind",
        "name",
        "uscc",
        "status",
        "industry_code",
        "size",
        "legal_representative",
        "registered_capital_amount",
        "id_number",
        "phone",
        "home_address",
        "bank_account",
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for payload in rows:
        row = {k: payload.get(k, "") for k in columns}
        if payload.get("registered_capital"):
            row["registered_capital_amount"] = payload["registered_capital"]["amount"]
        writer.writerow(row)
    return out.getvalue().encode()


def measure(backend: str, make_url: Callable[[], str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    riskdesk_db, plain_db, import_db = (container_for(make_url()) for _ in range(3))
    plain = "plain ORM insert, no encryption, no ledger"
    t_riskdesk = timed(lambda: write_riskdesk(riskdesk_db, rows))
    t_plain = timed(lambda: write_plain(plain_db, rows))

    def do_import() -> None:
        with import_db.session_factory.begin() as session:
            report = importer.import_customers(
                session, raw=csv_bytes(rows), filename="bench.csv", keyring=import_db.keyring, actor=ACTOR
            )
            assert report.ok, report.as_dict()["errors"][:3]

    t_import = timed(do_import)
    with riskdesk_db.session_factory() as session:
        entries = session.query(AuditEntry).count()
        assert audit.verify(session).ok
        t_verify = timed(lambda: audit.verify(session))
        t_scan = timed(lambda: list(session.execute(select(AuditEntry.__table__)).all()))
    for built in (riskdesk_db, plain_db, import_db):
        built.dispose()
    n = len(rows)
    return [
        {
            "backend": backend,
            "measure": f"write {n} customers",
            "riskdesk": n / t_riskdesk,
            "baseline": n / t_plain,
            "unit": "rows/s",
            "baseline_name": plain,
        },
        {
            "backend": backend,
            "measure": f"import CSV of {n} rows",
            "riskdesk": n / t_import,
            "baseline": n / t_plain,
            "unit": "rows/s",
            "baseline_name": plain,
        },
        {
            "backend": backend,
            "measure": f"verify ledger of {entries} entries",
            "riskdesk": entries / t_verify,
            "baseline": entries / t_scan,
            "unit": "entries/s",
            "baseline_name": "plain SELECT of the ledger rows",
        },
    ]


def run() -> list[dict[str, Any]]:
    rows = payloads()
    results: list[dict[str, Any]] = []
    with databases() as factories:
        for backend, make_url in factories:
            results += measure(backend, make_url, rows)
    return results
