"""Customer master data: companies and individuals, contacts, groups and relationships.

Sensitive personal values are stored only as ciphertext (``*_enc``) and a keyed hash for exact-match search
(``*_bidx``); see ``riskdesk.security.crypto``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskdesk.db.base import Base
from riskdesk.db.types import MoneyAmount, UTCDateTime, utcnow


class CustomerGroup(Base):
    __tablename__ = "customer_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16), default="prospect", index=True)
    country: Mapped[str] = mapped_column(String(2), default="CN")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("customer_groups.id"), nullable=True, index=True)
    industry_code: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    size: Mapped[str | None] = mapped_column(String(16), nullable=True)

    # Companies
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True, nullable=True)
    former_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    business_scope: Mapped[str | None] = mapped_column(Text, nullable=True)
    registered_capital_amount: Mapped[Decimal | None] = mapped_column(MoneyAmount, nullable=True)
    registered_capital_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    legal_representative: Mapped[str | None] = mapped_column(String(100), nullable=True)
    established_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    registration_authority: Mapped[str | None] = mapped_column(String(200), nullable=True)
    address: Mapped[str | None] = mapped_column(Text, nullable=True)

    # Individuals
    id_type: Mapped[str | None] = mapped_column(String(24), nullable=True)
    id_number_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    id_number_bidx: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    phone_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone_bidx: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    home_address_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date, nullable=True)

    # Both
    bank_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    bank_account_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    bank_account_bidx: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)

    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Contact.id"
    )


class Contact(Base):
    __tablename__ = "customer_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100), nullable=True)
    phone_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone_bidx: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class Relationship(Base):
    """``related`` is the ``kind`` of ``customer``: (A, guarantor, B) reads "B guarantees A".

    Subsidiary links are stored as the inverse parent link, so each fact is stored once.
    """

    __tablename__ = "customer_relationships"
    __table_args__ = (UniqueConstraint("customer_id", "related_customer_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    related_customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    share_percent: Mapped[Decimal | None] = mapped_column(Numeric(7, 4), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
