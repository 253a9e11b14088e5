"""Behaviours found in review: no secrets in logs, no oracle on masked IDs, lockouts that cannot be raced or
used against others, edits that keep what the form does not show."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from riskdesk.audit.models import AuditEntry
from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container, configure_logging
from riskdesk.customers import importer
from riskdesk.errors import AuthenticationRequired, TooManyAttempts
from riskdesk.security import service as security
from riskdesk.security.permissions import Role
from tests.conftest import TEST_PASSWORD, company_payload, individual_payload, new_resident_id
from tests.security.test_auth import login

Headers = Callable[[Role], dict[str, str]]


@pytest.mark.parametrize("json_logs", [False, True])
def test_a_failed_request_logs_no_personal_data_keys_or_tokens(
    container: Container,
    token_for: Headers,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    json_logs: bool,
) -> None:
    from riskdesk.audit import service as audit_service
    from riskdesk.web.app import create_app

    client = TestClient(create_app(container), raise_server_exceptions=False)

    configure_logging(json_logs=json_logs)
    headers = token_for(Role.credit_officer)
    number = new_resident_id(born="1977-07-07")

    def broken_append(*args: object, **kwargs: object) -> None:
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(audit_service, "append", broken_append)
    response = client.post(
        "/api/v1/customers", json=individual_payload(id_number=number, phone="13566667777"), headers=headers
    )
    assert response.status_code == 500
    assert "nothing was saved" in response.json()["message"]
    logged = capsys.readouterr().out
    assert "RuntimeError" in logged  # the failure itself is logged ...
    for secret in (number, "13566667777", headers["Authorization"].split()[1], "riskdesk-dev-encryption-key"):
        assert secret not in logged  # ... but no value from the request's or the process's memory


def test_masked_readers_see_only_the_birth_year_and_cannot_search_exact_ids(
    client: TestClient, token_for: Headers
) -> None:
    officer, analyst = token_for(Role.credit_officer), token_for(Role.analyst)
    number = new_resident_id(born="1990-12-24")
    created = client.post("/api/v1/customers", json=individual_payload(id_number=number), headers=officer).json()
    seen = client.get(f"/api/v1/customers/{created['id']}", headers=analyst).json()
    assert seen["date_of_birth"] == "1990-**-**"
    assert client.get("/api/v1/customers", params={"q": number}, headers=analyst).json()["total"] == 0
    assert client.get("/api/v1/customers", params={"q": number}, headers=officer).json()["total"] == 1


def test_search_treats_like_wildcards_as_text(client: TestClient, token_for: Headers) -> None:
    officer = token_for(Role.credit_officer)
    client.post("/api/v1/customers", json=company_payload(name="百分之百_科技有限公司"), headers=officer)
    client.post("/api/v1/customers", json=company_payload(name="普通科技有限公司"), headers=officer)
    for needle, expected in (("_", 1), ("%", 0), ("百分之百_", 1)):
        assert client.get("/api/v1/customers", params={"q": needle}, headers=officer).json()["total"] == expected


def test_a_passport_number_is_found_by_exact_search(client: TestClient, token_for: Headers) -> None:
    officer = token_for(Role.credit_officer)
    created = client.post(
        "/api/v1/customers", json=individual_payload(id_type="passport", id_number="E12345678"), headers=officer
    ).json()
    found = client.get("/api/v1/customers", params={"q": "e1234 5678"}, headers=officer).json()["items"]
    assert [c["id"] for c in found] == [created["id"]]


def test_clearing_the_birth_date_of_a_resident_id_holder_keeps_the_one_in_the_number(
    client: TestClient, token_for: Headers
) -> None:
    officer = token_for(Role.credit_officer)
    created = client.post(
        "/api/v1/customers", json=individual_payload(id_number=new_resident_id(born="1981-01-31")), headers=officer
    ).json()
    response = client.patch(f"/api/v1/customers/{created['id']}", json={"date_of_birth": None}, headers=officer)
    assert response.status_code == 200
    assert response.json()["date_of_birth"] == "1981-01-31"


def test_editing_a_company_in_the_desk_keeps_contacts_the_form_does_not_show(
    client: TestClient, token_for: Headers, make_user: Callable[..., str]
) -> None:
    officer = token_for(Role.credit_officer)
    contacts = [
        {"name": "张伟", "title": "财务经理", "phone": "13912345678", "email": "zw@example.cn"},
        {"name": "王芳", "phone": "13700001111"},
    ]
    created = client.post("/api/v1/customers", json=company_payload(contacts=contacts), headers=officer).json()
    assert len(created["contacts"]) == 2, created
    status, _ = login(client, make_user(Role.analyst), TEST_PASSWORD)
    assert status == 303
    form = client.get(f"/customers/{created['id']}/edit").text
    values = dict(re.findall(r'<input name="([a-z_]+)" id="f-[a-z_]+" type="[a-z]+" value="([^"]*)"', form))
    values.update(
        status="suspended",
        csrf_token=re.findall(r'name="csrf_token" value="([^"]+)"', form)[0],
        version="1",
        country="CN",
        size="",
        industry_code=created["industry_code"],
    )
    response = client.post(f"/customers/{created['id']}/edit", data=values, follow_redirects=False)
    assert response.status_code == 303, response.text
    after = client.get(f"/api/v1/customers/{created['id']}", headers=officer).json()
    assert after["status"] == "suspended"
    assert [(c["name"], c["phone"], c["email"]) for c in after["contacts"]] == [
        ("张伟", "13912345678", "zw@example.cn"),
        ("王芳", "13700001111", None),
    ]
    changed = client.get(f"/api/v1/customers/{created['id']}/timeline", headers=officer).json()[0]["changes"]
    assert "contacts" not in changed


@pytest.fixture
def user(make_user: Callable[..., str]) -> str:
    return make_user(Role.analyst)


def attempt(container: Container, username: str, password: str, ip: str) -> None:
    with container.session_factory() as session:
        try:
            security.authenticate(
                session,
                username=username,
                password=password,
                passwords=container.passwords,
                client_ip=ip,
                max_failures=3,
                lockout_minutes=15,
            )
        finally:
            session.commit()


def test_a_lockout_from_one_address_does_not_lock_out_the_user_elsewhere(container: Container, user: str) -> None:
    for _ in range(3):
        with pytest.raises(AuthenticationRequired):
            attempt(container, user, "wrong-password", "203.0.113.9")
    with pytest.raises(TooManyAttempts):
        attempt(container, user, TEST_PASSWORD, "203.0.113.9")
    attempt(container, user, TEST_PASSWORD, "198.51.100.7")


def test_guessing_from_many_addresses_locks_the_name_everywhere(container: Container, user: str) -> None:
    for number in range(12):
        with pytest.raises(AuthenticationRequired):
            attempt(container, user, "wrong-password", f"203.0.113.{number}")
    with pytest.raises(TooManyAttempts):
        attempt(container, user, TEST_PASSWORD, "198.51.100.7")


def test_a_mistyped_name_is_not_kept_in_the_ledger(container: Container) -> None:
    with pytest.raises(AuthenticationRequired):
        attempt(container, "MySecretPassw0rd!", "whatever-password", "203.0.113.1")
    with container.session_factory() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "login.failed"))
        assert entry is not None
        assert "mysecretpassw0rd" not in (entry.actor + entry.entity_id + entry.changes).lower()


def test_changing_a_password_signs_browsers_out(client: TestClient, container: Container, user: str) -> None:
    login(client, user, TEST_PASSWORD)
    assert client.get("/customers", follow_redirects=False).status_code == 200
    with container.session_factory.begin() as session:
        security.change_password(
            session,
            username=user,
            password="another-long-password",
            passwords=container.passwords,
            min_length=8,
            actor=Actor("admin"),
        )
    assert client.get("/customers", follow_redirects=False).status_code == 303


def test_admins_cannot_deactivate_themselves_in_any_spelling(client: TestClient, make_user: Callable[..., str]) -> None:
    admin = make_user(Role.admin)
    login(client, admin, TEST_PASSWORD)
    page = client.get("/admin/users").text
    csrf = re.findall(r'name="csrf_token" value="([^"]+)"', page)[0]
    response = client.post(f"/admin/users/{admin.upper()}/active", data={"csrf_token": csrf, "active": "0"})
    assert response.status_code == 422
    assert client.get("/customers", follow_redirects=False).status_code == 200


def test_a_streamed_body_over_the_limit_is_413(client: TestClient, token_for: Headers) -> None:
    headers = {**token_for(Role.analyst), "content-type": "application/json"}

    def chunks() -> Iterator[bytes]:
        yield b'{"kind": "company", "name": "'
        for _ in range(300):
            yield b"x" * 4096
        yield b'"}'

    response = client.post("/api/v1/customers", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"


def test_jsonl_lines_may_hold_unicode_line_separators(container: Container) -> None:
    rows = [json.dumps(company_payload(name="甲\u2028乙有限公司"), ensure_ascii=False), json.dumps(company_payload())]
    valid, errors, count = importer.parse("\n".join(rows).encode(), filename="x.jsonl")
    assert (len(valid), errors, count) == (2, [], 2)


def test_the_openapi_example_is_a_valid_customer(client: TestClient) -> None:
    from riskdesk.customers.api import _CREATE_EXAMPLE
    from riskdesk.customers.schemas import CUSTOMER_CREATE

    CUSTOMER_CREATE.validate_python(_CREATE_EXAMPLE)
