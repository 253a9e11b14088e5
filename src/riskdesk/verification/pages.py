"""The screening desk: the review queue of hits, the watchlists, and a name check."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from riskdesk.customers import service as customers
from riskdesk.errors import DomainError, ValidationFailed
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.verification import documents, screening
from riskdesk.verification import service as verification
from riskdesk.verification.matching import Subject
from riskdesk.web.deps import ContainerDep, FormDep, SessionDep, actor_of, form_text, require_page
from riskdesk.web.templating import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, require_page(Permission.screening_read)]
Decider = Annotated[Principal, require_page(Permission.screening_decide)]
Manager = Annotated[Principal, require_page(Permission.watchlists_manage)]


def _page(
    request: Request,
    session: SessionDep,
    *,
    status: str = "open",
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    hits, total = screening.list_hits(session, status=status or None, per_page=100)
    return render(
        request,
        "screening/queue.html",
        {
            "hits": hits,
            "total": total,
            "status": status,
            "watchlists": screening.list_watchlists(session),
            "checked": None,
            "error": "",
            "imported": None,
            **(extra or {}),
        },
        status_code=status_code,
    )


@router.get("/screening")
def queue(
    request: Request,
    session: SessionDep,
    principal: Reader,
    status: Annotated[str, Query(pattern="^(open|confirmed|dismissed|)$")] = "open",
) -> Response:
    return _page(request, session, status=status)


@router.get("/screening/check")
def check(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Reader,
    name: Annotated[str, Query(min_length=1, max_length=500)],
    kind: Annotated[str, Query(pattern="^(person|company)$")] = "person",
) -> Response:
    results = screening.screen_name(session, subject=Subject(name, kind), cache=container.screening_index)
    return _page(request, session, extra={"checked": {"name": name, "kind": kind, "results": results}})


@router.post("/screening/hits/{hit_id}/decision")
def decide(hit_id: int, request: Request, form: FormDep, session: SessionDep, principal: Decider) -> Response:
    values = form_text(form)
    try:
        with session.begin_nested():
            screening.decide_hit(
                session,
                hit_id=hit_id,
                decision=values.get("decision", ""),
                reason=values.get("reason", ""),
                actor=actor_of(request, principal),
            )
    except DomainError as exc:
        return _page(request, session, extra={"error": exc.message}, status_code=exc.status_code)
    back = values.get("back", "")
    return RedirectResponse(back if back.startswith("/customers/") else "/screening", status_code=303)


@router.post("/screening/watchlists/import")
def import_list(
    request: Request, form: FormDep, session: SessionDep, container: ContainerDep, principal: Manager
) -> Response:
    values = form_text(form)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(
            request, session, extra={"error": "Choose a CSV or FollowTheMoney JSON Lines file."}, status_code=422
        )
    actor = actor_of(request, principal)
    try:
        with session.begin_nested():
            result = screening.import_watchlist(
                session,
                name=values.get("list", ""),
                raw=upload.file.read(),
                file_format=values.get("format", "csv"),
                actor=actor,
                kind=values.get("kind", "other"),
                skip_invalid=values.get("skip_invalid") == "1",
            )
            raised = 0
            if result.added or result.changed:
                raised = screening.rescreen_all(
                    session, keyring=container.keyring, cache=container.screening_index, actor=actor
                )
    except DomainError as exc:
        details = "; ".join(f"line {d.line}: {d.field or '-'}: {d.reason}" for d in exc.details[:10])
        return _page(request, session, extra={"error": f"{exc.message} {details}"}, status_code=exc.status_code)
    return _page(request, session, extra={"imported": {**result.as_dict(), "new_hits": raised}})


@router.get("/customers/{customer_id}/screening")
def customer_hits(customer_id: int, request: Request, session: SessionDep, principal: Reader) -> Response:
    """The screening part of a customer's page (loaded into it by HTMX)."""
    customers.get_customer(session, customer_id=customer_id)
    hits, _ = screening.list_hits(session, status=None, customer_id=customer_id, per_page=100)
    return render(request, "screening/_customer.html", {"hits": hits, "customer_id": customer_id})


@router.post("/customers/{customer_id}/screening")
def screen_customer(
    customer_id: int, request: Request, session: SessionDep, container: ContainerDep, principal: Decider
) -> Response:
    screening.screen_customer(
        session,
        customer_id=customer_id,
        keyring=container.keyring,
        cache=container.screening_index,
        actor=actor_of(request, principal),
    )
    return RedirectResponse(f"/customers/{customer_id}#screening", status_code=303)


Verifier = Annotated[Principal, require_page(Permission.verification_run)]
CustomerReader = Annotated[Principal, require_page(Permission.customers_read)]


@router.get("/customers/{customer_id}/verification")
def customer_checks(customer_id: int, request: Request, session: SessionDep, principal: CustomerReader) -> Response:
    """The verification part of a customer's page (loaded into it by HTMX)."""
    return render(
        request,
        "screening/_verification.html",
        {"checks": verification.checks_of(session, customer_id=customer_id, limit=5), "customer_id": customer_id},
    )


@router.post("/customers/{customer_id}/verification")
def run_check(
    customer_id: int, request: Request, session: SessionDep, container: ContainerDep, principal: Verifier
) -> Response:
    verification.verify_customer(
        session,
        customer_id=customer_id,
        provider=container.registry_provider(session),
        actor=actor_of(request, principal),
    )
    return RedirectResponse(f"/customers/{customer_id}#verification", status_code=303)


Writer = Annotated[Principal, require_page(Permission.customers_write)]


def _documents_section(
    request: Request, session: SessionDep, customer_id: int, *, error: str = "", status_code: int = 200
) -> Response:
    # HTMX swaps only 2xx answers into the page, so an error shown inline to HTMX comes with 200.
    if error and request.headers.get("hx-request"):
        status_code = 200
    return render(
        request,
        "screening/_documents.html",
        {
            "documents": documents.documents_of(session, customer_id=customer_id),
            "customer_id": customer_id,
            "doc_types": documents.DOC_TYPES,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/customers/{customer_id}/documents")
def customer_documents(customer_id: int, request: Request, session: SessionDep, principal: CustomerReader) -> Response:
    """The documents part of a customer's page (loaded into it by HTMX)."""
    return _documents_section(request, session, customer_id)


@router.post("/customers/{customer_id}/documents")
def upload_document(
    customer_id: int, request: Request, form: FormDep, session: SessionDep, container: ContainerDep, principal: Writer
) -> Response:
    """Upload from the customer page; answers the refreshed documents section (or the reason it was refused)."""
    values = form_text(form)
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed("choose a file to upload")
        with session.begin_nested():
            documents.store(
                session,
                customer_id=customer_id,
                content=upload.file.read(),
                file_name=upload.filename,
                doc_type=values.get("doc_type", ""),
                folder=container.settings.resolved_documents_dir,
                max_bytes=container.settings.max_upload_bytes,
                actor=actor_of(request, principal),
                issuer=values.get("issuer", ""),
                issued_on=_date(values.get("issued_on")),
                expires_on=_date(values.get("expires_on")),
            )
    except (DomainError, ValueError) as exc:
        message = exc.message if isinstance(exc, DomainError) else "dates must be YYYY-MM-DD"
        return _documents_section(request, session, customer_id, error=message, status_code=422)
    if request.headers.get("hx-request"):
        return _documents_section(request, session, customer_id)
    return RedirectResponse(f"/customers/{customer_id}#documents", status_code=303)


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@router.get("/tasks")
def tasks_page(request: Request, session: SessionDep, principal: CustomerReader, everyone: bool = False) -> Response:
    tasks = documents.open_tasks(session, owner_id=None if everyone else principal.user_id)
    return render(request, "screening/tasks.html", {"tasks": tasks, "everyone": everyone})


@router.post("/tasks/{task_id}/done")
def task_done(task_id: int, request: Request, session: SessionDep, principal: CustomerReader) -> Response:
    documents.close_task(
        session,
        task_id=task_id,
        actor=actor_of(request, principal),
        user_id=principal.user_id,
        may_close_any=principal.can(Permission.customers_write),
    )
    return RedirectResponse("/tasks", status_code=303)
