"""The watch list on SQLite and PostgreSQL: early-warning alerts put a customer on it once, removal is maker-checker
and waits for the alerts to close, reviews come due, the rules see ``customer.on_watch_list``, pages and CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from riskdesk.audit.models import AuditEntry
from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.cli.main import app
from riskdesk.monitoring import watch_list
from riskdesk.monitoring.models import MonitoringRule, WatchListEntry
from riskdesk.security.permissions import Role
from riskdesk.verification.models import Task
from riskdesk.web import i18n, templating
from tests.conftest import TEST_PASSWORD, company_payload
from tests.monitoring.test_intake import send
from tests.security.test_auth import login

Headers = Callable[[Role], dict[str, str]]


def lawsuit(customer_id: int, event_id: str, day: int = 1) -> dict[str, Any]:
    """An early-warning event: the customer is sued (built-in rule lawsuit_or_enforcement, no suppression)."""
    return {
        "event_id": event_id,
        "type": "lawsuit",
        "customer_id": customer_id,
        "occurred_at": f"2026-03-{day:02d}T09:00:00+08:00",
        "amount": "50000",
        "currency": "CNY",
        "role": "defendant",
    }


def new_representative(customer_id: int, event_id: str) -> dict[str, Any]:
    """A watch-tier event: a new legal representative."""
    return {
        "event_id": event_id,
        "type": "registry_change",
        "customer_id": customer_id,
        "occurred_at": "2026-03-01T10:00:00+08:00",
        "change": "legal_representative",
    }


def listed(client: TestClient, headers: dict[str, str], customer_id: int, status: str = "all") -> list[dict[str, Any]]:
    response = client.get("/api/v1/watch-list", params={"customer_id": customer_id, "status": status}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def open_alert_ids(client: TestClient, headers: dict[str, str], customer_id: int) -> list[int]:
    response = client.get("/api/v1/alerts", params={"customer_id": customer_id, "status": "open"}, headers=headers)
    return [a["id"] for a in response.json()["items"]]


def ledger_actions(container: Container, customer_id: int) -> list[str]:
    with container.session_factory() as session:
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(
                    AuditEntry.entity_type == "customer",
                    AuditEntry.entity_id == str(customer_id),
                    AuditEntry.action.like("watch_list.%"),
                )
                .order_by(AuditEntry.seq)
            )
        )


def test_an_early_warning_alert_puts_the_customer_on_the_list_once(
    client: TestClient, container: Container, officer: dict[str, str], customer: int
) -> None:
    assert send(client, officer, lawsuit(customer, "ls-1"))["alerts"] == 1
    [entry] = listed(client, officer, customer)
    assert entry["status"] == "on" and entry["added_by"].startswith("creditofficer")  # who sent the event
    [alert_id] = open_alert_ids(client, officer, customer)
    assert entry["alert_id"] == alert_id and "lawsuit_or_enforcement v1 (early_warning" in entry["added_because"]
    assert entry["next_review_on"] == entry["added_at"][:10]  # the first review is due on the day of listing
    assert send(client, officer, lawsuit(customer, "ls-2", day=2))["alerts"] == 1
    assert len(listed(client, officer, customer)) == 1
    assert ledger_actions(container, customer) == ["watch_list.added"]


def test_two_early_warning_alerts_in_one_batch_list_the_customer_once_after_the_first(
    client: TestClient, container: Container, officer: dict[str, str], customer: int
) -> None:
    """The batch stores its alerts together: the customer gets one entry, naming the earlier alert, and the ledger
    holds both alerts before the listing they caused."""
    assert send(client, officer, lawsuit(customer, "ls-b", day=2), lawsuit(customer, "ls-a", day=1))["alerts"] == 2
    [entry] = listed(client, officer, customer)
    first, _ = sorted(open_alert_ids(client, officer, customer))
    assert entry["alert_id"] == first and f"alert {first}:" in entry["added_because"]
    with container.session_factory() as session:
        actions = list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity_type == "customer", AuditEntry.entity_id == str(customer))
                .where(AuditEntry.action.in_(("alert.raised", "watch_list.added")))
                .order_by(AuditEntry.seq)
            )
        )
    assert actions == ["alert.raised", "alert.raised", "watch_list.added"]


def test_a_watch_tier_alert_does_not_put_the_customer_on_the_list(
    client: TestClient, officer: dict[str, str], customer: int
) -> None:
    assert send(client, officer, new_representative(customer, "rc-1"))["alerts"] == 1
    assert listed(client, officer, customer) == []


def test_removal_waits_for_the_alerts_to_close_and_for_another_approvers_consent(
    client: TestClient, container: Container, officer: dict[str, str], customer: int, token_for: Headers
) -> None:
    send(client, officer, lawsuit(customer, "ls-1"))
    requester = token_for(Role.approver)  # an approver works alerts too, so may ask — but not decide on it
    request_url = f"/api/v1/watch-list/{customer}/removal-request"
    decision_url = f"/api/v1/watch-list/{customer}/removal-decision"
    refused = client.post(request_url, json={"reason": "settled out of court"}, headers=requester)
    assert refused.status_code == 409
    assert "still has open early-warning alerts" in refused.json()["message"]
    assert f"/alerts?customer_id={customer}" in refused.json()["message"]
    [alert_id] = open_alert_ids(client, officer, customer)
    closed = client.post(
        f"/api/v1/alerts/{alert_id}/transition", json={"status": "closed", "reason": "settled"}, headers=officer
    )
    assert closed.status_code == 200
    no_reason = client.post(request_url, json={"reason": " "}, headers=requester)
    assert no_reason.status_code == 422 and "needs a reason" in no_reason.json()["message"]
    asked = client.post(request_url, json={"reason": "settled out of court"}, headers=requester)
    assert asked.status_code == 200 and asked.json()["status"] == "removal_requested"
    again = client.post(request_url, json={"reason": "once more"}, headers=officer)
    assert again.status_code == 409
    own = client.post(decision_url, json={"decision": "consent"}, headers=requester)
    assert own.status_code == 403 and "own removal request" in own.json()["message"]
    approver = token_for(Role.approver)
    consented = client.post(decision_url, json={"decision": "consent", "reason": "court file seen"}, headers=approver)
    assert consented.status_code == 200, consented.text
    body = consented.json()
    assert (body["status"], body["decision"], body["removed_at"] is not None) == ("removed", "consented", True)
    assert listed(client, officer, customer, status="current") == []
    assert [e["status"] for e in listed(client, officer, customer)] == ["removed"]  # kept, as history
    assert ledger_actions(container, customer) == [
        "watch_list.added",
        "watch_list.removal_requested",
        "watch_list.removed",
    ]
    nothing = client.post(decision_url, json={"decision": "consent"}, headers=approver)
    assert nothing.status_code == 404
    send(client, officer, lawsuit(customer, "ls-3", day=5))  # listed again: a new stay
    assert [e["status"] for e in listed(client, officer, customer)] == ["on", "removed"]


def test_a_refusal_keeps_the_customer_on_the_list_and_needs_a_reason(
    client: TestClient, container: Container, officer: dict[str, str], customer: int, token_for: Headers
) -> None:
    added = client.post("/api/v1/watch-list", json={"customer_id": customer, "reason": "rumours"}, headers=officer)
    assert added.status_code == 201 and added.json()["alert_id"] is None
    twice = client.post("/api/v1/watch-list", json={"customer_id": customer, "reason": "again"}, headers=officer)
    assert twice.status_code == 409 and "already" in twice.json()["message"]
    unknown = client.post("/api/v1/watch-list", json={"customer_id": 999_999, "reason": "who"}, headers=officer)
    assert unknown.status_code == 404
    extra = client.post("/api/v1/watch-list", json={"customer_id": customer, "reason": "x", "by": 1}, headers=officer)
    assert extra.status_code == 422
    assert (
        client.post(
            f"/api/v1/watch-list/{customer}/removal-request", json={"reason": "rumours denied"}, headers=officer
        ).json()["status"]
        == "removal_requested"
    )
    approver = token_for(Role.approver)
    url = f"/api/v1/watch-list/{customer}/removal-decision"
    bare = client.post(url, json={"decision": "refuse"}, headers=approver)
    assert bare.status_code == 422 and "needs a reason" in bare.json()["message"]
    refused = client.post(url, json={"decision": "refuse", "reason": "wait for the accounts"}, headers=approver)
    body = refused.json()
    assert (body["status"], body["decision"], body["decision_reason"]) == ("on", "refused", "wait for the accounts")
    assert [e["status"] for e in listed(client, officer, customer, status="current")] == ["on"]
    assert ledger_actions(container, customer)[-1] == "watch_list.removal_refused"


def test_only_approvers_decide_and_only_those_who_work_alerts_add_or_ask(
    client: TestClient, officer: dict[str, str], customer: int, token_for: Headers
) -> None:
    for role in (Role.compliance_officer, Role.admin):
        body = {"customer_id": customer, "reason": "a hunch"}
        assert client.post("/api/v1/watch-list", json=body, headers=token_for(role)).status_code == 403
    assert (
        client.post(
            "/api/v1/watch-list", json={"customer_id": customer, "reason": "a hunch"}, headers=token_for(Role.analyst)
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"/api/v1/watch-list/{customer}/removal-request", json={"reason": "no"}, headers=token_for(Role.admin)
        ).status_code
        == 403
    )
    client.post(f"/api/v1/watch-list/{customer}/removal-request", json={"reason": "gone"}, headers=officer)
    url = f"/api/v1/watch-list/{customer}/removal-decision"
    for role in (Role.analyst, Role.credit_officer, Role.compliance_officer, Role.admin):
        assert client.post(url, json={"decision": "consent"}, headers=token_for(role)).status_code == 403
    assert client.get("/api/v1/watch-list", headers=token_for(Role.admin)).json()["total"] == 1  # everyone reads


def test_reviews_come_due_once_and_move_on_by_the_interval(
    client: TestClient, container: Container, officer: dict[str, str], customer: int
) -> None:
    client.post("/api/v1/watch-list", json={"customer_id": customer, "reason": "late payer"}, headers=officer)
    with container.session_factory.begin() as session:
        entry = watch_list.current_entry(session, customer_id=customer)
        assert entry is not None
        listed_on = entry.next_review_on

    def reviews_on(day: int) -> int:
        with container.session_factory.begin() as session:
            today = listed_on + timedelta(days=day)
            return watch_list.open_reviews(session, today=today, interval_days=30, actor=Actor("cli:test"))

    assert [reviews_on(-1), reviews_on(0), reviews_on(0), reviews_on(29), reviews_on(30)] == [0, 1, 0, 0, 1]
    with container.session_factory.begin() as session:
        entry = watch_list.current_entry(session, customer_id=customer)
        assert entry is not None and entry.next_review_on == listed_on + timedelta(days=60)
        tasks = list(session.scalars(select(Task).where(Task.customer_id == customer, Task.kind == "watch_review")))
        assert len(tasks) == 2 and all("watch list" in t.title for t in tasks)
        assert {t.due_on for t in tasks} == {listed_on, listed_on + timedelta(days=30)}
    assert ledger_actions(container, customer).count("watch_list.review_opened") == 2


def test_a_removed_customer_is_not_reviewed(
    client: TestClient, container: Container, officer: dict[str, str], customer: int, token_for: Headers
) -> None:
    client.post("/api/v1/watch-list", json={"customer_id": customer, "reason": "late payer"}, headers=officer)
    client.post(f"/api/v1/watch-list/{customer}/removal-request", json={"reason": "paid up"}, headers=officer)
    url = f"/api/v1/watch-list/{customer}/removal-decision"
    assert client.post(url, json={"decision": "consent"}, headers=token_for(Role.approver)).status_code == 200
    with container.session_factory.begin() as session:
        later = date.today() + timedelta(days=400)
        assert watch_list.open_reviews(session, today=later, interval_days=30, actor=Actor("t")) == 0


def watch_listed_orders_rule() -> MonitoringRule:
    return MonitoringRule(
        rule_id="watch_listed_order",
        version=1,
        name="Order from a watch-listed customer",
        name_zh="观察名单客户下单",
        expression='customer.on_watch_list && event.type == "order_placed"',
        severity="low",
        tier="watch",
        status="active",
        suppression_seconds=0,
        description="an order while the customer is on the watch list",
        created_by="test",
    )


def order(customer_id: int, event_id: str, day: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "order_placed",
        "customer_id": customer_id,
        "occurred_at": f"2026-03-{day:02d}T12:00:00+08:00",
        "amount": "100.00",
        "currency": "CNY",
    }


def test_the_rules_see_a_watch_listed_customer_even_later_in_the_batch_that_listed_it(
    client: TestClient, container: Container, officer: dict[str, str], customer: int
) -> None:
    with container.session_factory.begin() as session:
        session.add(watch_listed_orders_rule())
    assert send(client, officer, order(customer, "o-1", day=1))["alerts"] == 0
    body = send(client, officer, lawsuit(customer, "ls-1", day=2), order(customer, "o-2", day=3))
    assert body["alerts"] == 2  # the lawsuit's, then the order's: the customer is on the list by then
    alerts = client.get(f"/api/v1/alerts?customer_id={customer}", headers=officer).json()["items"]
    rules = {a["rule_id"] for a in alerts}
    assert rules == {"lawsuit_or_enforcement", "watch_listed_order"}


@pytest.fixture
def run(run: CliRunner, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The shared ``run`` with a review interval of 14 days (read when the command builds its container)."""
    monkeypatch.setenv("RISKDESK_WATCH_REVIEW_DAYS", "14")
    return run


def test_the_cli_lists_the_watch_list_and_opens_due_reviews(
    run: CliRunner, client: TestClient, container: Container, officer: dict[str, str], customer: int
) -> None:
    client.post("/api/v1/watch-list", json={"customer_id": customer, "reason": "late payer"}, headers=officer)
    shown = run.invoke(app, ["monitor", "watch-list"])
    assert shown.exit_code == 0, shown.output
    assert [e["customer_id"] for e in json.loads(shown.stdout)["items"]] == [customer]
    assert json.loads(run.invoke(app, ["monitor", "watch-list", "--status", "removed"]).stdout)["total"] == 0
    wrong = run.invoke(app, ["monitor", "watch-list", "--status", "gone"])
    assert wrong.exit_code != 0 and "not one of" in wrong.output
    first = run.invoke(app, ["monitor", "watch-reviews"])
    assert first.exit_code == 0 and first.stdout.strip() == "1 new watch-list review tasks (every 14 days)"
    assert run.invoke(app, ["monitor", "watch-reviews"]).stdout.strip().startswith("0 new")
    with container.session_factory() as session:
        entry = session.scalar(select(WatchListEntry).where(WatchListEntry.customer_id == customer))
        assert entry is not None and entry.next_review_on == date.today() + timedelta(days=14)


def test_the_watch_list_page_and_the_customer_panel_in_chinese_and_english(
    client: TestClient,
    officer: dict[str, str],
    customer: int,
    make_user: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    send(client, officer, lawsuit(customer, "ls-1"), order(customer, "o-1", day=2))
    missing: set[str] = set()

    def recording(text: str, lang: str) -> str:
        if lang == "zh" and text not in i18n.ZH:
            missing.add(text)
        return i18n.translate(text, lang)

    monkeypatch.setattr(templating, "translate", recording)
    analyst = make_user(Role.analyst)
    assert login(client, analyst, TEST_PASSWORD)[0] == 303
    client.cookies.set("rd_lang", "zh")
    page = client.get("/watch-list")
    assert page.status_code == 200 and "观察名单" in page.text and "申请移出" in page.text
    for status in ("on", "removal_requested", "removed", "all"):
        assert client.get(f"/watch-list?status={status}").status_code == 200
    panel = client.get(f"/customers/{customer}/monitoring")
    assert panel.status_code == 200 and "已列入观察名单" in panel.text and "涉诉或被强制执行" in panel.text
    assert "近30天订单数" in panel.text and f"/alerts?status=&customer_id={customer}" in panel.text
    assert client.get(f"/customers/{customer}").status_code == 200
    assert missing == set()
    client.cookies.set("rd_lang", "en")
    page = client.get("/watch-list")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf and "Ask for removal" in page.text and "lawsuit_or_enforcement" in page.text
    refused = client.post(
        f"/watch-list/{customer}/removal-request", data={"csrf_token": csrf.group(1), "reason": "all settled"}
    )
    assert refused.status_code == 409 and "still has open early-warning alerts" in refused.text
    bad_id = client.post("/watch-list", data={"csrf_token": csrf.group(1), "customer_id": "x", "reason": "why"})
    assert bad_id.status_code == 422 and "customer ID" in bad_id.text
    other = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()["id"]
    added = client.post(
        "/watch-list",
        data={"csrf_token": csrf.group(1), "customer_id": str(other), "reason": "supplier warned us"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert "supplier warned us" in client.get("/watch-list").text
    quiet = client.get(f"/customers/{other}/monitoring").text
    assert "On the watch list" in quiet and "No events received yet." in quiet
