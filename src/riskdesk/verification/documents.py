"""Customer documents: content sniffed from the bytes, stored under their SHA-256, expiry turned into tasks."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.customers import service as customers
from riskdesk.errors import ErrorDetail, NotFound, PermissionDenied, ValidationFailed
from riskdesk.verification.models import Document, Task

DOC_TYPES = ("business_licence", "id_copy", "financial_statement", "contract", "other")
EXPIRY_WARNING_DAYS = 30
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"II*\x00", "image/tiff", ".tif"),
    (b"MM\x00*", "image/tiff", ".tif"),
)
_OFFICE = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def sniff(content: bytes, file_name: str) -> tuple[str, str]:
    """(content type, extension) from the file's first bytes; anything else is refused with the reason."""
    for signature, content_type, extension in _SIGNATURES:
        if content.startswith(signature):
            return content_type, extension
    suffix = Path(file_name).suffix.lower()
    if content.startswith(b"PK\x03\x04") and suffix in _OFFICE and b"[Content_Types].xml" in content[:4096]:
        return _OFFICE[suffix], suffix
    raise ValidationFailed(
        "the file is not a PDF, PNG, JPEG, TIFF, Word (.docx) or Excel (.xlsx) document judging by its content;"
        " scan or save it in one of those formats",
        details=[ErrorDetail("file", "unsupported content")],
    )


def safe_file_name(name: str) -> str:
    """The last path part, without control characters or characters file systems refuse; at most 200 long."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = re.sub(r'[<>:"|?*]', "_", base).strip(" .")
    return (base or "document")[:200]


def store(
    session: Session,
    *,
    customer_id: int,
    content: bytes,
    file_name: str,
    doc_type: str,
    folder: Path,
    max_bytes: int,
    actor: Actor,
    issuer: str = "",
    issued_on: date | None = None,
    expires_on: date | None = None,
    today: date | None = None,
) -> Document:
    customer = customers.get_customer(session, customer_id=customer_id)
    if doc_type not in DOC_TYPES:
        raise ValidationFailed(
            f"doc_type must be one of {', '.join(DOC_TYPES)}",
            details=[ErrorDetail("doc_type", "unknown document type")],
        )
    if not content:
        raise ValidationFailed("the file is empty", details=[ErrorDetail("file", "empty")])
    if len(content) > max_bytes:
        raise ValidationFailed(f"the file is larger than {max_bytes} bytes", details=[ErrorDetail("file", "too large")])
    if issued_on and expires_on and expires_on < issued_on:
        raise ValidationFailed(
            "the document expires before it was issued", details=[ErrorDetail("expires_on", "before issued_on")]
        )
    content_type, extension = sniff(content, file_name)
    digest = hashlib.sha256(content).hexdigest()
    target = folder / digest[:2] / f"{digest}{extension}"
    if not target.exists():  # content-addressed: the same file uploaded twice is stored once
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        Path(handle.name).replace(target)
    document = Document(
        customer_id=customer.id,
        doc_type=doc_type,
        issuer=issuer.strip()[:200],
        issued_on=issued_on,
        expires_on=expires_on,
        file_name=safe_file_name(file_name),
        content_type=content_type,
        size=len(content),
        sha256=digest,
        uploaded_by=actor.name,
    )
    session.add(document)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="document.uploaded",
        entity_type="customer",
        entity_id=customer.id,
        changes={
            "document": document.id,
            "type": doc_type,
            "sha256": digest,
            "size": len(content),
            "expires_on": expires_on.isoformat() if expires_on else None,
        },
    )
    create_expiry_tasks(session, today=today or date.today(), actor=actor)
    return document


def path_of(document: Document, folder: Path) -> Path:
    for extension in (".pdf", ".png", ".jpg", ".tif", ".docx", ".xlsx"):
        candidate = folder / document.sha256[:2] / f"{document.sha256}{extension}"
        if candidate.exists():
            return candidate
    raise NotFound(f"the file of document {document.id} is missing from the documents folder; restore it from backup")


def documents_of(session: Session, *, customer_id: int) -> list[Document]:
    customers.get_customer(session, customer_id=customer_id)
    return list(
        session.scalars(select(Document).where(Document.customer_id == customer_id).order_by(Document.id.desc()))
    )


def get_document(session: Session, *, document_id: int) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound(f"document {document_id} does not exist")
    return document


def create_expiry_tasks(session: Session, *, today: date, actor: Actor, days: int = EXPIRY_WARNING_DAYS) -> list[Task]:
    """A task for the customer's owner for each document expiring within ``days`` (once per document)."""
    horizon = today + timedelta(days=days)
    expiring = session.scalars(select(Document).where(Document.expires_on.is_not(None), Document.expires_on <= horizon))
    created = []
    for document in expiring:
        exists = session.scalar(
            select(Task.id).where(
                Task.kind == "document_expiring", Task.subject_type == "document", Task.subject_id == document.id
            )
        )
        if exists is not None:
            continue
        customer = customers.get_customer(session, customer_id=document.customer_id)
        assert document.expires_on is not None
        expired = document.expires_on < today
        task = Task(
            kind="document_expiring",
            subject_type="document",
            subject_id=document.id,
            customer_id=customer.id,
            owner_id=customer.owner_id,
            due_on=document.expires_on,
            title=f"{'expired' if expired else 'expires'} {document.expires_on.isoformat()}: "
            f"{document.doc_type} of {customer.name} — obtain a current one",
        )
        session.add(task)
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="task.created",
            entity_type="customer",
            entity_id=customer.id,
            changes={"task": task.id, "kind": task.kind, "document": document.id},
        )
        created.append(task)
    return created


def create_task(
    session: Session,
    *,
    kind: str,
    subject_type: str,
    subject_id: int,
    customer_id: int,
    owner_id: int | None,
    title: str,
    due_on: date,
    actor: Actor,
) -> Task | None:
    """A task once per (kind, subject); ``None`` when it exists already."""
    exists = session.scalar(
        select(Task.id).where(Task.kind == kind, Task.subject_type == subject_type, Task.subject_id == subject_id)
    )
    if exists is not None:
        return None
    task = Task(
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        customer_id=customer_id,
        owner_id=owner_id,
        title=title,
        due_on=due_on,
    )
    session.add(task)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="task.created",
        entity_type="customer",
        entity_id=customer_id,
        changes={"task": task.id, "kind": kind, subject_type: subject_id},
    )
    return task


def open_tasks(session: Session, *, owner_id: int | None = None) -> list[Task]:
    query = select(Task).where(Task.status == "open")
    if owner_id is not None:
        query = query.where(Task.owner_id == owner_id)
    return list(session.scalars(query.order_by(Task.due_on, Task.id)))


def close_task(session: Session, *, task_id: int, actor: Actor, user_id: int, may_close_any: bool) -> Task:
    """The task's owner closes it; so may anyone who edits customers (a colleague covering)."""
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    if task.owner_id != user_id and not may_close_any:
        raise PermissionDenied("only the task's owner or someone who edits customers can close it")
    task.status = "done"
    audit.append(
        session,
        actor=actor,
        action="task.done",
        entity_type="customer",
        entity_id=task.customer_id,
        changes={"task": task.id},
    )
    return task
