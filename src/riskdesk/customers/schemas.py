"""Input and output shapes of customers. Never the ORM classes themselves."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    field_validator,
    model_validator,
)

from riskdesk import identifiers


class CustomerStatus(StrEnum):
    prospect = "prospect"
    active = "active"
    suspended = "suspended"
    closed = "closed"


class CompanySize(StrEnum):
    micro = "micro"
    small = "small"
    medium = "medium"
    large = "large"


class IdType(StrEnum):
    resident_id = "resident_id"
    passport = "passport"
    hk_macao_permit = "hk_macao_permit"
    taiwan_permit = "taiwan_permit"
    foreign_permanent_resident = "foreign_permanent_resident"


class RelationshipKind(StrEnum):
    parent = "parent"
    subsidiary = "subsidiary"
    guarantor = "guarantor"
    related_party = "related_party"
    shareholder = "shareholder"


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
_INDUSTRY_RE = re.compile(r"^[A-T](\d{2}|\d{3}|\d{4})?$")


def _industry(value: str) -> str:
    code = value.strip().upper()
    if not _INDUSTRY_RE.match(code):
        raise ValueError(
            "industry must be a GB/T 4754-2017 code: a section letter A-T, optionally followed by the 2-, 3- or"
            " 4-digit division, group or class (e.g. C, C33, C3311)"
        )
    return code


def _uscc(value: str) -> str:
    verdict = identifiers.check_uscc(value)
    if not verdict.valid:
        raise ValueError(f"invalid unified social credit code: {verdict.rule}")
    return verdict.normalized


def _phone(value: str) -> str:
    mobile = identifiers.normalize_phone(value)
    if mobile:
        return mobile
    landline = re.sub(r"[\s()]", "", value)
    if re.fullmatch(r"\+?[0-9][0-9\-]{6,19}", landline):
        return landline
    raise ValueError("phone must be a mainland mobile number (11 digits, 1[3-9]…) or a number of 7-20 digits")


def _country(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise ValueError("country must be an ISO 3166-1 alpha-2 code such as CN or HK")
    return code


IndustryCode = Annotated[str, AfterValidator(_industry)]
Uscc = Annotated[str, AfterValidator(_uscc)]
Phone = Annotated[str, AfterValidator(_phone)]
Country = Annotated[str, AfterValidator(_country)]
BankAccount = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9\- ]{8,34}$")]


class Money(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. CNY")


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText
    title: ShortText | None = None
    phone: Phone | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None


class _CustomerBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    status: CustomerStatus = CustomerStatus.prospect
    country: Country = "CN"
    owner: str | None = Field(default=None, description="username of the owning officer")
    group_id: int | None = None
    industry_code: IndustryCode | None = None
    size: CompanySize | None = None
    bank_name: ShortText | None = None
    bank_account: BankAccount | None = None
    contacts: list[ContactIn] = Field(default_factory=list, max_length=50)


class CompanyCreate(_CustomerBase):
    kind: Literal["company"]
    uscc: Uscc | None = None
    former_names: list[Name] = Field(default_factory=list, max_length=50)
    business_scope: LongText | None = None
    registered_capital: Money | None = None
    legal_representative: ShortText | None = None
    established_on: date | None = None
    registration_authority: Name | None = None
    address: LongText | None = None

    @model_validator(mode="after")
    def _mainland_needs_uscc(self) -> CompanyCreate:
        if self.country == "CN" and not self.uscc:
            raise ValueError("uscc: a company registered in China (country CN) needs its unified social credit code")
        if self.established_on and self.established_on > date.today():
            raise ValueError("established_on: the establishment date is in the future")
        return self


class IndividualCreate(_CustomerBase):
    kind: Literal["individual"]
    id_type: IdType = IdType.resident_id
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=32)]
    phone: Phone | None = None
    home_address: LongText | None = None
    date_of_birth: date | None = None

    @model_validator(mode="after")
    def _check_id(self) -> IndividualCreate:
        if self.id_type is IdType.resident_id:
            verdict = identifiers.check_resident_id(self.id_number)
            if not verdict.valid:
                raise ValueError(f"id_number: invalid resident identity card number: {verdict.rule}")
            self.id_number = verdict.normalized
            born = date.fromisoformat(verdict.facts["birth_date"])
            if self.date_of_birth is None:
                self.date_of_birth = born
            elif self.date_of_birth != born:
                raise ValueError(
                    f"date_of_birth: {self.date_of_birth.isoformat()} differs from the birth date in the ID number"
                    f" ({born.isoformat()})"
                )
        else:
            self.id_number = identifiers.normalize(self.id_number)
        return self


CustomerCreate = Annotated[CompanyCreate | IndividualCreate, Field(discriminator="kind")]
CUSTOMER_CREATE: TypeAdapter[CompanyCreate | IndividualCreate] = TypeAdapter(CustomerCreate)

COMPANY_ONLY = frozenset(
    {
        "uscc",
        "former_names",
        "business_scope",
        "registered_capital",
        "legal_representative",
        "established_on",
        "registration_authority",
        "address",
    }
)
INDIVIDUAL_ONLY = frozenset({"id_type", "id_number", "phone", "home_address", "date_of_birth"})


class CustomerUpdate(BaseModel):
    """A PATCH: only the fields given change. ``version`` guards against overwriting someone else's edit."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    version: int | None = Field(default=None, description="the version you read; 409 if it changed since")
    reason: Annotated[str, StringConstraints(max_length=500)] = ""
    name: Name | None = None
    status: CustomerStatus | None = None
    country: Country | None = None
    owner: str | None = None
    group_id: int | None = None
    industry_code: IndustryCode | None = None
    size: CompanySize | None = None
    bank_name: ShortText | None = None
    bank_account: BankAccount | None = None
    contacts: list[ContactIn] | None = Field(default=None, max_length=50)
    uscc: Uscc | None = None
    former_names: list[Name] | None = None
    business_scope: LongText | None = None
    registered_capital: Money | None = None
    legal_representative: ShortText | None = None
    established_on: date | None = None
    registration_authority: Name | None = None
    address: LongText | None = None
    id_type: IdType | None = None
    id_number: Annotated[str, StringConstraints(min_length=5, max_length=32)] | None = None
    phone: Phone | None = None
    home_address: LongText | None = None
    date_of_birth: date | None = None

    @field_validator("name", "status", "country")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be cleared")
        return value


class ContactOut(BaseModel):
    id: int
    name: str
    title: str | None
    phone: str | None
    email: str | None


class CustomerOut(BaseModel):
    """A customer as one reader may see it: sensitive values masked unless ``masked`` is false."""

    id: int
    kind: str
    name: str
    status: str
    country: str
    owner: str | None
    group_id: int | None
    group_name: str | None
    industry_code: str | None
    size: str | None
    uscc: str | None = None
    former_names: list[str] = Field(default_factory=list)
    business_scope: str | None = None
    registered_capital: Money | None = None
    legal_representative: str | None = None
    established_on: date | None = None
    registration_authority: str | None = None
    address: str | None = None
    id_type: str | None = None
    id_number: str | None = None
    phone: str | None = None
    home_address: str | None = None
    date_of_birth: str | None = Field(default=None, description="ISO date, or 1985-**-** when masked")
    bank_name: str | None = None
    bank_account: str | None = None
    contacts: list[ContactOut] = Field(default_factory=list)
    masked: bool
    version: int
    created_at: datetime
    updated_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    total: int
    page: int
    per_page: int
    pages: int


class TimelineEntry(BaseModel):
    seq: int
    occurred_at: datetime
    actor: str
    action: str
    changes: dict[str, Any]
    reason: str


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    description: LongText = ""


class GroupOut(BaseModel):
    id: int
    name: str
    description: str
    members: int


class RelationshipIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    related_customer_id: int
    kind: RelationshipKind
    share_percent: Decimal | None = Field(default=None, gt=0, le=100, decimal_places=4)
    note: LongText = ""

    @model_validator(mode="after")
    def _share_only_for_shareholders(self) -> RelationshipIn:
        if self.kind is RelationshipKind.shareholder and self.share_percent is None:
            raise ValueError("share_percent: a shareholder link needs the share held, in percent (0-100]")
        if self.kind is not RelationshipKind.shareholder and self.share_percent is not None:
            raise ValueError("share_percent: only shareholder links carry a share")
        return self


class RelationshipOut(BaseModel):
    id: int
    customer_id: int
    customer_name: str
    related_customer_id: int
    related_customer_name: str
    kind: str
    share_percent: Decimal | None
    note: str
