"""Exposure, exchange rates, group limits and credit checks: approve or hold, idempotent, blocks released by an
approver of the right level."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.credit import proposals
from riskdesk.security import service as security
from riskdesk.security.permissions import Role
from tests.conftest import company_payload

Headers = Callable[[Role], dict[str, str]]
TODAY = date.today()


@pytest.fixture
def officer(token_for: Headers) -> dict[str, str]:
    return token_for(Role.credit_officer)


@pytest.fixture
def approver(container: Container, make_user: Callable[..., str]) -> Callable[[int], dict[str, str]]:
    def _headers(level: int) -> dict[str, str]:
        name = make_user(Role.approver)
        with container.session_factory.begin() as session:
            security.set_approval_level(session, username=name, level=level, actor=Actor("admin"))
            _, secret = security.create_token(
                session, username=name, days=1, actor=Actor("test"), pepper=container.token_pepper
            )
        return {"Authorization": f"Bearer {secret}"}

    return _headers


def customer_with_limit(
    client: TestClient,
    container: Container,
    headers: dict[str, str],
    amount: str,
    *,
    grade: str = "4",
    currency: str = "CNY",
    conditions: list[str] | None = None,
    **payload: Any,
) -> int:
    customer = client.post("/api/v1/customers", json=company_payload(**payload), headers=headers).json()
    made = client.post(
        f"/api/v1/customers/{customer['id']}/credit-proposals",
        headers=headers,
        json={
            "grade": grade,
            "limit_amount": amount,
            "currency": currency,
            "payment_days": 60,
            "conditions": conditions or [],
            "effective_from": (TODAY - timedelta(days=1)).isoformat(),
            "expires_on": (TODAY + timedelta(days=365)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    with container.session_factory.begin() as session:
        security.create_user(
            session,
            username=f"committee{customer['id']}",
            role=Role.approver,
            password="correct horse battery",
            passwords=container.passwords,
            min_length=8,
            actor=Actor("test"),
        )
        security.set_approval_level(session, username=f"committee{customer['id']}", level=3, actor=Actor("test"))
        proposals.decide(
            session,
            proposal_id=made.json()["id"],
            decision="approve",
            reason="within policy",
            policy=container.credit_policy,
            actor=Actor(f"committee{customer['id']}"),
        )
    return int(customer["id"])


def items(client: TestClient, headers: dict[str, str], *rows: dict[str, Any], expect: int = 200) -> Any:
    response = client.put("/api/v1/exposure-items", headers=headers, json={"items": list(rows)})
    assert response.status_code == expect, response.text
    return response


def item(customer_id: int, kind: str, reference: str, amount: str, **more: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "kind": kind,
        "reference": reference,
        "currency": "CNY",
        "open_amount": amount,
        "document_date": (TODAY - timedelta(days=120)).isoformat(),
        **more,
    }


def check(
    client: TestClient, headers: dict[str, str], customer_id: int, amount: str, reference: str, **more: Any
) -> Any:
    body = {"customer_id": customer_id, "amount": amount, "currency": "CNY", "reference": reference, **more}
    return client.post("/api/v1/credit-checks", headers=headers, json=body)


def test_exposure_in_buckets_with_utilisation(
    client: TestClient, container: Container, officer: dict[str, str]
) -> None:
    customer = customer_with_limit(client, container, officer, "1000000")
    client.put(
        "/api/v1/fx-rates",
        headers=officer,
        json={"rates": [{"currency": "USD", "rate": "7.1", "valid_on": TODAY.isoformat(), "source": "PBOC"}]},
    )
    recorded = items(
        client,
        officer,
        item(customer, "order", "SO-1", "100000"),
        item(customer, "delivery", "DN-1", "50000"),
        item(customer, "invoice", "INV-1", "10000", currency="USD", due_on=(TODAY + timedelta(days=5)).isoformat()),
        item(customer, "invoice", "INV-2", "40000", due_on=(TODAY - timedelta(days=35)).isoformat()),
    )
    assert recorded.json() == {"created": 4, "updated": 0, "unchanged": 0}
    body = client.get(f"/api/v1/customers/{customer}/exposure", headers=officer).json()
    assert body["buckets"]["orders"] == "100000.00"
    assert body["buckets"]["invoices_not_due"] == "71000.00"
    assert body["buckets"]["overdue_31_60"] == "40000.00"
    assert (body["total"], body["utilisation"], body["max_days_past_due"]) == ("261000.00", "0.2610", 35)
    again = items(client, officer, item(customer, "order", "SO-1", "0"), item(customer, "delivery", "DN-1", "50000"))
    assert again.json() == {"created": 0, "updated": 1, "unchanged": 1}
    assert client.get(f"/api/v1/customers/{customer}/exposure", headers=officer).json()["total"] == "161000.00"


def test_bad_exposure_batches_are_refused_whole(
    client: TestClient, container: Container, officer: dict[str, str]
) -> None:
    customer = customer_with_limit(client, container, officer, "1000000")
    other = customer_with_limit(client, container, officer, "1000000")
    assert items(client, officer, item(customer, "order", "SO-9", "10")).status_code == 200
    cases = [
        ([item(customer, "order", "SO-10", "10"), item(999999, "order", "SO-11", "10")], 404, "customer 999999"),
        ([item(customer, "order", "SO-12", "10", currency="JPY")], 422, "no exchange rate for JPY"),
        ([item(customer, "invoice", "INV-9", "10")], 422, "due date"),
        ([item(customer, "order", "SO-13", "-5")], 422, "open_amount"),
        ([item(customer, "order", "SO-14", "1"), item(customer, "order", "SO-14", "2")], 422, "twice"),
        (
            [item(customer, "order", "SO-15", "1"), item(other, "order", "SO-9", "10")],
            409,
            f"belongs to customer {customer}",
        ),
    ]
    for rows, status, message in cases:
        refused = items(client, officer, *rows, expect=status)
        assert message in refused.text
    body = client.get(f"/api/v1/customers/{customer}/exposure", headers=officer).json()
    assert body["buckets"]["orders"] == "10.00"  # nothing of the refused batches was stored


def test_a_check_within_the_limit_is_approved_and_reserves_its_amount(
    client: TestClient, container: Container, officer: dict[str, str]
) -> None:
    customer = customer_with_limit(client, container, officer, "100000")
    first = check(client, officer, customer, "60000", "SO-100")
    assert first.status_code == 201
    assert (first.json()["decision"], first.json()["reasons"]) == ("approve", [])
    # A second order checked before the first one arrives cannot pass on the same headroom.
    second = check(client, officer, customer, "60000", "SO-101")
    assert second.json()["decision"] == "hold"
    assert [r["code"] for r in second.json()["reasons"]] == ["over_limit"]
    assert "over the limit by 20,000.00 CNY" in second.json()["reasons"][0]["en"]
    assert "超出信用额度" in second.json()["reasons"][0]["zh"]
    # When the order arrives its open item replaces the reservation: not counted twice.
    items(client, officer, item(customer, "order", "SO-100", "60000"))
    body = client.get(f"/api/v1/customers/{customer}/exposure", headers=officer).json()
    assert (body["buckets"]["orders"], body["buckets"]["reserved"]) == ("60000.00", "0.00")


def test_checks_are_idempotent_by_reference_and_revision(
    client: TestClient, container: Container, officer: dict[str, str]
) -> None:
    customer = customer_with_limit(client, container, officer, "100000")
    first = check(client, officer, customer, "30000", "SO-200")
    replay = check(client, officer, customer, "30000", "SO-200")
    assert replay.status_code == 200
    assert replay.json()["id"] == first.json()["id"]
    assert replay.json()["replayed"] is True
    changed = check(client, officer, customer, "90000", "SO-200")
    assert changed.status_code == 409
    assert "send revision 2" in changed.json()["message"]
    # The changed order as revision 2 is checked again; its own earlier reservation is not counted on top.
    revised = check(client, officer, customer, "90000", "SO-200", revision=2)
    assert revised.status_code == 201
    assert revised.json()["decision"] == "approve"
    assert revised.json()["snapshot"]["exposure_total"] == "0.00"
    checks = client.get(f"/api/v1/credit-checks?status=approved&customer_id={customer}", headers=officer).json()
    assert sorted(c["revision"] for c in checks) == [1, 2]


def test_a_reopened_order_is_checked_against_todays_exposure(
    client: TestClient, container: Container, officer: dict[str, str]
) -> None:
    customer = customer_with_limit(client, container, officer, "100000")
    assert check(client, officer, customer, "50000", "SO-300").json()["decision"] == "approve"
    items(client, officer, item(customer, "order", "SO-300", "50000"), item(customer, "order", "SO-301", "45000"))
    # A copy of SO-300 is a new order: it is checked, and the exposure of both open orders counts.
    copy = check(client, officer, customer, "50000", "SO-302")
    assert copy.json()["decision"] == "hold"
    # Re-opening SO-300 (revision 2) replaces its own open amount: 45,000 + 50,000 is within 100,000.
    reopened = check(client, officer, customer, "50000", "SO-300", revision=2)
    assert reopened.json()["decision"] == "approve"


def test_holds_name_every_reason(client: TestClient, container: Container, officer: dict[str, str]) -> None:
    overdue = customer_with_limit(client, container, officer, "100000")
    items(client, officer, item(overdue, "invoice", "INV-400", "1000", due_on=(TODAY - timedelta(days=45)).isoformat()))
    held = check(client, officer, overdue, "1000", "SO-400").json()
    assert [r["code"] for r in held["reasons"]] == ["overdue"]
    assert "45 days overdue" in held["reasons"][0]["en"]
    prepay = customer_with_limit(client, container, officer, "100000", grade="9", conditions=["prepayment"])
    assert [r["code"] for r in check(client, officer, prepay, "10", "SO-401").json()["reasons"]] == [
        "grade_below_policy"
    ]
    suspended = customer_with_limit(client, container, officer, "100000", status="suspended")
    assert [r["code"] for r in check(client, officer, suspended, "10", "SO-402").json()["reasons"]] == [
        "customer_not_active"
    ]
    no_limit = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()["id"]
    assert [r["code"] for r in check(client, officer, no_limit, "10", "SO-403").json()["reasons"]] == ["no_limit"]


def test_bad_checks_are_errors_not_holds(client: TestClient, container: Container, officer: dict[str, str]) -> None:
    customer = customer_with_limit(client, container, officer, "100000")
    unknown = check(client, officer, 999999, "10", "SO-500")
    assert unknown.status_code == 404
    no_rate = check(client, officer, customer, "10", "SO-501", currency="JPY")
    assert no_rate.status_code == 422
    assert "no exchange rate for JPY" in no_rate.json()["message"]
    assert check(client, officer, customer, "0", "SO-502").status_code == 422
    assert check(client, officer, customer, "10", "bad reference!").status_code == 422
    assert client.get(f"/api/v1/credit-checks?status=held&customer_id={customer}", headers=officer).json() == []


def test_an_approver_of_the_right_level_releases_a_block(
    client: TestClient, container: Container, officer: dict[str, str], approver: Callable[[int], dict[str, str]]
) -> None:
    customer = customer_with_limit(client, container, officer, "900000")
    items(client, officer, item(customer, "delivery", "DN-600", "850000"))
    held = check(client, officer, customer, "200000", "SO-600").json()
    assert held["status"] == "held"
    queue = client.get("/api/v1/credit-checks", headers=officer).json()
    assert held["id"] in [c["id"] for c in queue]
    url = f"/api/v1/credit-checks/{held['id']}/decision"
    # 1,050,000 CNY after the order is above level 1's ceiling of 1,000,000.
    low = client.post(url, headers=approver(1), json={"decision": "release", "reason": "big customer"})
    assert low.status_code == 403
    assert "needs approval level 2" in low.json()["message"]
    released = client.post(url, headers=approver(2), json={"decision": "release", "reason": "guarantee received"})
    assert (released.json()["status"], released.json()["decision"]) == ("released", "approve")
    twice = client.post(url, headers=approver(2), json={"decision": "reject", "reason": "changed my mind"})
    assert twice.status_code == 409
    actions = [e["action"] for e in client.get(f"/api/v1/customers/{customer}/timeline", headers=officer).json()]
    assert actions[:2] == ["credit.block_released", "credit.check_held"]


def test_a_group_limit_caps_the_members_together(
    client: TestClient, container: Container, officer: dict[str, str], approver: Callable[[int], dict[str, str]]
) -> None:
    group = client.post("/api/v1/customer-groups", headers=officer, json={"name": "测试集团"}).json()["id"]
    first = customer_with_limit(client, container, officer, "500000", group_id=group)
    second = customer_with_limit(client, container, officer, "500000", group_id=group)
    body = {"amount": "600000", "currency": "CNY", "expires_on": (TODAY + timedelta(days=200)).isoformat()}
    assert (
        client.put(
            f"/api/v1/customer-groups/{group}/credit-limit", headers=officer, json=body | {"reason": "x" * 5}
        ).status_code
        == 403
    )
    set_limit = client.put(
        f"/api/v1/customer-groups/{group}/credit-limit", headers=approver(2), json=body | {"reason": "group review"}
    )
    assert set_limit.status_code == 200, set_limit.text
    items(client, officer, item(first, "delivery", "DN-700", "400000"))
    held = check(client, officer, second, "300000", "SO-700").json()
    assert [r["code"] for r in held["reasons"]] == ["group_over_limit"]
    assert "100,000.00 CNY" in held["reasons"][0]["en"]
    group_body = client.get(f"/api/v1/customer-groups/{group}/exposure", headers=officer).json()
    assert (group_body["total"], group_body["limit"]) == ("400000.00", "600000.00")


def test_approval_levels_count_the_group_and_the_grade(
    client: TestClient, container: Container, officer: dict[str, str], approver: Callable[[int], dict[str, str]]
) -> None:
    group = client.post("/api/v1/customer-groups", headers=officer, json={"name": "大集团"}).json()["id"]
    customer_with_limit(client, container, officer, "900000", group_id=group)
    member = client.post("/api/v1/customers", json=company_payload(group_id=group), headers=officer).json()["id"]
    body = {
        "grade": "3",
        "limit_amount": "200000",
        "payment_days": 60,
        "effective_from": TODAY.isoformat(),
        "expires_on": (TODAY + timedelta(days=300)).isoformat(),
    }
    made = client.post(f"/api/v1/customers/{member}/credit-proposals", headers=officer, json=body).json()
    refused = client.post(
        f"/api/v1/credit-proposals/{made['id']}/decision",
        headers=approver(1),
        json={"decision": "approve", "reason": "fine by me"},
    )
    assert refused.status_code == 403
    assert "1,100,000.00 CNY with the group's 1 other limits" in refused.json()["message"]
    lone = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()["id"]
    risky = client.post(
        f"/api/v1/customers/{lone}/credit-proposals",
        headers=officer,
        json=body | {"grade": "8", "limit_amount": "1000"},
    ).json()
    refused = client.post(
        f"/api/v1/credit-proposals/{risky['id']}/decision",
        headers=approver(1),
        json={"decision": "approve", "reason": "fine by me"},
    )
    assert "at grade 8 needs approval level 2" in refused.json()["message"]


def test_the_desk_shows_exposure_and_releases_a_block(
    client: TestClient, container: Container, officer: dict[str, str], make_user: Callable[..., str]
) -> None:
    import re

    from tests.conftest import TEST_PASSWORD
    from tests.security.test_auth import login

    customer = customer_with_limit(client, container, officer, "100000")
    items(
        client, officer, item(customer, "invoice", "INV-800", "95000", due_on=(TODAY - timedelta(days=3)).isoformat())
    )
    held = check(client, officer, customer, "20000", "SO-800").json()
    name = make_user(Role.approver)
    with container.session_factory.begin() as session:
        security.set_approval_level(session, username=name, level=1, actor=Actor("admin"))
    login(client, name, TEST_PASSWORD)
    client.cookies.set("rd_lang", "zh")
    assessment = client.get(f"/customers/{customer}/assessment").text
    assert "逾期 1–30 天" in assessment
    assert re.search(r'data-testid="utilisation">95\.0%', assessment)
    inbox = client.get("/approvals").text
    assert "SO-800" in inbox and "超出信用额度 15,000.00 CNY" in inbox
    csrf = re.findall(r'name="csrf_token" value="([^"]+)"', inbox)[0]
    empty = client.post(
        f"/credit-blocks/{held['id']}", data={"csrf_token": csrf, "decision": "release"}, follow_redirects=False
    )
    assert empty.status_code == 422
    done = client.post(
        f"/credit-blocks/{held['id']}",
        data={"csrf_token": csrf, "decision": "release", "reason": "客户已付款"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get(f"/api/v1/credit-checks/{held['id']}", headers=officer).json()["status"] == "released"
