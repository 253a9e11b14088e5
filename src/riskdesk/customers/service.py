"""Customer use cases. Each writes the change and its ledger entry in the caller's transaction."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, String, cast, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from riskdesk import events, identifiers
from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.customers import classification, sealing
from riskdesk.customers.models import Contact, Customer, CustomerGroup
from riskdesk.customers.schemas import (
    COMPANY_ONLY,
    INDIVIDUAL_ONLY,
    CompanyCreate,
    ContactIn,
    ContactOut,
    CustomerOut,
    CustomerPage,
    CustomerUpdate,
    IndividualCreate,
    Money,
    TimelineEntry,
)
from riskdesk.db.types import utcnow
from riskdesk.errors import Conflict, ErrorDetail, NotFound, ValidationFailed, details_from_pydantic
from riskdesk.security import service as security
from riskdesk.security.crypto import KeyRing

ENTITY = "customer"
MAX_PER_PAGE = 200


# ── Reading ──────────────────────────────────────────────────────────────────────────────────────────────


def get_customer(session: Session, *, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id, options=[selectinload(Customer.contacts)])
    if customer is None:
        raise NotFound(f"customer {customer_id} does not exist")
    return customer


def standing(session: Session, *, customer_id: int) -> tuple[str, int | None]:
    """The customer's status and group, without loading the customer: what a credit check needs, fast."""
    row = session.execute(select(Customer.status, Customer.group_id).where(Customer.id == customer_id)).first()
    if row is None:
        raise NotFound(f"customer {customer_id} does not exist")
    return row[0], row[1]


def to_out(
    customer: Customer,
    *,
    keyring: KeyRing,
    reveal: bool,
    owner_name: str | None = None,
    group_name: str | None = None,
) -> CustomerOut:
    """The customer as a reader sees it; ``reveal`` is the reader's ``personal_data:read`` permission."""

    def sensitive(field: str, stored: str | None) -> str | None:
        value = sealing.open_value(keyring, field, stored)
        return value if reveal or value is None else classification.mask_value(field, value)

    money = (
        Money(amount=customer.registered_capital_amount, currency=customer.registered_capital_currency or "CNY")
        if customer.registered_capital_amount is not None
        else None
    )
    return CustomerOut(
        id=customer.id,
        kind=customer.kind,
        name=customer.name,
        status=customer.status,
        country=customer.country,
        owner=owner_name,
        group_id=customer.group_id,
        group_name=group_name,
        industry_code=customer.industry_code,
        size=customer.size,
        uscc=customer.uscc,
        former_names=list(customer.former_names or []),
        business_scope=customer.business_scope,
        registered_capital=money,
        legal_representative=customer.legal_representative,
        established_on=customer.established_on,
        registration_authority=customer.registration_authority,
        address=customer.address,
        id_type=customer.id_type,
        id_number=sensitive("id_number", customer.id_number_enc),
        phone=sensitive("phone", customer.phone_enc),
        home_address=sensitive("home_address", customer.home_address_enc),
        # With the birth date, a masked resident ID has only ~90 candidates left; masked readers see the year.
        date_of_birth=(
            None
            if customer.date_of_birth is None
            else customer.date_of_birth.isoformat()
            if reveal
            else classification.mask_value("date_of_birth", customer.date_of_birth)
        ),
        bank_name=customer.bank_name,
        bank_account=sensitive("bank_account", customer.bank_account_enc),
        contacts=[
            ContactOut(
                id=contact.id,
                name=contact.name,
                title=contact.title,
                phone=sensitive(sealing.CONTACT_PHONE, contact.phone_enc),
                email=contact.email,
            )
            for contact in customer.contacts
        ],
        masked=not reveal,
        version=customer.version,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


def view(session: Session, *, customer: Customer, keyring: KeyRing, reveal: bool) -> CustomerOut:
    owner = security.usernames(session, user_ids={customer.owner_id}) if customer.owner_id else {}
    group = session.get(CustomerGroup, customer.group_id) if customer.group_id else None
    return to_out(
        customer,
        keyring=keyring,
        reveal=reveal,
        owner_name=owner.get(customer.owner_id) if customer.owner_id else None,
        group_name=group.name if group else None,
    )


@dataclass(frozen=True)
class CustomerQuery:
    q: str = ""
    status: str | None = None
    kind: str | None = None
    industry: str | None = None
    group_id: int | None = None
    owner: str | None = None
    page: int = 1
    per_page: int = 50


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search(query: CustomerQuery, keyring: KeyRing, *, sensitive: bool, owner_id: int | None) -> Select[Customer]:
    """``sensitive``: also match ID numbers, phones and bank accounts exactly, through their blind indexes.

    Only for readers who may see those values: for others an exact-match search would be an oracle that
    confirms guesses of a masked number.
    """
    stmt = select(Customer)
    text = query.q.strip()
    if text:
        needle = f"%{_escape_like(text.lower())}%"
        conditions: list[Any] = [
            func.lower(Customer.name).like(needle, escape="\\"),
            func.lower(cast(Customer.former_names, String)).like(needle, escape="\\"),
        ]
        normalized = identifiers.normalize(text)
        if len(normalized) >= 4 and all(ch in identifiers.USCC_ALPHABET for ch in normalized):
            conditions.append(Customer.uscc.like(f"{normalized}%"))
        if sensitive and len(normalized) >= 5:
            # Exact match through the blind index: no row is decrypted. Each field normalises in its own way.
            conditions.append(Customer.id_number_bidx == sealing.blind_index(keyring, "id_number", text))
            conditions.append(Customer.bank_account_bidx == sealing.blind_index(keyring, "bank_account", text))
            if identifiers.normalize_phone(text) or normalized.replace("+", "").isdigit():
                conditions.append(Customer.phone_bidx == sealing.blind_index(keyring, "phone", text))
        stmt = stmt.where(or_(*conditions))
    if query.status:
        stmt = stmt.where(Customer.status == query.status)
    if query.kind:
        stmt = stmt.where(Customer.kind == query.kind)
    if query.industry:
        stmt = stmt.where(Customer.industry_code.like(f"{query.industry.strip().upper()}%"))
    if query.group_id is not None:
        stmt = stmt.where(Customer.group_id == query.group_id)
    if query.owner:
        stmt = stmt.where(Customer.owner_id == owner_id) if owner_id is not None else stmt.where(false())
    return stmt


def list_customers(session: Session, *, query: CustomerQuery, keyring: KeyRing, reveal: bool) -> CustomerPage:
    if query.page < 1:
        raise ValidationFailed("page starts at 1", details=[ErrorDetail("page", "must be 1 or more")])
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        raise ValidationFailed(
            f"per_page must be between 1 and {MAX_PER_PAGE}",
            details=[ErrorDetail("per_page", f"must be between 1 and {MAX_PER_PAGE}")],
        )
    owner_id = security.user_id_of(session, username=query.owner) if query.owner else None
    base = _search(query, keyring, sensitive=reveal, owner_id=owner_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(
        base.options(selectinload(Customer.contacts))
        .order_by(Customer.name, Customer.id)
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    ).all()
    owners = security.usernames(session, user_ids={c.owner_id for c in rows if c.owner_id})
    groups = names_by_id(session, CustomerGroup, CustomerGroup.name, {c.group_id for c in rows if c.group_id})
    return CustomerPage(
        items=[
            to_out(
                c,
                keyring=keyring,
                reveal=reveal,
                owner_name=owners.get(c.owner_id) if c.owner_id else None,
                group_name=groups.get(c.group_id) if c.group_id else None,
            )
            for c in rows
        ],
        total=total,
        page=query.page,
        per_page=query.per_page,
        pages=max(1, math.ceil(total / query.per_page)),
    )


def names_by_id(session: Session, model: Any, column: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(model.id, column).where(model.id.in_(ids))).all())


# ── Writing ──────────────────────────────────────────────────────────────────────────────────────────────


def _owner_id(session: Session, username: str | None) -> int | None:
    if not username:
        return None
    user_id = security.user_id_of(session, username=username)
    if user_id is None:
        raise ValidationFailed(
            f"owner {username!r} is not a user", details=[ErrorDetail("owner", "no user has this username")]
        )
    return user_id


def _check_group(session: Session, group_id: int | None) -> None:
    if group_id is not None and session.get(CustomerGroup, group_id) is None:
        raise ValidationFailed(
            f"group {group_id} does not exist",
            details=[ErrorDetail("group_id", "no customer group has this id")],
        )


def _ensure_unique(session: Session, *, uscc: str | None, id_number_bidx: str | None, exclude_id: int | None) -> None:
    if uscc:
        existing = session.execute(select(Customer.id, Customer.name).where(Customer.uscc == uscc)).first()
        if existing and existing[0] != exclude_id:
            raise Conflict(
                f"customer {existing[0]} ({existing[1]}) already has unified social credit code {uscc};"
                " open that customer instead of creating a second one",
                details=[ErrorDetail("uscc", f"already used by customer {existing[0]}")],
            )
    if id_number_bidx:
        existing = session.execute(
            select(Customer.id, Customer.name).where(Customer.id_number_bidx == id_number_bidx)
        ).first()
        if existing and existing[0] != exclude_id:
            raise Conflict(
                f"customer {existing[0]} already has this ID number; open that customer instead",
                details=[ErrorDetail("id_number", f"already used by customer {existing[0]}")],
            )


def _contacts(keyring: KeyRing, contacts: Sequence[ContactIn]) -> list[Contact]:
    built = []
    for contact in contacts:
        phone_enc, phone_bidx = sealing.seal(keyring, sealing.CONTACT_PHONE, contact.phone)
        built.append(
            Contact(
                name=contact.name,
                title=contact.title,
                phone_enc=phone_enc,
                phone_bidx=phone_bidx,
                email=contact.email,
            )
        )
    return built


def _ledger_value(field: str, value: Any, kind: str) -> Any:
    if isinstance(value, Money):
        value = {"amount": str(value.amount), "currency": value.currency}
    elif isinstance(value, Decimal | date):
        value = str(value)
    elif isinstance(value, list):
        value = [item.model_dump(mode="json") if hasattr(item, "model_dump") else item for item in value]
        if field == "contacts":
            return [
                {k: classification.for_ledger(f"contacts.{k}", v, kind=kind) for k, v in item.items()} for item in value
            ]
    return classification.for_ledger(field, value, kind=kind)


def create_customer(
    session: Session,
    *,
    data: CompanyCreate | IndividualCreate,
    keyring: KeyRing,
    actor: Actor,
    reason: str = "",
) -> Customer:
    owner_id = _owner_id(session, data.owner)
    _check_group(session, data.group_id)
    customer = Customer(
        kind=data.kind,
        name=data.name,
        status=data.status.value,
        country=data.country,
        owner_id=owner_id,
        group_id=data.group_id,
        industry_code=data.industry_code,
        size=data.size.value if data.size else None,
        bank_name=data.bank_name,
        former_names=[],
        version=1,
    )
    customer.bank_account_enc, customer.bank_account_bidx = sealing.seal(keyring, "bank_account", data.bank_account)
    if isinstance(data, CompanyCreate):
        customer.uscc = data.uscc
        customer.former_names = list(data.former_names)
        customer.business_scope = data.business_scope
        if data.registered_capital:
            customer.registered_capital_amount = data.registered_capital.amount
            customer.registered_capital_currency = data.registered_capital.currency
        customer.legal_representative = data.legal_representative
        customer.established_on = data.established_on
        customer.registration_authority = data.registration_authority
        customer.address = data.address
    else:
        customer.id_type = data.id_type.value
        customer.id_number_enc, customer.id_number_bidx = sealing.seal(keyring, "id_number", data.id_number)
        customer.phone_enc, customer.phone_bidx = sealing.seal(keyring, "phone", data.phone)
        customer.home_address_enc, _ = sealing.seal(keyring, "home_address", data.home_address)
        customer.date_of_birth = data.date_of_birth
    _ensure_unique(session, uscc=customer.uscc, id_number_bidx=customer.id_number_bidx, exclude_id=None)
    customer.contacts = _contacts(keyring, data.contacts)
    now = utcnow()
    customer.created_at = customer.updated_at = now
    session.add(customer)
    session.flush()
    given = data.model_dump(exclude_none=True, exclude_defaults=False)
    audit.append(
        session,
        actor=actor,
        action="customer.created",
        entity_type=ENTITY,
        entity_id=customer.id,
        changes={
            field: _ledger_value(field, getattr(data, field), data.kind)
            for field in given
            if field not in ("kind",) and given[field] not in ([], "")
        },
        reason=reason,
    )
    events.record(session, events.CustomerChanged(customer.id))
    return customer


def contacts_of(customer: Customer, *, keyring: KeyRing) -> list[dict[str, Any]]:
    """The contacts in their input shape, decrypted: for merging edits and for the ledger's old values."""
    contacts = []
    for contact in customer.contacts:
        phone = sealing.open_value(keyring, sealing.CONTACT_PHONE, contact.phone_enc)
        values = {"name": contact.name, "title": contact.title, "phone": phone, "email": contact.email}
        contacts.append({key: value for key, value in values.items() if value is not None})
    return contacts


def _current(customer: Customer, field: str, keyring: KeyRing) -> Any:
    if field in classification.SENSITIVE_FIELDS:
        return sealing.open_value(keyring, field, getattr(customer, f"{field}_enc"))
    if field == "registered_capital":
        if customer.registered_capital_amount is None:
            return None
        return Money(amount=customer.registered_capital_amount, currency=customer.registered_capital_currency or "CNY")
    if field == "owner":
        return customer.owner_id
    if field == "contacts":
        return contacts_of(customer, keyring=keyring)
    return getattr(customer, field)


def update_customer(
    session: Session, *, customer_id: int, update: CustomerUpdate, keyring: KeyRing, actor: Actor
) -> Customer:
    customer = get_customer(session, customer_id=customer_id)
    given = update.model_fields_set - {"version", "reason"}
    if update.version is not None and update.version != customer.version:
        raise Conflict(
            f"customer {customer_id} changed since you read it (version {update.version}, now {customer.version});"
            " reload it and apply your change again"
        )
    wrong_kind = given & (INDIVIDUAL_ONLY if customer.kind == "company" else COMPANY_ONLY)
    if wrong_kind:
        raise ValidationFailed(
            f"these fields do not apply to a {customer.kind}: {', '.join(sorted(wrong_kind))}",
            details=[ErrorDetail(field, f"not a field of a {customer.kind}") for field in sorted(wrong_kind)],
        )
    if customer.kind == "individual":
        _revalidate_individual(customer, update, given, keyring)
    # Before any attribute changes: autoflush would otherwise hit the unique index first.
    _ensure_unique(
        session,
        uscc=update.uscc if "uscc" in given else None,
        id_number_bidx=sealing.blind_index(keyring, "id_number", update.id_number)
        if "id_number" in given and update.id_number
        else None,
        exclude_id=customer.id,
    )
    changes: dict[str, Any] = {}
    for field in sorted(given):
        new = getattr(update, field)
        if field == "owner":
            new_owner = _owner_id(session, new)
            if new_owner != customer.owner_id:
                changes["owner"] = {"old": customer.owner_id, "new": new_owner}
                customer.owner_id = new_owner
            continue
        old = _current(customer, field, keyring)
        comparable = [c.model_dump(exclude_none=True) for c in new or []] if field == "contacts" else new
        if old == comparable:
            continue
        changes[field] = {
            "old": _ledger_value(field, old, customer.kind),
            "new": _ledger_value(field, new, customer.kind),
        }
        _apply(customer, field, new, keyring, session)
    if customer.kind == "company" and customer.country == "CN" and not customer.uscc:
        raise ValidationFailed(
            "a company registered in China needs its unified social credit code",
            details=[ErrorDetail("uscc", "required when country is CN")],
        )
    if not changes:
        return customer
    customer.version += 1
    customer.updated_at = utcnow()
    session.flush()
    action = "customer.status_changed" if set(changes) == {"status"} else "customer.updated"
    audit.append(
        session,
        actor=actor,
        action=action,
        entity_type=ENTITY,
        entity_id=customer.id,
        changes=changes,
        reason=update.reason,
    )
    events.record(session, events.CustomerChanged(customer.id))
    return customer


def _revalidate_individual(customer: Customer, update: CustomerUpdate, given: set[str], keyring: KeyRing) -> None:
    """ID type, number and birth date must still agree after a partial update."""
    if not given & {"id_type", "id_number", "date_of_birth"}:
        return
    merged: dict[str, Any] = {
        "kind": "individual",
        "name": customer.name,
        "id_type": update.id_type if "id_type" in given else customer.id_type,
        "id_number": update.id_number
        if "id_number" in given
        else sealing.open_value(keyring, "id_number", customer.id_number_enc),
        "date_of_birth": update.date_of_birth if "date_of_birth" in given else None,
    }
    if merged["id_number"] is None:
        raise ValidationFailed(
            "an individual needs an ID number", details=[ErrorDetail("id_number", "cannot be cleared")]
        )
    try:
        checked = IndividualCreate.model_validate(merged)
    except ValidationError as exc:
        raise ValidationFailed(
            "the ID number, its type and the birth date do not agree",
            details=details_from_pydantic(exc.errors()),
        ) from exc
    update.id_number = checked.id_number if "id_number" in given else update.id_number
    derived = checked.date_of_birth
    if derived is not None and ("date_of_birth" not in given or update.date_of_birth is None):
        # A resident ID carries the birth date: it follows the number and cannot be cleared apart from it.
        update.date_of_birth = derived
        if derived != customer.date_of_birth:
            given.add("date_of_birth")
        else:
            given.discard("date_of_birth")


def _apply(customer: Customer, field: str, value: Any, keyring: KeyRing, session: Session) -> None:
    if field in classification.SENSITIVE_FIELDS:
        enc, bidx = sealing.seal(keyring, field, value)
        setattr(customer, f"{field}_enc", enc)
        if field != "home_address":
            setattr(customer, f"{field}_bidx", bidx)
    elif field == "registered_capital":
        customer.registered_capital_amount = value.amount if value else None
        customer.registered_capital_currency = value.currency if value else None
    elif field == "contacts":
        customer.contacts = _contacts(keyring, value or [])
    elif field == "group_id":
        _check_group(session, value)
        customer.group_id = value
    elif field in ("status", "size", "id_type"):
        setattr(customer, field, value.value if value is not None else None)
    elif field == "former_names":
        customer.former_names = list(value or [])
    else:
        setattr(customer, field, value)


def company_ids(session: Session) -> list[int]:
    """Every company that is not closed, in id order (for portfolio-wide scoring)."""
    return list(
        session.scalars(
            select(Customer.id).where(Customer.kind == "company", Customer.status != "closed").order_by(Customer.id)
        )
    )


@dataclass(frozen=True)
class Profile:
    """What monitoring rules read of a customer's master data (no personal information)."""

    id: int
    kind: str
    industry_code: str | None
    uscc: str | None


def profiles(session: Session, customer_ids: Sequence[int]) -> dict[int, Profile]:
    """The profiles of the given customers that exist, in one query."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.kind, Customer.industry_code, Customer.uscc).where(
            Customer.id.in_(sorted(set(customer_ids)))
        )
    )
    return {row[0]: Profile(*row) for row in rows}


def active_customer_ids(session: Session) -> list[int]:
    """Every customer that is not closed, in id order (for portfolio-wide jobs such as re-screening)."""
    return list(session.scalars(select(Customer.id).where(Customer.status != "closed").order_by(Customer.id)))


def timeline(session: Session, *, customer_id: int, limit: int = 200) -> list[TimelineEntry]:
    get_customer(session, customer_id=customer_id)
    return [
        TimelineEntry(
            seq=entry.seq,
            occurred_at=entry.occurred_at,
            actor=entry.actor,
            action=entry.action,
            changes=json.loads(entry.changes),
            reason=entry.reason,
        )
        for entry in audit.entries_for(session, entity_type=ENTITY, entity_id=customer_id, limit=limit)
    ]
