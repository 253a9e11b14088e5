"""Maker-checker: a credit officer proposes, an approver of a high enough level decides, never their own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.credit import proposals
from riskdesk.errors import PermissionDenied
from riskdesk.security import service as security
from riskdesk.security.permissions import Role
from tests.conftest import company_payload

Headers = Callable[[Role], dict[str, str]]


def proposal(amount: str = "2000000", **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "grade": "4",
        "limit_amount": amount,
        "payment_days": 60,
        "effective_from": date.today().isoformat(),
        "expires_on": (date.today() + timedelta(days=365)).isoformat(),
        "rationale": "solid statements",
    }
    body.update(changes)
    return body


def approver_with(container: Container, make_user: Callable[..., str], level: int | None) -> dict[str, str]:
    name = make_user(Role.approver)
    with container.session_factory.begin() as session:
        security.set_approval_level(session, username=name, level=level, actor=Actor("admin"))
        _, secret = security.create_token(
            session, username=name, days=1, actor=Actor("test"), pepper=container.token_pepper
        )
    return {"Authorization": f"Bearer {secret}"}


def test_an_approved_proposal_becomes_the_limit(
    client: TestClient, container: Container, token_for: Headers, make_user: Callable[..., str]
) -> None:
    officer = token_for(Role.credit_officer)
    customer = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()
    made = client.post(f"/api/v1/customers/{customer['id']}/credit-proposals", json=proposal(), headers=officer)
    assert made.status_code == 201, made.text
    inbox = client.get("/api/v1/credit-proposals", headers=officer).json()
    assert [p["id"] for p in inbox] == [made.json()["id"]]
    small = approver_with(container, make_user, 1)
    refused = client.post(
        f"/api/v1/credit-proposals/{made.json()['id']}/decision",
        headers=small,
        json={"decision": "approve", "reason": "fine"},
    )
    assert refused.status_code == 403
    assert "needs approval level 2 (head of risk); yours is 1" in refused.json()["message"]
    big = approver_with(container, make_user, 2)
    approved = client.post(
        f"/api/v1/credit-proposals/{made.json()['id']}/decision",
        headers=big,
        json={"decision": "approve", "reason": "within policy"},
    )
    assert approved.json()["status"] == "approved"
    limit = client.get(f"/api/v1/customers/{customer['id']}/credit-limit", headers=officer).json()
    assert (limit["amount"], limit["grade"], limit["payment_days"]) == ("2000000.00", "4", 60)
    again = client.post(
        f"/api/v1/credit-proposals/{made.json()['id']}/decision",
        headers=big,
        json={"decision": "reject", "reason": "too late"},
    )
    assert again.status_code == 409
    actions = [e["action"] for e in client.get(f"/api/v1/customers/{customer['id']}/timeline", headers=officer).json()]
    assert actions[:2] == ["credit.approved", "credit.proposed"]


def test_nobody_decides_on_their_own_proposal(container: Container, make_user: Callable[..., str]) -> None:
    name = make_user(Role.approver)
    with container.session_factory.begin() as session:
        security.set_approval_level(session, username=name, level=3, actor=Actor("admin"))
        from riskdesk.customers import service as customers
        from riskdesk.customers.schemas import CUSTOMER_CREATE

        customer = customers.create_customer(
            session,
            data=CUSTOMER_CREATE.validate_python(company_payload()),
            keyring=container.keyring,
            actor=Actor("x"),
        )
        made = proposals.propose(
            session, customer_id=customer.id, data=proposals.ProposalIn.model_validate(proposal()), actor=Actor(name)
        )
        with pytest.raises(PermissionDenied, match="own proposal"):
            proposals.decide(
                session,
                proposal_id=made.id,
                decision="approve",
                reason="looks fine",
                policy=container.credit_policy,
                actor=Actor(name),
            )


def test_bad_proposals_are_refused(client: TestClient, token_for: Headers) -> None:
    officer = token_for(Role.credit_officer)
    customer = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()
    url = f"/api/v1/customers/{customer['id']}/credit-proposals"
    backwards = client.post(url, headers=officer, json=proposal(expires_on=date.today().isoformat()))
    assert backwards.status_code == 422
    assert client.post(url, headers=officer, json=proposal(amount="-1")).status_code == 422
    assert client.post(url, headers=officer, json=proposal()).status_code == 201
    second = client.post(url, headers=officer, json=proposal())
    assert second.status_code == 409
    assert "still awaiting" in second.json()["message"]
    assert client.post(url, headers=token_for(Role.analyst), json=proposal()).status_code == 403


def test_a_limit_about_to_expire_opens_one_review_task(
    client: TestClient, container: Container, token_for: Headers, make_user: Callable[..., str]
) -> None:
    officer = token_for(Role.credit_officer)
    customer = client.post(
        "/api/v1/customers", json=company_payload(owner=make_user(Role.credit_officer)), headers=officer
    ).json()
    made = client.post(
        f"/api/v1/customers/{customer['id']}/credit-proposals",
        headers=officer,
        json=proposal(
            effective_from=(date.today() - timedelta(days=340)).isoformat(),
            expires_on=(date.today() + timedelta(days=20)).isoformat(),
        ),
    ).json()
    client.post(
        f"/api/v1/credit-proposals/{made['id']}/decision",
        headers=approver_with(container, make_user, 3),
        json={"decision": "approve", "reason": "renewal due"},
    )
    with container.session_factory.begin() as session:
        assert proposals.open_reviews(session, today=date.today(), actor=Actor("cron")) == 1
        assert proposals.open_reviews(session, today=date.today(), actor=Actor("cron")) == 0
    tasks = client.get("/api/v1/tasks", params={"everyone": True}, headers=officer).json()
    assert [t["kind"] for t in tasks] == ["limit_review"]


def test_the_approvals_inbox_in_chinese(
    client: TestClient, container: Container, token_for: Headers, make_user: Callable[..., str]
) -> None:
    import re

    from tests.conftest import TEST_PASSWORD
    from tests.security.test_auth import login

    officer = token_for(Role.credit_officer)
    customer = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()
    client.post(f"/api/v1/customers/{customer['id']}/credit-proposals", json=proposal(), headers=officer)
    name = make_user(Role.approver)
    with container.session_factory.begin() as session:
        security.set_approval_level(session, username=name, level=3, actor=Actor("admin"))
    login(client, name, TEST_PASSWORD)
    client.cookies.set("rd_lang", "zh")
    page = client.get("/approvals").text
    assert "审批" in page and customer["name"] in page
    proposal_id = re.findall(r'action="/approvals/(\d+)"', page)[0]
    csrf = re.findall(r'name="csrf_token" value="([^"]+)"', page)[0]
    done = client.post(
        f"/approvals/{proposal_id}",
        data={"csrf_token": csrf, "decision": "approve", "reason": "符合政策"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "符合政策" in client.get("/approvals").text
