"""Customers over JSON: ``/api/v1/customers`` and friends."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from riskdesk.customers import importer, relationships, service
from riskdesk.customers.schemas import (
    CUSTOMER_CREATE,
    CustomerOut,
    CustomerPage,
    CustomerStatus,
    CustomerUpdate,
    GroupIn,
    GroupOut,
    RelationshipIn,
    RelationshipOut,
    TimelineEntry,
)
from riskdesk.errors import ValidationFailed
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import ContainerDep, SessionDep, actor_of, require
from riskdesk.web.errors import error_body

router = APIRouter(prefix="/api/v1", tags=["customers"])

Reader = Annotated[Principal, require(Permission.customers_read)]
Writer = Annotated[Principal, require(Permission.customers_write)]
Importer = Annotated[Principal, require(Permission.customers_import)]

_CREATE_EXAMPLE = {
    "kind": "company",
    "name": "杭州示例科技有限公司",
    "uscc": "91330106MA2B0R3X3Q",
    "legal_representative": "王芳",
    "registered_capital": {"amount": "5000000.00", "currency": "CNY"},
    "industry_code": "I6510",
}


@router.post("/customers", status_code=201, response_model=CustomerOut)
def create_customer(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Writer,
    payload: Annotated[dict[str, Any], Body(examples=[_CREATE_EXAMPLE])],
) -> CustomerOut:
    """Create a company (``kind=company``) or an individual (``kind=individual``)."""
    data = CUSTOMER_CREATE.validate_python(payload)
    customer = service.create_customer(
        session, data=data, keyring=container.keyring, actor=actor_of(request, principal)
    )
    return service.view(
        session,
        customer=customer,
        keyring=container.keyring,
        reveal=principal.can(Permission.personal_data_read),
    )


@router.get("/customers", response_model=CustomerPage)
def list_customers(
    session: SessionDep,
    container: ContainerDep,
    principal: Reader,
    q: Annotated[str, Query(max_length=200, description="name, former name, code prefix, exact ID or phone")] = "",
    status: CustomerStatus | None = None,
    kind: Annotated[str | None, Query(pattern="^(company|individual)$")] = None,
    industry: Annotated[str | None, Query(max_length=8)] = None,
    group_id: int | None = None,
    owner: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=service.MAX_PER_PAGE)] = 50,
) -> CustomerPage:
    query = service.CustomerQuery(
        q=q,
        status=status.value if status else None,
        kind=kind,
        industry=industry,
        group_id=group_id,
        owner=owner,
        page=page,
        per_page=per_page,
    )
    return service.list_customers(
        session, query=query, keyring=container.keyring, reveal=principal.can(Permission.personal_data_read)
    )


@router.get("/customers/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: int, session: SessionDep, container: ContainerDep, principal: Reader) -> CustomerOut:
    customer = service.get_customer(session, customer_id=customer_id)
    return service.view(
        session,
        customer=customer,
        keyring=container.keyring,
        reveal=principal.can(Permission.personal_data_read),
    )


@router.patch("/customers/{customer_id}", response_model=CustomerOut)
def update_customer(
    customer_id: int,
    update: CustomerUpdate,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Writer,
) -> CustomerOut:
    customer = service.update_customer(
        session,
        customer_id=customer_id,
        update=update,
        keyring=container.keyring,
        actor=actor_of(request, principal),
    )
    return service.view(
        session,
        customer=customer,
        keyring=container.keyring,
        reveal=principal.can(Permission.personal_data_read),
    )


@router.get("/customers/{customer_id}/timeline", response_model=list[TimelineEntry])
def customer_timeline(
    customer_id: int,
    session: SessionDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[TimelineEntry]:
    """The customer's history from the audit ledger, newest first (personal values masked)."""
    return service.timeline(session, customer_id=customer_id, limit=limit)


@router.get("/customers/{customer_id}/relationships", response_model=list[RelationshipOut])
def customer_relationships(customer_id: int, session: SessionDep, principal: Reader) -> list[RelationshipOut]:
    return relationships.relationships_of(session, customer_id=customer_id)


@router.post("/customers/{customer_id}/relationships", status_code=201, response_model=list[RelationshipOut])
def add_relationship(
    customer_id: int, data: RelationshipIn, request: Request, session: SessionDep, principal: Writer
) -> list[RelationshipOut]:
    relationships.add_relationship(session, customer_id=customer_id, data=data, actor=actor_of(request, principal))
    return relationships.relationships_of(session, customer_id=customer_id)


@router.delete("/customers/{customer_id}/relationships/{relationship_id}", status_code=204, response_model=None)
def remove_relationship(
    customer_id: int,
    relationship_id: int,
    request: Request,
    session: SessionDep,
    principal: Writer,
    reason: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    relationships.remove_relationship(
        session,
        customer_id=customer_id,
        relationship_id=relationship_id,
        reason=reason,
        actor=actor_of(request, principal),
    )
    return Response(status_code=204)


@router.get("/customer-groups", response_model=list[GroupOut])
def list_groups(session: SessionDep, principal: Reader) -> list[GroupOut]:
    return relationships.list_groups(session)


@router.post("/customer-groups", status_code=201, response_model=GroupOut)
def create_group(data: GroupIn, request: Request, session: SessionDep, principal: Writer) -> GroupOut:
    group = relationships.create_group(session, data=data, actor=actor_of(request, principal))
    return GroupOut(id=group.id, name=group.name, description=group.description, members=0)


@router.post("/customers/import", response_model=None)
def import_customers(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Importer,
    file: Annotated[UploadFile, File(description="CSV or JSON Lines")],
    file_format: Annotated[str | None, Form(alias="format", pattern="^(csv|jsonl)$")] = None,
) -> JSONResponse:
    """All-or-nothing: 200 with the count imported, or 422 listing every rejected row (line, field, reason)."""
    raw = file.file.read()
    if not raw:
        raise ValidationFailed("the uploaded file is empty")
    report = importer.import_customers(
        session,
        raw=raw,
        filename=file.filename or "upload",
        keyring=container.keyring,
        actor=actor_of(request, principal),
        file_format=file_format,
    )
    if not report.ok:
        session.rollback()
        body = error_body(
            "import_rejected",
            f"{len({d.line for d in report.rejected})} rows were rejected, so nothing was imported;"
            " fix them and upload the file again",
            report.rejected,
        )
        body["report"] = report.as_dict()
        return JSONResponse(body, status_code=422)
    return JSONResponse(report.as_dict())
