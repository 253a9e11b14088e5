"""Rule versions from the API and the service, on SQLite and PostgreSQL: write a draft, edit it, activate it with
four eyes (the old version retired, the next event evaluated by the new one), a rule that does not compile
refused with its position, and backtests over events sent through POST /api/v1/events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from riskdesk.audit.models import AuditEntry
from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.errors import PermissionDenied, ValidationFailed
from riskdesk.monitoring import backtests, rulebook
from riskdesk.monitoring.models import MonitoringEvent
from riskdesk.security import service as security
from riskdesk.security.permissions import Role
from tests.conftest import company_payload

Headers = Callable[[Role], dict[str, str]]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
BIG_ORDER = 'event.type == "order_placed" && event.amount != null && event.amount > 5000.0'
# v2: a big order once the customer has ordered before in the week, or any third order in a week
BIG_OR_FREQUENT = (
    'event.type == "order_placed" && (event.amount != null && event.amount > 5000.0'
    " && features.orders_count_7d >= 2 || features.orders_count_7d >= 3)"
)
DAY = 24 * 3600


def at(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat()


def order(customer_id: int, event_id: str, amount: str, days: float) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "order_placed",
        "customer_id": customer_id,
        "occurred_at": at(days),
        "amount": amount,
        "currency": "CNY",
    }


def send(client: TestClient, headers: dict[str, str], *events: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/events", json={"events": list(events)}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["dead_lettered"] == 0, body
    return body


@pytest.fixture
def analyst(token_for: Headers) -> dict[str, str]:
    return token_for(Role.analyst)


@pytest.fixture
def approver(token_for: Headers) -> dict[str, str]:
    return token_for(Role.approver)


@pytest.fixture
def customers(client: TestClient, token_for: Headers) -> list[int]:
    officer = token_for(Role.credit_officer)
    made = [client.post("/api/v1/customers", json=company_payload(), headers=officer) for _ in range(3)]
    assert all(m.status_code == 201 for m in made)
    return [m.json()["id"] for m in made]


def new_rule(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = {
        "rule_id": "big_order",
        "name": "Big order",
        "name_zh": "大额订单",
        "expression": BIG_ORDER,
        "severity": "medium",
        "tier": "watch",
        "suppression_seconds": 2 * DAY,
        **overrides,
    }
    response = client.post("/api/v1/rules", json=body, headers=headers)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def token_of(container: Container, username: str) -> dict[str, str]:
    with container.session_factory.begin() as session:
        _, secret = security.create_token(
            session, username=username, days=1, actor=Actor("test"), pepper=container.token_pepper
        )
    return {"Authorization": f"Bearer {secret}"}


def test_a_draft_is_written_edited_and_activated_and_then_alone_evaluates_the_next_event(
    client: TestClient, container: Container, analyst: dict[str, str], approver: dict[str, str], customers: list[int]
) -> None:
    made = new_rule(client, analyst, expression='event.type == "order_placed"')
    assert (made["version"], made["status"]) == (1, "draft")
    edited = client.patch("/api/v1/rules/big_order/versions/1", json={"expression": BIG_ORDER}, headers=analyst)
    assert edited.status_code == 200 and edited.json()["expression"] == BIG_ORDER
    first = client.post("/api/v1/rules/big_order/versions/1/activate", json={"reason": "ok"}, headers=approver)
    assert first.status_code == 200 and first.json()["status"] == "active", first.text
    frozen = client.patch("/api/v1/rules/big_order/versions/1", json={"name": "x"}, headers=analyst)
    assert frozen.status_code == 422 and "only a draft is edited" in frozen.json()["message"]

    customer = customers[0]
    send(client, analyst, order(customer, "o-1", "6000.00", 0))
    second = client.post(
        "/api/v1/rules/big_order/versions", json={"expression": BIG_ORDER.replace("5000.0", "9000.0")}, headers=analyst
    )
    assert second.status_code == 201 and (second.json()["version"], second.json()["status"]) == (2, "draft")
    assert second.json()["name_zh"] == "大额订单"  # copied from v1
    switched = client.post("/api/v1/rules/big_order/versions/2/activate", json={}, headers=approver)
    assert switched.status_code == 200, switched.text
    versions = client.get("/api/v1/rules/big_order", headers=analyst).json()
    assert versions["active_version"] == 2
    assert [(v["version"], v["status"]) for v in versions["versions"]] == [(1, "retired"), (2, "active")]

    send(client, analyst, order(customer, "o-2", "9500.00", 5), order(customer, "o-3", "7000.00", 10))
    alerts = client.get("/api/v1/alerts", params={"customer_id": customer}, headers=analyst).json()["items"]
    assert sorted((a["event_id"], a["rule_version"]) for a in alerts if a["rule_id"] == "big_order") == [
        ("o-1", 1),
        ("o-2", 2),
    ]  # o-3 (7,000) would have fired under v1: only v2 evaluated it
    with container.session_factory() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "monitoring_rule")))
    assert actions == [
        "rule.created",
        "rule.edited",
        "rule.activated",
        "rule.version_created",
        "rule.activated",
    ]


def test_nobody_activates_a_version_they_wrote_or_edited(
    client: TestClient, container: Container, make_user: Callable[..., str], analyst: dict[str, str]
) -> None:
    author = make_user(Role.approver)
    with container.session_factory.begin() as session:
        rulebook.create_rule(
            session,
            rule_id="own_rule",
            fields={
                "name": "Own",
                "name_zh": "自己的",
                "expression": "state.utilisation > 0.95",
                "severity": "low",
                "tier": "watch",
                "suppression_seconds": 0,
            },
            actor=Actor(author),
        )
    refused = client.post("/api/v1/rules/own_rule/versions/1/activate", json={}, headers=token_of(container, author))
    assert refused.status_code == 403 and "four eyes" in refused.json()["message"]

    editor = make_user(Role.approver)
    with container.session_factory.begin() as session:
        rulebook.edit_draft(
            session,
            rule_id="own_rule",
            version=1,
            changes={"expression": "state.utilisation > 0.9"},
            actor=Actor(editor),
        )
        with pytest.raises(PermissionDenied):
            rulebook.activate(session, rule_id="own_rule", version=1, actor=Actor(editor))
        assert rulebook.writers_of(session, row=rulebook.get_version(session, rule_id="own_rule", version=1)) == {
            author,
            editor,
        }
    third = client.post(
        "/api/v1/rules/own_rule/versions/1/activate", json={}, headers=token_of(container, make_user(Role.admin))
    )
    assert third.status_code == 200


def test_a_rule_that_does_not_compile_is_refused_with_its_line_column_and_caret(
    client: TestClient, analyst: dict[str, str]
) -> None:
    body = {
        "rule_id": "broken",
        "name": "Broken",
        "name_zh": "错误",
        "expression": "state.utilisation > 0.9 &&\n  state.max_dpd > 30",
        "severity": "low",
        "tier": "watch",
    }
    refused = client.post("/api/v1/rules", json=body, headers=analyst)
    assert refused.status_code == 422
    error = refused.json()
    assert error["error"] == "rule_invalid"
    [detail] = error["details"]
    assert (detail["field"], detail["line"], detail["column"]) == ("expression", 2, 9)
    assert detail["excerpt"] == "  state.max_dpd > 30\n        ^"
    assert "did you mean max_days_past_due" in detail["reason"]

    checked = client.post("/api/v1/rules/check", json={"expression": "state.utilisation >"}, headers=analyst).json()
    assert checked["ok"] is False and checked["error"]["line"] == 1 and checked["error"]["excerpt"].endswith("^")
    fine = client.post("/api/v1/rules/check", json={"expression": "state.utilisation > 0.9"}, headers=analyst).json()
    assert fine == {"ok": True, "reads": {"state": ["utilisation"]}}

    new_rule(client, analyst)
    edit = client.patch("/api/v1/rules/big_order/versions/1", json={"expression": "event.amount >"}, headers=analyst)
    assert edit.status_code == 422 and edit.json()["details"][0]["column"] is not None


def test_a_backtest_gives_exactly_the_expected_flags_and_compares_with_the_active_version(
    client: TestClient, analyst: dict[str, str], approver: dict[str, str], customers: list[int]
) -> None:
    a, b, c = customers
    new_rule(client, analyst)
    assert client.post("/api/v1/rules/big_order/versions/1/activate", json={}, headers=approver).status_code == 200
    send(
        client,
        analyst,
        order(a, "a-0", "6000.00", 0),
        order(a, "a-1", "7000.00", 1),
        order(a, "a-3", "8000.00", 3),
        order(a, "a-4", "100.00", 4),
        order(b, "b-2", "9000.00", 2),
        order(c, "c-0", "100.00", 0),
        order(c, "c-1", "100.00", 1),
        order(c, "c-2", "100.00", 2),
        order(c, "c-9", "9999.00", 40),  # outside the range
    )
    window = {"from": "2026-03-01", "to": "2026-03-06"}
    v1 = client.post("/api/v1/rules/backtest", json={"rule_id": "big_order", "version": 1, **window}, headers=analyst)
    assert v1.status_code == 200, v1.text
    report = v1.json()
    assert (report["evaluated"], report["flagged"], report["suppressed"], report["failed"]) == (8, 3, 1, 0)
    assert [(f["customer_id"], f["event_id"]) for f in report["flags"]] == [(a, "a-0"), (a, "a-3"), (b, "b-2")]
    assert report["flags"][0]["occurred_at"] == at(0)
    assert report["customers"] == sorted([a, b]) and report["active"] is None  # v1 is the active version

    draft = client.post("/api/v1/rules/big_order/versions", json={"expression": BIG_OR_FREQUENT}, headers=analyst)
    assert draft.status_code == 201
    v2 = client.post("/api/v1/rules/backtest", json={"rule_id": "big_order", "version": 2, **window}, headers=analyst)
    report = v2.json()
    assert [(f["customer_id"], f["event_id"]) for f in report["flags"]] == [(a, "a-1"), (a, "a-3"), (c, "c-2")]
    assert report["suppressed"] == 1  # a-4: a third order, within 2 days of a-3
    assert report["active"] == {
        "version": 1,
        "flagged": 3,
        "customers_flagged": 2,
        "suppressed": 1,
        "failed": 0,
        "both": [a],
        "only_new": [c],
        "only_old": [b],
    }
    only_a = client.post(
        "/api/v1/rules/backtest",
        json={"rule_id": "big_order", "version": 2, "customer_ids": [a], **window},
        headers=analyst,
    ).json()
    assert [f["event_id"] for f in only_a["flags"]] == ["a-1", "a-3"] and only_a["evaluated"] == 4
    unsaved = client.post(
        "/api/v1/rules/backtest",
        json={"rule_id": "big_order", "expression": BIG_ORDER, "suppression_seconds": 0, **window},
        headers=analyst,
    ).json()
    assert unsaved["unsaved"] is True and unsaved["version"] is None
    assert [f["event_id"] for f in unsaved["flags"]] == ["a-0", "a-1", "a-3", "b-2"]  # no window: a-1 too
    assert unsaved["active"]["both"] == sorted([a, b])
    by_kind = client.post(
        "/api/v1/rules/backtest",
        json={"expression": 'customer.kind == "company" && features.orders_count_7d == 3', **window},
        headers=analyst,
    ).json()
    assert [f["event_id"] for f in by_kind["flags"]] == ["a-3", "c-2"]


def test_a_backtest_reads_the_state_stored_with_each_event_and_fails_an_event_stored_without_it(
    client: TestClient, container: Container, analyst: dict[str, str], customers: list[int]
) -> None:
    a = customers[0]
    invoice = {
        "event_id": "inv-1",
        "type": "invoice_issued",
        "customer_id": a,
        "occurred_at": at(0),
        "amount": "1000.00",
        "currency": "CNY",
        "reference": "INV-1",
        "due_at": at(1),
    }
    review = {"event_id": "rev-1", "type": "review", "customer_id": a, "occurred_at": at(40)}
    send(client, analyst, invoice, review, order(a, "o-50", "10.00", 50))
    rule = {"expression": "state.max_days_past_due > 30", "from": "2026-03-01", "to": "2026-05-01"}
    report = client.post("/api/v1/rules/backtest", json=rule, headers=analyst).json()
    assert [f["event_id"] for f in report["flags"]] == ["rev-1", "o-50"] and report["failed"] == 0

    with container.session_factory.begin() as session:
        stored = session.scalar(select(MonitoringEvent).where(MonitoringEvent.event_id == "o-50"))
        assert stored is not None and stored.payload["state"]["max_days_past_due"] == 49
        stored.payload = {k: v for k, v in stored.payload.items() if k != "state"}  # as stored before snapshots
    report = client.post("/api/v1/rules/backtest", json=rule, headers=analyst).json()
    assert [f["event_id"] for f in report["flags"]] == ["rev-1"]
    [failure] = report["failures"]
    assert failure["event_id"] == "o-50" and "no state was stored with this event" in failure["reason"]
    # A rule that does not read state is not troubled by the missing snapshot.
    amounts = {"expression": "event.amount != null && event.amount > 5.0", "from": "2026-03-01", "to": "2026-05-01"}
    assert client.post("/api/v1/rules/backtest", json=amounts, headers=analyst).json()["failed"] == 0


def test_a_backtest_is_bounded_and_validated(
    client: TestClient, analyst: dict[str, str], monkeypatch: pytest.MonkeyPatch, customers: list[int]
) -> None:
    send(client, analyst, order(customers[0], "x-1", "1.00", 0), order(customers[0], "x-2", "1.00", 1))
    monkeypatch.setattr(backtests, "MAX_EVENTS", 1)
    body = {"expression": "event.amount != null && event.amount > 0.0", "from": "2026-03-01", "to": "2026-03-02"}
    refused = client.post("/api/v1/rules/backtest", json=body, headers=analyst)
    assert refused.status_code == 422 and "more than 1 per run" in refused.json()["message"]
    backwards = client.post("/api/v1/rules/backtest", json={**body, "from": "2026-03-05"}, headers=analyst)
    assert backwards.status_code == 422 and "ends before it starts" in backwards.json()["message"]
    both = client.post("/api/v1/rules/backtest", json={**body, "rule_id": "dpd_over_30", "version": 1}, headers=analyst)
    assert both.status_code == 422


def test_who_may_write_activate_and_retire(
    client: TestClient, token_for: Headers, analyst: dict[str, str], approver: dict[str, str]
) -> None:
    new_rule(client, token_for(Role.credit_officer))
    body = {"expression": "state.utilisation > 0.5"}
    assert client.post("/api/v1/rules/big_order/versions", json=body, headers=approver).status_code == 403
    assert client.post("/api/v1/rules/big_order/versions/1/activate", json={}, headers=analyst).status_code == 403
    compliance = token_for(Role.compliance_officer)
    assert client.post("/api/v1/rules/check", json=body, headers=compliance).status_code == 403
    assert client.get("/api/v1/rules?status=draft", headers=compliance).json()["total"] == 1
    no_reason = client.post("/api/v1/rules/big_order/versions/1/retire", json={}, headers=approver)
    assert no_reason.status_code == 422
    retired = client.post("/api/v1/rules/big_order/versions/1/retire", json={"reason": "not needed"}, headers=approver)
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    again = client.post("/api/v1/rules/big_order/versions/1/activate", json={}, headers=approver)
    assert again.status_code == 422 and "cannot go from retired to active" in again.json()["message"]
    taken = client.post("/api/v1/rules", json={**new_rule_body(), "rule_id": "dpd_over_30"}, headers=analyst)
    assert taken.status_code == 409
    listed = client.get("/api/v1/rules", params={"status": "active", "limit": 5}, headers=analyst).json()
    assert listed["total"] == 13 and len(listed["items"]) == 5


def new_rule_body() -> dict[str, Any]:
    return {"name": "n", "name_zh": "名", "expression": BIG_ORDER, "severity": "low", "tier": "watch"}


def test_edit_refuses_an_unknown_field_and_bad_values(container: Container) -> None:
    with container.session_factory.begin() as session:
        with pytest.raises(ValidationFailed, match="suppression_seconds"):
            rulebook.create_rule(
                session, rule_id="r_x", fields={**new_rule_body(), "suppression_seconds": -1}, actor=Actor("a")
            )
        with pytest.raises(ValidationFailed, match="not a field"):
            rulebook.create_rule(
                session,
                rule_id="r_x",
                fields={**new_rule_body(), "suppression_seconds": 0, "status": "active"},
                actor=Actor("a"),
            )
