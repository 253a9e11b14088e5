"""Passwords, tokens, web sessions, CSRF and the failed-login limit."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from riskdesk.audit.models import AuditEntry
from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.db.types import utcnow
from riskdesk.security import service as security
from riskdesk.security.models import ApiToken, User
from riskdesk.security.permissions import Role
from tests.conftest import TEST_PASSWORD, company_payload


def login(client: TestClient, username: str, password: str) -> tuple[int, str]:
    form = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    assert token is not None
    response = client.post(
        "/login",
        data={"username": username, "password": password, "login_csrf": token.group(1), "next": "/customers"},
        follow_redirects=False,
    )
    return response.status_code, response.text


def test_passwords_are_stored_as_argon2id(container: Container, make_user: Callable[..., str]) -> None:
    name = make_user(Role.analyst)
    with container.session_factory() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == name))
    assert stored is not None and stored.startswith("$argon2id$")
    assert TEST_PASSWORD not in stored


def test_web_login_sets_a_session_cookie_and_opens_the_desk(client: TestClient, make_user: Callable[..., str]) -> None:
    name = make_user(Role.analyst)
    status, _ = login(client, name, TEST_PASSWORD)
    assert status == 303
    page = client.get("/customers")
    assert page.status_code == 200
    assert name in page.text


def test_pages_redirect_to_login_without_a_session(client: TestClient) -> None:
    response = client.get("/customers?q=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/customers%3Fq%3Dx"


def test_login_refuses_a_form_without_its_csrf_token(client: TestClient, make_user: Callable[..., str]) -> None:
    name = make_user(Role.analyst)
    client.get("/login")
    response = client.post("/login", data={"username": name, "password": TEST_PASSWORD, "login_csrf": "forged"})
    assert response.status_code == 403


def test_page_posts_without_the_session_csrf_token_are_refused(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    name = make_user(Role.credit_officer)
    login(client, name, TEST_PASSWORD)
    response = client.post("/customers/new?kind=company", data={"name": "x"})
    assert response.status_code == 403
    assert "CSRF" in response.text


def test_failed_logins_are_limited_and_written_to_the_ledger(
    client: TestClient, container: Container, make_user: Callable[..., str]
) -> None:
    name = make_user(Role.analyst)
    for _ in range(3):
        assert login(client, name, "wrong-password")[0] == 401
    status, _ = login(client, name, TEST_PASSWORD)  # even the right password waits out the lockout
    assert status == 429
    with container.session_factory() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == name)))
    assert actions.count("login.failed") == 3
    assert "login.succeeded" not in actions


def test_unknown_user_fails_like_a_wrong_password(client: TestClient) -> None:
    status, text = login(client, "nobody", "whatever-password")
    assert status == 401
    assert "wrong" in text.lower() or "错误" in text


def test_logout_ends_the_session(client: TestClient, make_user: Callable[..., str]) -> None:
    name = make_user(Role.analyst)
    login(client, name, TEST_PASSWORD)
    page = client.get("/customers")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    cookie = client.cookies.get("rd_session")
    client.post("/logout", data={"csrf_token": csrf.group(1)}, follow_redirects=False)
    client.cookies.set("rd_session", cookie or "")
    assert client.get("/customers", follow_redirects=False).status_code == 303


def test_tokens_are_stored_hashed_and_stop_working_when_revoked(
    client: TestClient, container: Container, make_user: Callable[..., str]
) -> None:
    name = make_user(Role.analyst)
    with container.session_factory.begin() as session:
        token, secret = security.create_token(
            session, username=name, days=1, actor=Actor("test"), pepper=container.token_pepper
        )
        token_id = token.id
    with container.session_factory() as session:
        stored = session.get(ApiToken, token_id)
        assert stored is not None and secret not in (stored.token_hash, stored.prefix)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).json()["username"] == name
    with container.session_factory.begin() as session:
        security.revoke_token(session, token_id=token_id, actor=Actor("test"))
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["message"]


def test_expired_tokens_are_refused(client: TestClient, container: Container, make_user: Callable[..., str]) -> None:
    name = make_user(Role.analyst)
    with container.session_factory.begin() as session:
        token, secret = security.create_token(
            session, username=name, days=1, actor=Actor("test"), pepper=container.token_pepper
        )
        session.execute(
            update(ApiToken).where(ApiToken.id == token.id).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_deactivated_users_lose_their_tokens(
    client: TestClient, container: Container, make_user: Callable[..., str]
) -> None:
    name = make_user(Role.analyst)
    with container.session_factory.begin() as session:
        _, secret = security.create_token(
            session, username=name, days=1, actor=Actor("test"), pepper=container.token_pepper
        )
        security.set_active(session, username=name, active=False, actor=Actor("admin"))
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_admin_creates_users_over_the_api_and_the_ledger_records_it(
    client: TestClient, container: Container, token_for: Callable[[Role], dict[str, str]]
) -> None:
    admin = token_for(Role.admin)
    response = client.post(
        "/api/v1/users", json={"username": "newbie", "role": "approver", "password": "long-enough-pw"}, headers=admin
    )
    assert response.status_code == 201
    assert "customers:read" in response.json()["permissions"]
    weak = client.post(
        "/api/v1/users", json={"username": "weak", "role": "approver", "password": "short"}, headers=admin
    )
    assert weak.status_code == 422
    with container.session_factory() as session:
        entry = session.scalar(
            select(AuditEntry).where(AuditEntry.action == "user.created").order_by(AuditEntry.seq.desc())
        )
        assert entry is not None and json.loads(entry.changes) == {"username": "newbie", "role": "approver"}


def test_bearer_token_with_wrong_scheme_gets_a_hint(client: TestClient) -> None:
    response = client.get("/api/v1/customers", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert "Bearer" in response.json()["message"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_customer_creation_records_the_actor(
    client: TestClient, container: Container, token_for: Callable[[Role], dict[str, str]]
) -> None:
    headers = token_for(Role.analyst)
    created = client.post("/api/v1/customers", json=company_payload(), headers=headers).json()
    timeline = client.get(f"/api/v1/customers/{created['id']}/timeline", headers=headers).json()
    me = client.get("/api/v1/me", headers=headers).json()["username"]
    assert timeline[0]["actor"] == me
