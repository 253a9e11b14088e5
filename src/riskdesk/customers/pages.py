"""The desk's customer pages: list with search and filters, detail with timeline, create, edit, import."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from riskdesk.customers import forms, importer, relationships, service
from riskdesk.customers.schemas import (
    CUSTOMER_CREATE,
    CompanySize,
    CustomerStatus,
    CustomerUpdate,
    GroupIn,
    IdType,
    RelationshipIn,
    RelationshipKind,
)
from riskdesk.errors import DomainError, ErrorDetail, ValidationFailed, details_from_pydantic
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import ContainerDep, FormDep, SessionDep, actor_of, form_text, require_page
from riskdesk.web.templating import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, require_page(Permission.customers_read)]
Writer = Annotated[Principal, require_page(Permission.customers_write)]
Importer = Annotated[Principal, require_page(Permission.customers_import)]

_CHOICES = {
    "statuses": [s.value for s in CustomerStatus],
    "sizes": [s.value for s in CompanySize],
    "id_types": [t.value for t in IdType],
    "relationship_kinds": [k.value for k in RelationshipKind],
}


@router.get("/")
def home(principal: Reader) -> Response:
    return RedirectResponse("/customers", status_code=303)


@router.get("/customers")
def customer_list(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Reader,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    kind: Annotated[str, Query(max_length=16)] = "",
    industry: Annotated[str, Query(max_length=8)] = "",
    group: Annotated[int | None, Query(ge=1)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    query = service.CustomerQuery(
        q=q,
        status=status if status in _CHOICES["statuses"] else None,
        kind=kind if kind in ("company", "individual") else None,
        industry=industry or None,
        group_id=group,
        page=page,
        per_page=container.settings.page_size,
    )
    result = service.list_customers(
        session, query=query, keyring=container.keyring, reveal=principal.can(Permission.personal_data_read)
    )
    filters: dict[str, Any] = {"q": q, "status": status, "kind": kind, "industry": industry, "group": group or ""}
    context: dict[str, Any] = {
        "result": result,
        "filters": filters,
        "page_link": lambda n: "/customers?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": n}),
        **_CHOICES,
    }
    template = (
        "customers/_rows.html"
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "customer-rows"
        else "customers/list.html"
    )
    return render(request, template, context)


@router.get("/customers/new")
def new_customer(
    request: Request,
    principal: Writer,
    kind: Annotated[str, Query(pattern="^(company|individual)$")] = "company",
) -> Response:
    return _form(
        request,
        kind=kind,
        values={"status": "prospect", "country": "CN", "registered_capital_currency": "CNY"},
    )


def _form(
    request: Request,
    *,
    kind: str,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    customer_id: int | None = None,
    message: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "customers/form.html",
        {
            "kind": kind,
            "values": values,
            "errors": errors or {},
            "customer_id": customer_id,
            "message": message,
            **_CHOICES,
        },
        status_code=status_code,
    )


@router.post("/customers/new")
def create_customer(
    request: Request,
    form: FormDep,
    session: SessionDep,
    container: ContainerDep,
    principal: Writer,
    kind: Annotated[str, Query(pattern="^(company|individual)$")] = "company",
) -> Response:
    values = form_text(form)
    payload = forms.payload_from_form(values, kind=kind, editing=False)
    try:
        data = CUSTOMER_CREATE.validate_python(payload)
        with session.begin_nested():
            customer = service.create_customer(
                session, data=data, keyring=container.keyring, actor=actor_of(request, principal)
            )
    except ValidationError as exc:
        return _form(
            request,
            kind=kind,
            values=values,
            errors=forms.errors_by_field(details_from_pydantic(exc.errors())),
            message=_invalid(request),
            status_code=422,
        )
    except DomainError as exc:
        return _form(
            request,
            kind=kind,
            values=values,
            errors=forms.errors_by_field(exc.details or [ErrorDetail(None, exc.message)]),
            message=exc.message,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/customers/{customer.id}?saved=1", status_code=303)


def _invalid(request: Request) -> str:
    from riskdesk.web.i18n import translate
    from riskdesk.web.templating import language_of

    return translate("Please correct the fields marked below.", language_of(request))


@router.get("/customers/import")
def import_form(request: Request, principal: Importer) -> Response:
    return render(request, "customers/import.html", {"report": None})


@router.post("/customers/import")
def import_upload(
    request: Request, form: FormDep, session: SessionDep, container: ContainerDep, principal: Importer
) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render(
            request,
            "customers/import.html",
            {"report": None, "error": "Choose a CSV or JSON Lines file."},
            status_code=422,
        )
    raw = upload.file.read()
    try:
        with session.begin_nested() as savepoint:
            report = importer.import_customers(
                session,
                raw=raw,
                filename=upload.filename,
                keyring=container.keyring,
                actor=actor_of(request, principal),
            )
            if not report.ok:
                savepoint.rollback()
    except ValidationFailed as exc:
        return render(request, "customers/import.html", {"report": None, "error": exc.message}, status_code=422)
    return render(request, "customers/import.html", {"report": report}, status_code=200 if report.ok else 422)


@router.get("/customers/groups")
def groups_page(request: Request, session: SessionDep, principal: Reader) -> Response:
    return render(request, "customers/groups.html", {"groups": relationships.list_groups(session), "errors": {}})


@router.post("/customers/groups")
def create_group(request: Request, form: FormDep, session: SessionDep, principal: Writer) -> Response:
    values = form_text(form)
    try:
        data = GroupIn.model_validate({"name": values.get("name", ""), "description": values.get("description", "")})
        with session.begin_nested():
            relationships.create_group(session, data=data, actor=actor_of(request, principal))
    except ValidationError as exc:
        errors = forms.errors_by_field(details_from_pydantic(exc.errors()))
        return render(
            request,
            "customers/groups.html",
            {"groups": relationships.list_groups(session), "errors": errors},
            status_code=422,
        )
    except DomainError as exc:
        return render(
            request,
            "customers/groups.html",
            {"groups": relationships.list_groups(session), "errors": {"name": exc.message}},
            status_code=exc.status_code,
        )
    return RedirectResponse("/customers/groups", status_code=303)


@router.get("/customers/{customer_id}")
def customer_detail(
    customer_id: int, request: Request, session: SessionDep, container: ContainerDep, principal: Reader
) -> Response:
    return _detail(request, session, container, principal, customer_id)


def _detail(
    request: Request,
    session: Any,
    container: Any,
    principal: Principal,
    customer_id: int,
    rel_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    customer = service.get_customer(session, customer_id=customer_id)
    return render(
        request,
        "customers/detail.html",
        {
            "customer": service.view(
                session,
                customer=customer,
                keyring=container.keyring,
                reveal=principal.can(Permission.personal_data_read),
            ),
            "timeline": service.timeline(session, customer_id=customer_id, limit=100),
            "relationships": relationships.relationships_of(session, customer_id=customer_id),
            "saved": request.query_params.get("saved") == "1",
            "rel_errors": rel_errors or {},
            **_CHOICES,
        },
        status_code=status_code,
    )


@router.get("/customers/{customer_id}/edit")
def edit_customer(
    customer_id: int, request: Request, session: SessionDep, container: ContainerDep, principal: Writer
) -> Response:
    customer = service.view(
        session,
        customer=service.get_customer(session, customer_id=customer_id),
        keyring=container.keyring,
        reveal=principal.can(Permission.personal_data_read),
    )
    values = forms.form_from_customer(customer)
    values["version"] = str(customer.version)
    return _form(request, kind=customer.kind, values=values, customer_id=customer_id)


@router.post("/customers/{customer_id}/edit")
def update_customer(
    customer_id: int, request: Request, form: FormDep, session: SessionDep, container: ContainerDep, principal: Writer
) -> Response:
    customer = service.get_customer(session, customer_id=customer_id)
    values = form_text(form)
    payload = forms.payload_from_form(values, kind=customer.kind, editing=True)
    contacts = forms.merged_contacts(service.contacts_of(customer, keyring=container.keyring), values)
    if contacts is not None:
        payload["contacts"] = contacts
    try:
        update = CustomerUpdate.model_validate(payload)
        with session.begin_nested():
            service.update_customer(
                session,
                customer_id=customer_id,
                update=update,
                keyring=container.keyring,
                actor=actor_of(request, principal),
            )
    except ValidationError as exc:
        return _form(
            request,
            kind=customer.kind,
            values=values,
            customer_id=customer_id,
            errors=forms.errors_by_field(details_from_pydantic(exc.errors())),
            message=_invalid(request),
            status_code=422,
        )
    except DomainError as exc:
        return _form(
            request,
            kind=customer.kind,
            values=values,
            customer_id=customer_id,
            errors=forms.errors_by_field(exc.details),
            message=exc.message,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/customers/{customer_id}?saved=1", status_code=303)


@router.post("/customers/{customer_id}/relationships")
def add_relationship(
    customer_id: int, request: Request, form: FormDep, session: SessionDep, container: ContainerDep, principal: Writer
) -> Response:
    values = form_text(form)
    try:
        data = RelationshipIn.model_validate(
            {k: v for k, v in values.items() if k in ("related_customer_id", "kind", "share_percent", "note") and v}
        )
        with session.begin_nested():
            relationships.add_relationship(
                session, customer_id=customer_id, data=data, actor=actor_of(request, principal)
            )
    except ValidationError as exc:
        return _detail(
            request,
            session,
            container,
            principal,
            customer_id,
            forms.errors_by_field(details_from_pydantic(exc.errors())),
            422,
        )
    except DomainError as exc:
        return _detail(request, session, container, principal, customer_id, {"_form": exc.message}, exc.status_code)
    return RedirectResponse(f"/customers/{customer_id}#relationships", status_code=303)


@router.post("/customers/{customer_id}/relationships/{relationship_id}/remove")
def remove_relationship(
    customer_id: int, relationship_id: int, request: Request, session: SessionDep, principal: Writer
) -> Response:
    relationships.remove_relationship(
        session,
        customer_id=customer_id,
        relationship_id=relationship_id,
        reason="removed in the desk",
        actor=actor_of(request, principal),
    )
    return RedirectResponse(f"/customers/{customer_id}#relationships", status_code=303)
