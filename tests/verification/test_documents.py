"""Documents: content sniffed, stored by hash in the configured folder, refused with reasons, expiry as tasks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from riskdesk.bootstrap import Container
from riskdesk.security.permissions import Role
from riskdesk.verification.documents import safe_file_name
from tests.conftest import company_payload

Headers = Callable[[Role], dict[str, str]]
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def customer(client: TestClient, headers: dict[str, str], owner: str | None = None) -> int:
    response = client.post("/api/v1/customers", json=company_payload(owner=owner), headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def upload(
    client: TestClient, headers: dict[str, str], customer_id: int, content: bytes, name: str, **fields: str
) -> object:
    return client.post(
        f"/api/v1/customers/{customer_id}/documents",
        headers=headers,
        data={"doc_type": "business_licence", **fields},
        files={"file": (name, content, "application/octet-stream")},
    )


def test_a_document_is_stored_under_its_hash_with_its_sniffed_type(
    client: TestClient, container: Container, token_for: Headers
) -> None:
    headers = token_for(Role.analyst)
    customer_id = customer(client, headers)
    response = upload(client, headers, customer_id, PDF, "../../etc/营业执照.exe", issuer="杭州市市场监督管理局")
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    digest = hashlib.sha256(PDF).hexdigest()
    assert (body["content_type"], body["sha256"], body["file_name"]) == ("application/pdf", digest, "营业执照.exe")
    stored = container.settings.resolved_documents_dir / digest[:2] / f"{digest}.pdf"
    assert stored.read_bytes() == PDF
    download = client.get(f"/api/v1/documents/{body['id']}/content", headers=headers)
    assert (download.status_code, download.content) == (200, PDF)


@pytest.mark.parametrize(
    ("content", "name", "reason"),
    [
        (b"MZ\x90\x00 this is a program", "licence.pdf", "not a PDF"),
        (b"", "empty.pdf", "empty"),
        (b"<html><script>", "page.png", "not a PDF"),
    ],
)
def test_unreadable_documents_are_refused_with_the_reason(
    client: TestClient, token_for: Headers, content: bytes, name: str, reason: str
) -> None:
    headers = token_for(Role.analyst)
    response = upload(client, headers, customer(client, headers), content, name)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert reason in response.json()["message"]  # type: ignore[attr-defined]


def test_an_oversized_document_is_refused(container: Container, token_for: Headers) -> None:
    from riskdesk.web.app import create_app

    headers = token_for(Role.analyst)
    small = Container(settings=container.settings.model_copy(update={"max_upload_bytes": 4096}))
    with TestClient(create_app(small)) as limited:
        customer_id = customer(limited, headers)
        response = upload(limited, headers, customer_id, PNG + b"\x00" * 8000, "scan.png")
    assert response.status_code == 413  # type: ignore[attr-defined]


def test_id_copies_need_the_personal_data_permission(client: TestClient, token_for: Headers) -> None:
    officer, approver = token_for(Role.credit_officer), token_for(Role.approver)
    customer_id = customer(client, officer)
    document = upload(client, officer, customer_id, PNG, "id.png", doc_type="id_copy").json()  # type: ignore[attr-defined]
    assert client.get(f"/api/v1/documents/{document['id']}/content", headers=approver).status_code == 403
    assert client.get(f"/api/v1/documents/{document['id']}/content", headers=officer).status_code == 200


def test_a_document_expiring_within_30_days_creates_one_task_for_the_owner(
    client: TestClient, token_for: Headers, make_user: Callable[..., str]
) -> None:
    headers = token_for(Role.credit_officer)
    owner = make_user(Role.analyst)
    customer_id = customer(client, headers, owner=owner)
    soon = (date.today() + timedelta(days=10)).isoformat()
    later = (date.today() + timedelta(days=200)).isoformat()
    upload(client, headers, customer_id, PDF, "licence.pdf", expires_on=soon)
    upload(client, headers, customer_id, PNG, "contract.png", expires_on=later, doc_type="contract")
    tasks = client.get("/api/v1/tasks", params={"everyone": True}, headers=headers).json()
    assert [(t["customer_id"], t["due_on"]) for t in tasks] == [(customer_id, soon)]
    assert "obtain a current one" in tasks[0]["title"]
    upload(
        client,
        headers,
        customer_id,
        PDF + b" ",
        "licence-2.pdf",
        expires_on=(date.today() + timedelta(days=400)).isoformat(),
    )
    assert len(client.get("/api/v1/tasks", params={"everyone": True}, headers=headers).json()) == 1


def test_expiry_before_issue_is_refused(client: TestClient, token_for: Headers) -> None:
    headers = token_for(Role.analyst)
    response = upload(
        client, headers, customer(client, headers), PDF, "x.pdf", issued_on="2026-05-01", expires_on="2025-05-01"
    )
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert response.json()["details"][0]["field"] == "expires_on"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../a.pdf", "a.pdf"),
        ("C:\\x\\b.pdf", "b.pdf"),
        ("..", "document"),
        ("a<b>.pdf", "a_b_.pdf"),
        ("bell\x07.pdf", "bell.pdf"),
    ],
)
def test_file_names_are_made_safe(raw: str, safe: str) -> None:
    assert safe_file_name(raw) == safe


def test_documents_live_in_the_configured_folder(tmp_path: Path, container: Container) -> None:
    moved = container.settings.model_copy(update={"documents_dir": tmp_path / "vault"})
    assert moved.resolved_documents_dir == tmp_path / "vault"


def test_only_the_owner_or_a_customer_editor_closes_a_task(
    client: TestClient, token_for: Headers, make_user: Callable[..., str]
) -> None:
    import re

    from tests.conftest import TEST_PASSWORD
    from tests.security.test_auth import login

    headers = token_for(Role.credit_officer)
    customer_id = customer(client, headers, owner=make_user(Role.analyst))
    upload(client, headers, customer_id, PDF, "licence.pdf", expires_on=(date.today() + timedelta(days=5)).isoformat())
    [task] = client.get("/api/v1/tasks", params={"everyone": True}, headers=headers).json()
    login(client, make_user(Role.approver), TEST_PASSWORD)
    page = client.get("/tasks?everyone=true").text
    csrf = re.findall(r'name="csrf_token" value="([^"]+)"', page)[0]
    assert client.post(f"/tasks/{task['id']}/done", data={"csrf_token": csrf}).status_code == 403
    assert len(client.get("/api/v1/tasks", params={"everyone": True}, headers=headers).json()) == 1


def test_the_customer_page_uploads_inline_and_shows_refusals_in_place(
    client: TestClient, token_for: Headers, make_user: Callable[..., str]
) -> None:
    import re

    from tests.conftest import TEST_PASSWORD
    from tests.security.test_auth import login

    customer_id = customer(client, token_for(Role.credit_officer))
    login(client, make_user(Role.analyst), TEST_PASSWORD)
    client.cookies.set("rd_lang", "en")
    section = client.get(f"/customers/{customer_id}/documents").text
    csrf = re.findall(r'name="csrf_token" value="([^"]+)"', section)[0]
    htmx = {"HX-Request": "true", "X-CSRF-Token": csrf}
    refused = client.post(
        f"/customers/{customer_id}/documents",
        headers=htmx,
        data={"doc_type": "contract"},
        files={"file": ("virus.pdf", b"MZ\x90\x00", "application/pdf")},
    )
    assert refused.status_code == 200
    assert 'role="alert"' in refused.text and "not a PDF" in refused.text
    stored = client.post(
        f"/customers/{customer_id}/documents",
        headers=htmx,
        data={"doc_type": "contract"},
        files={"file": ("contract.pdf", PDF, "application/pdf")},
    )
    assert 'data-testid="documents"' in stored.text and "contract.pdf" in stored.text
