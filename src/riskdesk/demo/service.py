"""Load a generated portfolio and one user per role into a database, through the ordinary services."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.customers import relationships
from riskdesk.customers import service as customers
from riskdesk.customers.schemas import CUSTOMER_CREATE, GroupIn, RelationshipIn, RelationshipKind
from riskdesk.demo import portfolio as generator
from riskdesk.security import service as security
from riskdesk.security.permissions import Role

DEMO_PASSWORD = "riskdesk-demo"  # noqa: S105 - printed by `riskdesk demo`; the demo database is for trying the desk only
DEMO_USERS: dict[str, Role] = {
    "analyst": Role.analyst,
    "credit": Role.credit_officer,
    "approver": Role.approver,
    "compliance": Role.compliance_officer,
    "admin": Role.admin,
}
DEMO_ACTOR = Actor("demo-loader")


@dataclass(frozen=True)
class DemoSummary:
    companies: int
    individuals: int
    groups: int
    relationships: int
    watchlist_entries: int = 0
    registry_records: int = 0
    screening_hits: int = 0


def load(
    session: Session,
    *,
    container: Container,
    seed: int,
    companies: int,
    individuals: int,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    for username, role in DEMO_USERS.items():
        security.create_user(
            session,
            username=username,
            role=role,
            password=DEMO_PASSWORD,
            passwords=container.passwords,
            min_length=container.settings.password_min_length,
            actor=DEMO_ACTOR,
            display_name=f"Demo {role.value.replace('_', ' ')}",
        )
    security.set_approval_level(session, username="approver", level=2, actor=DEMO_ACTOR)
    book = generator.build(seed=seed, companies=companies, individuals=individuals, owners=["analyst", "credit"])
    total = len(book.companies) + len(book.individuals) + len(book.links)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    company_ids: list[int] = []
    for payload in book.companies:
        created = customers.create_customer(
            session,
            data=CUSTOMER_CREATE.validate_python(payload),
            keyring=container.keyring,
            actor=DEMO_ACTOR,
        )
        company_ids.append(created.id)
        step()
    person_ids: list[int] = []
    for payload in book.individuals:
        created = customers.create_customer(
            session,
            data=CUSTOMER_CREATE.validate_python(payload),
            keyring=container.keyring,
            actor=DEMO_ACTOR,
        )
        person_ids.append(created.id)
        step()
    for group in book.groups:
        made = relationships.create_group(
            session, data=GroupIn(name=group["name"], description=group["description"]), actor=DEMO_ACTOR
        )
        for member in group["members"]:
            customer = customers.get_customer(session, customer_id=company_ids[member])
            customer.group_id = made.id
    for link in book.links:
        related = person_ids[link.related] if link.related_individual else company_ids[link.related]
        relationships.add_relationship(
            session,
            customer_id=company_ids[link.company],
            data=RelationshipIn(
                related_customer_id=related,
                kind=RelationshipKind(link.kind),
                share_percent=link.share_percent,
            ),
            actor=DEMO_ACTOR,
        )
        step()
    entries, records, hits = _reference_data(session, container=container, book=book, seed=seed)
    _statements(session, rng=random.Random(seed), company_ids=company_ids[:60])
    _credit(session, container=container, rng=random.Random(seed), company_ids=company_ids[:40])
    _models(session, container=container)
    return DemoSummary(len(company_ids), len(person_ids), len(book.groups), len(book.links), entries, records, hits)


def _romanised(name: str) -> str:
    from riskdesk.verification.names import parse

    return " ".join(part.capitalize() for part in parse(name, "person").tokens)


def _reference_data(
    session: Session, *, container: Container, book: generator.Portfolio, seed: int
) -> tuple[int, int, int]:
    """A demo blacklist (some demo legal representatives in pinyin, a company, unrelated names) and a registry
    snapshot of the first companies with a few differences, so screening and verification have work to show."""
    import json
    import random

    from riskdesk.verification import screening
    from riskdesk.verification import service as verification

    rng = random.Random(seed)
    rows = ["id,kind,name,aliases,country,reason"]
    for number, company in enumerate(rng.sample(book.companies, k=min(4, len(book.companies)))):
        rows.append(f"rep-{number},person,{_romanised(company['legal_representative'])},,CN,demo: court enforcement")
    if book.companies:
        rows.append(f"co-1,company,{book.companies[-1]['name']},,CN,demo: contract fraud")
    for number in range(20):
        rows.append(f"other-{number},person,{generator.person_name(rng)},,CN,demo")
    listed = screening.import_watchlist(
        session,
        name="demo-blacklist",
        raw="\n".join(rows).encode(),
        file_format="csv",
        actor=DEMO_ACTOR,
        kind="blacklist",
    )
    lines = []
    for number, company in enumerate(book.companies[:40]):
        record = {key: company.get(key) for key in ("name", "uscc", "legal_representative", "address")}
        record["status"] = "存续"
        record["registered_capital"] = f"{int(float(company['registered_capital']['amount'])) // 10000}万元人民币"
        record["established_on"] = company["established_on"]
        if number % 10 == 3:
            record["legal_representative"] = generator.person_name(rng)
        if number == 7:
            record["status"] = "吊销，未注销"
        if number == 9:
            record["dishonest_debtor"] = [{"case": "(2025)浙01执123号", "court": "杭州市中级人民法院"}]
        lines.append(json.dumps(record, ensure_ascii=False))
    records = (
        verification.import_registry(
            session, raw="\n".join(lines).encode(), filename="demo-registry.jsonl", actor=DEMO_ACTOR
        )
        if lines
        else 0
    )
    hits = screening.rescreen_all(session, keyring=container.keyring, cache=container.screening_index, actor=DEMO_ACTOR)
    return listed.added, records, hits


def _statements(session: Session, *, rng: Any, company_ids: list[int]) -> None:
    """Three balanced annual statements (in 万元) for the first companies: some healthy, some sliding."""
    from datetime import date

    from riskdesk.financials import service as financials
    from riskdesk.financials.schemas import StatementIn

    for customer_id in company_ids:
        assets = Decimal(rng.randrange(2_000, 200_000))
        leverage = Decimal(rng.choice(("0.35", "0.5", "0.65", "0.85")))
        margin = Decimal(rng.choice(("0.08", "0.04", "0.01", "-0.03")))
        for year in (2022, 2023, 2024):
            drift = Decimal(1) + Decimal(rng.randrange(-10, 20)) / 100
            assets = (assets * drift).quantize(Decimal(1))
            liabilities = (assets * leverage).quantize(Decimal(1))
            revenue = (assets * Decimal(rng.choice(("0.8", "1.2", "1.6")))).quantize(Decimal(1))
            lines = {
                "total_assets": assets,
                "total_liabilities": liabilities,
                "equity": assets - liabilities,
                "current_assets": (assets * Decimal("0.55")).quantize(Decimal(1)),
                "current_liabilities": (liabilities * Decimal("0.7")).quantize(Decimal(1)),
                "inventory": (assets * Decimal("0.15")).quantize(Decimal(1)),
                "cash": (assets * Decimal("0.08")).quantize(Decimal(1)),
                "accounts_receivable": (revenue * Decimal("0.2")).quantize(Decimal(1)),
                "accounts_payable": (revenue * Decimal("0.12")).quantize(Decimal(1)),
                "short_term_debt": (liabilities * Decimal("0.3")).quantize(Decimal(1)),
                "long_term_debt": (liabilities * Decimal("0.25")).quantize(Decimal(1)),
                "retained_earnings": (assets * margin * 3).quantize(Decimal(1)),
                "revenue": revenue,
                "cost_of_sales": (revenue * Decimal("0.78")).quantize(Decimal(1)),
                "operating_profit": (revenue * (margin + Decimal("0.03"))).quantize(Decimal(1)),
                "interest_expense": (liabilities * Decimal("0.02")).quantize(Decimal(1)),
                "net_income": (revenue * margin).quantize(Decimal(1)),
            }
            financials.save_statement(
                session,
                customer_id=customer_id,
                actor=DEMO_ACTOR,
                data=StatementIn(period_end=date(year, 12, 31), unit="万元", lines=lines, source="demo"),
            )


def _credit(session: Session, *, container: Container, rng: Any, company_ids: list[int]) -> None:
    """Exchange rates, assessed and approved limits (the largest and the worst grades wait in the approvals inbox),
    open orders, deliveries and invoices — some overdue — and credit checks, a few of them held."""
    from datetime import date, timedelta

    from riskdesk.audit.service import Actor
    from riskdesk.credit import checks, proposals
    from riskdesk.credit import exposure as exposures
    from riskdesk.credit import service as credit
    from riskdesk.errors import DomainError

    today = date.today()
    policy = container.credit_policy
    rates = [("USD", "7.12"), ("EUR", "7.68"), ("HKD", "0.91")]
    exposures.load_rates(
        session,
        rates=[
            exposures.RateIn(currency=c, rate=Decimal(r), valid_on=today - timedelta(days=1), source="demo")
            for c, r in rates
        ],
        base=policy.base_currency,
        actor=DEMO_ACTOR,
    )
    officer, approver, erp = Actor("credit"), Actor("approver"), Actor("erp-demo")
    for number, customer_id in enumerate(company_ids):
        customers.get_customer(session, customer_id=customer_id).status = "active"
        monthly = Decimal(rng.randrange(200, 5_000)) * 1000
        record = credit.assess_customer(
            session, customer_id=customer_id, policy=policy, actor=officer, expected_monthly_sales=monthly
        )
        if not record.recommended_limit:
            continue
        proposal = proposals.propose(
            session,
            customer_id=customer_id,
            data=proposals.ProposalIn(
                grade=record.grade,
                limit_amount=record.recommended_limit,
                currency=record.currency,
                payment_days=record.payment_days,
                conditions=list(record.conditions),
                effective_from=today - timedelta(days=rng.randrange(10, 300)),
                expires_on=today + timedelta(days=rng.randrange(20, 360)),
                assessment_id=record.id,
                rationale="demo: as assessed",
            ),
            actor=officer,
        )
        try:
            with session.begin_nested():
                proposals.decide(
                    session, proposal_id=proposal.id, decision="approve", reason="demo", policy=policy, actor=approver
                )
        except DomainError:  # beyond the demo approver's level: it waits in the inbox for a higher one
            continue
        limit = record.recommended_limit
        items = []
        for n in range(rng.randrange(1, 6)):
            kind = rng.choice(("order", "delivery", "invoice", "invoice"))
            issued = today - timedelta(days=rng.randrange(0, record.payment_days + 35))
            items.append(
                exposures.ItemIn(
                    customer_id=customer_id,
                    kind=kind,
                    reference=f"{kind[:3].upper()}-{customer_id}-{n}",
                    currency=record.currency,
                    open_amount=(limit * Decimal(rng.randrange(5, 30)) / 100).quantize(Decimal("0.01")),
                    document_date=issued,
                    due_on=issued + timedelta(days=record.payment_days) if kind == "invoice" else None,
                )
            )
        exposures.record_items(session, items=items, base=policy.base_currency, actor=erp)
        for n in range(1 + number % 3):
            share = Decimal(rng.choice((3, 5, 10, 15, 30))) / 100
            order = checks.CheckIn(
                customer_id=customer_id,
                amount=max(Decimal("0.01"), (limit * share).quantize(Decimal("0.01"))),
                currency=record.currency,
                reference=f"SO-{customer_id}-{n}",
            )
            result = checks.check_credit(session, data=order, policy=policy, actor=erp)
            if result.check.status == "approved" and rng.random() < 0.7:  # the order arrives; the rest stay reserved
                exposures.record_items(
                    session,
                    items=[
                        exposures.ItemIn(
                            customer_id=customer_id,
                            kind="order",
                            reference=order.reference,
                            currency=order.currency,
                            open_amount=order.amount,
                            document_date=today,
                        )
                    ],
                    base=policy.base_currency,
                    actor=erp,
                )


DEMO_MODEL = "demo-pd-1"


def _models(session: Session, *, container: Container) -> None:
    """A PD model trained on a synthetic unit history, registered, promoted by credit and approver, and the
    portfolio rescored by it — so the Models page and each company's explanation have something to show."""
    import shutil
    import tempfile
    from datetime import date
    from pathlib import Path

    from riskdesk.audit.service import Actor
    from riskdesk.credit import portfolio
    from riskdesk.demo.history import unit_history
    from riskdesk.scoring import registry
    from riskdesk.scoring.training import Source, train_models

    models_dir = container.settings.resolved_models_dir
    shutil.rmtree(models_dir / DEMO_MODEL, ignore_errors=True)  # the demo database it belonged to is gone
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "unit-history.csv"
        frame = unit_history()
        frame.to_csv(data, index=False)
        trained = train_models(
            frame,
            target="default",
            source=Source.of(data),
            kind="auto",
            id_columns=("customer_id",),
            feature_labels=portfolio.FEATURE_LABELS,
            trained_by="credit",
            version=DEMO_MODEL,
        )
        trained.save(Path(folder) / DEMO_MODEL)
        record = registry.register(
            session, source=Path(folder) / DEMO_MODEL, models_dir=models_dir, actor=Actor("credit")
        )
    registry.request_promotion(session, version_id=record.id, reason="demo: validated", actor=Actor("credit"))
    registry.decide_promotion(
        session, version_id=record.id, decision="approve", reason="demo: approved", actor=Actor("approver")
    )
    portfolio.rescore(session, policy=container.credit_policy, actor=Actor("credit"), today=date.today())
