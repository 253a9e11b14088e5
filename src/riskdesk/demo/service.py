"""Load a generated portfolio and one user per role into a database, through the ordinary services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
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
        made = customers.create_group(
            session, data=GroupIn(name=group["name"], description=group["description"]), actor=DEMO_ACTOR
        )
        for member in group["members"]:
            customer = customers.get_customer(session, customer_id=company_ids[member])
            customer.group_id = made.id
    for link in book.links:
        related = person_ids[link.related] if link.related_individual else company_ids[link.related]
        customers.add_relationship(
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
    return DemoSummary(len(company_ids), len(person_ids), len(book.groups), len(book.links))
