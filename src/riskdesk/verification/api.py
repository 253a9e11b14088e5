"""Watchlists and screening over JSON."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse

from riskdesk.audit import service as audit
from riskdesk.errors import PermissionDenied
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.verification import documents, screening
from riskdesk.verification import service as verification
from riskdesk.verification.matching import Subject
from riskdesk.verification.models import Document, ScreeningHit, VerificationCheck, WatchlistEntry
from riskdesk.verification.schemas import CheckOut, Decision, HitOut, HitPage, NameCheck
from riskdesk.web.deps import ContainerDep, SessionDep, actor_of, require

router = APIRouter(prefix="/api/v1", tags=["screening"])

Reader = Annotated[Principal, require(Permission.screening_read)]
Decider = Annotated[Principal, require(Permission.screening_decide)]
Manager = Annotated[Principal, require(Permission.watchlists_manage)]


def hit_out(hit: ScreeningHit, entry: WatchlistEntry, list_name: str) -> HitOut:
    return HitOut(
        id=hit.id,
        customer_id=hit.customer_id,
        subject_role=hit.subject_role,
        subject_name=hit.subject_name,
        entry_id=entry.id,
        list=list_name,
        entry_name=hit.entry_name,
        entry_kind=entry.kind,
        entry_details=entry.details or {},
        score=hit.score,
        algorithm=hit.algorithm,
        explanation=hit.explanation,
        status=hit.status,
        decided_by=hit.decided_by,
        decided_at=hit.decided_at,
        reason=hit.reason,
        created_at=hit.created_at,
    )


@router.get("/watchlists")
def list_watchlists(session: SessionDep, principal: Reader) -> list[dict[str, Any]]:
    return screening.list_watchlists(session)


@router.post("/watchlists/{name}/import")
def import_watchlist(
    name: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Manager,
    file: Annotated[UploadFile, File(description="CSV or FollowTheMoney JSON Lines")],
    file_format: Annotated[str, Form(alias="format", pattern="^(csv|ftm)$")] = "csv",
    kind: Annotated[str | None, Form(description="keeps the list's kind when omitted")] = None,
    skip_invalid: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    """Import (or re-import) a list, then re-screen every customer against the changed lists."""
    actor = actor_of(request, principal)
    result = screening.import_watchlist(
        session,
        name=name,
        raw=file.file.read(),
        file_format=file_format,
        actor=actor,
        kind=kind,
        skip_invalid=skip_invalid,
    )
    raised = 0
    if result.added or result.changed:
        raised = screening.rescreen_all(
            session, keyring=container.keyring, cache=container.screening_index, actor=actor
        )
    return {**result.as_dict(), "new_hits": raised}


@router.post("/screening/check")
def check_name(
    data: NameCheck, session: SessionDep, container: ContainerDep, principal: Reader
) -> list[dict[str, Any]]:
    """Screen one name against the imported lists; nothing is stored."""
    subject = Subject(
        data.name, data.kind, data.identifiers, data.birth_date, data.country.upper() if data.country else None
    )
    return screening.screen_name(session, subject=subject, cache=container.screening_index, limit=data.limit)


@router.post("/customers/{customer_id}/screening", response_model=list[HitOut])
def screen_customer(
    customer_id: int, request: Request, session: SessionDep, container: ContainerDep, principal: Decider
) -> list[HitOut]:
    """Screen the customer, its legal representative, shareholders and guarantors now; answers the new hits."""
    screening.screen_customer(
        session,
        customer_id=customer_id,
        keyring=container.keyring,
        cache=container.screening_index,
        actor=actor_of(request, principal),
    )
    hits, _ = screening.list_hits(session, status=None, customer_id=customer_id, per_page=200)
    return [hit_out(*row) for row in hits]


@router.get("/screening/hits", response_model=HitPage)
def list_hits(
    session: SessionDep,
    principal: Reader,
    status: Annotated[str | None, Query(pattern="^(open|confirmed|dismissed)$")] = "open",
    customer_id: int | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> HitPage:
    rows, total = screening.list_hits(session, status=status, customer_id=customer_id, page=page, per_page=per_page)
    return HitPage(items=[hit_out(*row) for row in rows], total=total, page=page, per_page=per_page)


@router.post("/screening/hits/{hit_id}/decision", response_model=HitOut)
def decide(hit_id: int, data: Decision, request: Request, session: SessionDep, principal: Decider) -> HitOut:
    hit = screening.decide_hit(
        session, hit_id=hit_id, decision=data.decision, reason=data.reason, actor=actor_of(request, principal)
    )
    rows, _ = screening.list_hits(session, status=None, customer_id=hit.customer_id, per_page=200)
    return next(hit_out(*row) for row in rows if row[0].id == hit.id)


Verifier = Annotated[Principal, require(Permission.verification_run)]
CustomerReader = Annotated[Principal, require(Permission.customers_read)]


def check_out(check: VerificationCheck) -> CheckOut:
    return CheckOut(
        id=check.id,
        customer_id=check.customer_id,
        outcome=check.outcome,
        algorithm=check.algorithm,
        source=check.source,
        findings=check.findings,
        reasons=check.reasons,
        inputs=check.inputs,
        inputs_hash=check.inputs_hash,
        checked_by=check.checked_by,
        checked_at=check.checked_at,
    )


@router.get("/customers/{customer_id}/verifications", response_model=list[CheckOut])
def list_verifications(customer_id: int, session: SessionDep, principal: CustomerReader) -> list[CheckOut]:
    """The customer's verification reports, newest first."""
    return [check_out(c) for c in verification.checks_of(session, customer_id=customer_id)]


@router.post("/customers/{customer_id}/verifications", status_code=201, response_model=CheckOut)
def run_verification(
    customer_id: int, request: Request, session: SessionDep, container: ContainerDep, principal: Verifier
) -> CheckOut:
    """Verify against the registry (an HTTP API when configured, else the imported snapshot) and screening hits.
    The outcome is passed, passed_with_findings, failed or incomplete (the registry did not answer)."""
    check = verification.verify_customer(
        session,
        customer_id=customer_id,
        provider=container.registry_provider(session),
        actor=actor_of(request, principal),
    )
    return check_out(check)


@router.post("/registry/import")
def import_registry(
    request: Request,
    session: SessionDep,
    principal: Manager,
    file: Annotated[UploadFile, File(description="CSV or JSON Lines of registry records")],
) -> dict[str, Any]:
    count = verification.import_registry(
        session, raw=file.file.read(), filename=file.filename or "upload.jsonl", actor=actor_of(request, principal)
    )
    return {"imported": count}


@router.post("/customers/{customer_id}/documents", status_code=201)
def upload_document(
    customer_id: int,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require(Permission.customers_write)],
    file: Annotated[UploadFile, File()],
    doc_type: Annotated[str, Form()],
    issuer: Annotated[str, Form(max_length=200)] = "",
    issued_on: Annotated[date | None, Form()] = None,
    expires_on: Annotated[date | None, Form()] = None,
) -> dict[str, Any]:
    """Upload a document (multipart; RISKDESK_MAX_UPLOAD_BYTES). Its type comes from its bytes, not its name;
    a document expiring within 30 days creates a task for the customer's owner."""
    document = documents.store(
        session,
        customer_id=customer_id,
        content=file.file.read(),
        file_name=file.filename or "document",
        doc_type=doc_type,
        folder=container.settings.resolved_documents_dir,
        max_bytes=container.settings.max_upload_bytes,
        actor=actor_of(request, principal),
        issuer=issuer,
        issued_on=issued_on,
        expires_on=expires_on,
    )
    return document_out(document)


def document_out(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "customer_id": document.customer_id,
        "doc_type": document.doc_type,
        "issuer": document.issuer,
        "issued_on": document.issued_on,
        "expires_on": document.expires_on,
        "file_name": document.file_name,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "uploaded_by": document.uploaded_by,
        "uploaded_at": document.uploaded_at,
    }


@router.get("/customers/{customer_id}/documents")
def list_documents(customer_id: int, session: SessionDep, principal: CustomerReader) -> list[dict[str, Any]]:
    return [document_out(d) for d in documents.documents_of(session, customer_id=customer_id)]


@router.get("/documents/{document_id}/content", response_model=None)
def download_document(
    document_id: int, request: Request, session: SessionDep, container: ContainerDep, principal: CustomerReader
) -> FileResponse:
    """The file itself. ID copies are sensitive personal information: only roles that may see it get them."""
    document = documents.get_document(session, document_id=document_id)
    if document.doc_type == "id_copy" and not principal.can(Permission.personal_data_read):
        raise PermissionDenied("an ID copy is sensitive personal information; your role does not see it")
    path = documents.path_of(document, container.settings.resolved_documents_dir)
    audit.append(
        session,
        actor=actor_of(request, principal),
        action="document.downloaded",
        entity_type="customer",
        entity_id=document.customer_id,
        changes={"document": document.id},
    )
    return FileResponse(path, media_type=document.content_type, filename=document.file_name)


@router.get("/tasks")
def my_tasks(session: SessionDep, principal: CustomerReader, everyone: bool = False) -> list[dict[str, Any]]:
    """Open tasks: yours, or everyone's with ``everyone=true``."""
    tasks = documents.open_tasks(session, owner_id=None if everyone else principal.user_id)
    return [
        {
            "id": t.id,
            "kind": t.kind,
            "customer_id": t.customer_id,
            "title": t.title,
            "due_on": t.due_on,
            "owner_id": t.owner_id,
            "status": t.status,
        }
        for t in tasks
    ]
