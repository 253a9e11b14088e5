"""Customer groups and relationships (parent, subsidiary, guarantor, related party, shareholder with share)."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from riskdesk import events
from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.customers.models import Customer, CustomerGroup, Relationship
from riskdesk.customers.schemas import GroupIn, GroupOut, RelationshipIn, RelationshipKind, RelationshipOut
from riskdesk.customers.service import ENTITY, get_customer, names_by_id
from riskdesk.errors import Conflict, NotFound, ValidationFailed


def create_group(session: Session, *, data: GroupIn, actor: Actor) -> CustomerGroup:
    if session.scalar(select(CustomerGroup.id).where(CustomerGroup.name == data.name)) is not None:
        raise Conflict(f"a group called {data.name!r} already exists")
    group = CustomerGroup(name=data.name, description=data.description)
    session.add(group)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="group.created",
        entity_type="customer_group",
        entity_id=group.id,
        changes={"name": data.name},
    )
    return group


def list_groups(session: Session) -> list[GroupOut]:
    counts = dict(
        session.execute(
            select(Customer.group_id, func.count()).where(Customer.group_id.is_not(None)).group_by(Customer.group_id)
        ).all()
    )
    return [
        GroupOut(id=g.id, name=g.name, description=g.description, members=counts.get(g.id, 0))
        for g in session.scalars(select(CustomerGroup).order_by(CustomerGroup.name))
    ]


def add_relationship(session: Session, *, customer_id: int, data: RelationshipIn, actor: Actor) -> Relationship:
    customer = get_customer(session, customer_id=customer_id)
    related = session.get(Customer, data.related_customer_id)
    if related is None:
        raise NotFound(f"related customer {data.related_customer_id} does not exist")
    if related.id == customer.id:
        raise ValidationFailed("a customer cannot be related to itself")
    subject, other, kind = customer.id, related.id, data.kind
    if kind is RelationshipKind.subsidiary:  # "B is a subsidiary of A" is stored as "A is the parent of B"
        subject, other, kind = related.id, customer.id, RelationshipKind.parent
    exists = session.scalar(
        select(Relationship.id).where(
            Relationship.customer_id == subject,
            Relationship.related_customer_id == other,
            Relationship.kind == kind.value,
        )
    )
    if exists is not None:
        raise Conflict(f"this {data.kind.value} link already exists (relationship {exists})")
    link = Relationship(
        customer_id=subject,
        related_customer_id=other,
        kind=kind.value,
        share_percent=data.share_percent,
        note=data.note,
    )
    session.add(link)
    session.flush()
    for entity_id in {subject, other}:
        audit.append(
            session,
            actor=actor,
            action="relationship.added",
            entity_type=ENTITY,
            entity_id=entity_id,
            changes={
                "customer": subject,
                "related": other,
                "kind": kind.value,
                "share_percent": str(data.share_percent) if data.share_percent else None,
            },
        )
    events.record(session, events.CustomerChanged(subject))
    return link


def remove_relationship(session: Session, *, customer_id: int, relationship_id: int, reason: str, actor: Actor) -> None:
    link = session.get(Relationship, relationship_id)
    if link is None or customer_id not in (link.customer_id, link.related_customer_id):
        raise NotFound(f"customer {customer_id} has no relationship {relationship_id}")
    removed = {
        "customer": link.customer_id,
        "related": link.related_customer_id,
        "kind": link.kind,
        "share_percent": str(link.share_percent) if link.share_percent else None,
    }
    session.delete(link)
    session.flush()
    for entity_id in {link.customer_id, link.related_customer_id}:
        audit.append(
            session,
            actor=actor,
            action="relationship.removed",
            entity_type=ENTITY,
            entity_id=entity_id,
            changes=removed,
            reason=reason,
        )


def relationships_of(session: Session, *, customer_id: int) -> list[RelationshipOut]:
    get_customer(session, customer_id=customer_id)
    links = session.scalars(
        select(Relationship)
        .where(or_(Relationship.customer_id == customer_id, Relationship.related_customer_id == customer_id))
        .order_by(Relationship.id)
    ).all()
    names = names_by_id(
        session,
        Customer,
        Customer.name,
        {link.customer_id for link in links} | {link.related_customer_id for link in links},
    )
    return [
        RelationshipOut(
            id=link.id,
            customer_id=link.customer_id,
            customer_name=names.get(link.customer_id, ""),
            related_customer_id=link.related_customer_id,
            related_customer_name=names.get(link.related_customer_id, ""),
            kind=link.kind,
            share_percent=link.share_percent,
            note=link.note,
        )
        for link in links
    ]


def get_group(session: Session, *, group_id: int) -> CustomerGroup:
    group = session.get(CustomerGroup, group_id)
    if group is None:
        raise NotFound(f"customer group {group_id} does not exist")
    return group


def group_member_ids(session: Session, *, group_id: int) -> list[int]:
    return list(session.scalars(select(Customer.id).where(Customer.group_id == group_id).order_by(Customer.id)))


def existing_customer_ids(session: Session, ids: set[int]) -> set[int]:
    return set(session.scalars(select(Customer.id).where(Customer.id.in_(ids)))) if ids else set()
