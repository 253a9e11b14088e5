"""Event intake in embedded mode, on SQLite and PostgreSQL: once per event id, conflicts and invalid events
dead-lettered and replayable, late events, built-in rules raising deduplicated alerts with evidence, a rule failing
at run time on one event, alert moves and who may do what."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from riskdesk.audit.models import AuditEntry
from riskdesk.bootstrap import Container
from riskdesk.monitoring.models import CustomerMonitoringState, MonitoringRule
from riskdesk.security.permissions import Role
from tests.conftest import company_payload

Headers = Callable[[Role], dict[str, str]]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(days: float = 0) -> str:
    return (T0 + timedelta(days=days)).isoformat()


def send(client: TestClient, headers: dict[str, str], *events: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/events", json={"events": list(events)}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def counts(body: dict[str, Any]) -> tuple[int, int, int, int]:
    return body["accepted"], body["duplicates"], body["dead_lettered"], body["alerts"]


def order(customer_id: int, event_id: str, amount: str = "1000.00", days: float = 0, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "order_placed",
        "customer_id": customer_id,
        "occurred_at": at(days),
        "amount": amount,
        "currency": "CNY",
        **extra,
    }


def alerts_of(client: TestClient, headers: dict[str, str], customer_id: int, **filters: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/alerts", params={"customer_id": customer_id, **filters}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_an_event_delivered_twice_is_processed_once(client: TestClient, officer: dict[str, str], customer: int) -> None:
    event = order(customer, "ord-1")
    as_text = {**event, "customer_id": str(customer), "amount": "1000"}  # the same event as a CSV row gives it
    assert counts(send(client, officer, event, event)) == (1, 1, 0, 0)
    assert counts(send(client, officer, as_text)) == (0, 1, 0, 0)
    assert counts(send(client, officer, order(customer, "ord-2"))) == (1, 0, 0, 0)


def test_the_same_id_with_other_content_is_a_conflict_kept_as_a_dead_letter(
    client: TestClient, officer: dict[str, str], customer: int
) -> None:
    send(client, officer, order(customer, "ord-1"))
    body = send(client, officer, order(customer, "ord-1", amount="2000.00"), order(customer, "ord-9"))
    assert counts(body) == (1, 0, 1, 0)
    [rejected] = body["rejected"]
    assert (rejected["index"], rejected["code"], rejected["event_id"]) == (0, "conflict", "ord-1")
    assert "other content" in rejected["reason"]
    letters = client.get("/api/v1/events/dead-letters", headers=officer).json()
    assert letters["total"] == 1 and letters["items"][0]["raw"]["amount"] == "2000.00"


def test_each_invalid_event_is_dead_lettered_with_its_reason_and_the_rest_go_on(
    client: TestClient, officer: dict[str, str], customer: int
) -> None:
    bad = [
        order(999_999, "b-0"),
        {**order(customer, "b-1"), "type": "order_shipped"},
        {k: v for k, v in order(customer, "b-2").items() if k != "currency"},
        {**order(customer, "b-3"), "occurred_at": "2026-03-01T09:00:00"},
        order(customer, "b-4", amount="-5"),
        order(customer, "b-5", amount="5e13"),
        order(customer, "b-6", currency="XYZ"),
        order(customer, "b-7", days_late=3),
        "not an object",
        {**order(customer, "b-9"), "customer_id": "seven"},
    ]
    body = send(client, officer, *bad, order(customer, "good"))
    assert counts(body) == (1, 0, len(bad), 0)
    reasons = {r["index"]: r["reason"] for r in body["rejected"]}
    assert sorted(reasons) == list(range(len(bad)))
    assert "no customer 999999" in reasons[0]
    assert "'order_shipped' is not an event type" in reasons[1]
    assert "currency is missing" in reasons[2]
    assert "no time zone" in reasons[3]
    assert "negative" in reasons[4]
    assert "over 10^12" in reasons[5]
    assert "no exchange rate for XYZ" in reasons[6]
    assert "days_late does not belong to an event of type order_placed" in reasons[7]
    assert "JSON object" in reasons[8]
    assert "whole number" in reasons[9]
    assert client.get("/api/v1/events/dead-letters", headers=officer).json()["total"] == len(bad)


def test_a_batch_over_1000_events_is_refused_whole(client: TestClient, officer: dict[str, str], customer: int) -> None:
    events = [order(customer, f"o-{i}") for i in range(1001)]
    assert client.post("/api/v1/events", json={"events": events}, headers=officer).status_code == 422


def test_a_dead_letter_is_replayed_once_its_cause_is_fixed(
    client: TestClient, officer: dict[str, str], customer: int
) -> None:
    body = send(client, officer, order(customer, "usd-1", currency="USD", amount="100.00", reference="SO-1"))
    letter_id = body["rejected"][0]["dead_letter_id"]
    again = client.post(f"/api/v1/events/dead-letters/{letter_id}/replay", headers=officer).json()
    assert counts(again) == (0, 0, 1, 0) and again["dead_letter"]["attempts"] == 2
    assert again["dead_letter"]["replayed_at"] is None
    rates = {"rates": [{"currency": "USD", "rate": "7.1", "valid_on": "2026-01-01"}]}
    assert client.put("/api/v1/fx-rates", json=rates, headers=officer).status_code == 200
    replayed = client.post(f"/api/v1/events/dead-letters/{letter_id}/replay", headers=officer).json()
    assert counts(replayed) == (1, 0, 0, 0) and replayed["dead_letter"]["replayed_at"] is not None
    assert client.get("/api/v1/events/dead-letters", headers=officer).json()["total"] == 0
    assert client.get("/api/v1/events/dead-letters?replayed=true", headers=officer).json()["total"] == 1
    twice = client.post(f"/api/v1/events/dead-letters/{letter_id}/replay", headers=officer)
    assert twice.status_code == 422
    exposure = client.get(f"/api/v1/customers/{customer}/exposure", headers=officer).json()
    assert exposure["buckets"]["orders"] == "710.00"  # the order, converted to the base currency


def payments(customer_id: int, prefix: str) -> list[dict[str, Any]]:
    """Six payments, each a week apart, paying later and later: the trend is 20 days."""
    return [
        {
            "event_id": f"{prefix}-{n}",
            "type": "payment_received",
            "customer_id": customer_id,
            "occurred_at": at(7 * n),
            "amount": "500.00",
            "currency": "CNY",
            "days_late": late,
        }
        for n, late in enumerate((0, 2, 1, 20, 22, 21))
    ]


def test_late_events_are_applied_by_occurred_at(
    client: TestClient, container: Container, officer: dict[str, str], customer: int
) -> None:
    other = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()["id"]
    forward = payments(customer, "f")
    for event in forward:
        send(client, officer, event)
    backward = payments(other, "b")[::-1]
    for event in backward:  # each batch one event, newest first: every one after the first is late
        send(client, officer, event)
    for who in (customer, other):
        [alert] = alerts_of(client, officer, who)
        assert alert["rule_id"] == "payment_delay_worsening"
        assert alert["evidence"]["values"]["features.payment_delay_trend"] == 20.0
    with container.session_factory() as session:
        states = {
            s.customer_id: s.behaviour
            for s in session.scalars(select(CustomerMonitoringState).where(CustomerMonitoringState.customer_id > 0))
        }
    assert states[customer] == states[other]


def test_a_builtin_rule_raises_an_alert_with_its_evidence_and_a_ledger_entry(
    client: TestClient, container: Container, officer: dict[str, str], customer: int
) -> None:
    lawsuit = {
        "event_id": "court-1",
        "type": "lawsuit",
        "customer_id": customer,
        "occurred_at": at(),
        "amount": "250000",
        "currency": "CNY",
        "role": "defendant",
        "reference": "(2026)浙0106民初123号",
    }
    plaintiff = {**lawsuit, "event_id": "court-2", "role": "plaintiff"}
    assert counts(send(client, officer, lawsuit, plaintiff)) == (2, 0, 0, 1)
    [alert] = alerts_of(client, officer, customer)
    assert (alert["rule_id"], alert["rule_version"], alert["severity"], alert["tier"], alert["status"]) == (
        "lawsuit_or_enforcement",
        1,
        "high",
        "early_warning",
        "new",
    )
    evidence = alert["evidence"]
    assert evidence["event_ids"] == ["court-1"]
    assert evidence["values"] == {"event.role": "defendant", "event.type": "lawsuit"}
    assert evidence["rule"]["expression"].startswith('event.type == "enforcement"')
    raised = datetime.fromisoformat(alert["raised_at"])
    assert datetime.fromisoformat(alert["sla_due_at"]) - raised == timedelta(days=3)
    with container.session_factory() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "alert.raised")).all()
    assert [json.loads(e.changes)["alert_id"] for e in entries] == [alert["id"]]


def invoice_overdue(customer_id: int) -> dict[str, Any]:
    return {
        "event_id": "inv-1",
        "type": "invoice_issued",
        "customer_id": customer_id,
        "occurred_at": at(),
        "amount": "8000.00",
        "currency": "CNY",
        "reference": "INV-1",
        "due_at": at(30),
    }


def review(customer_id: int, event_id: str, days: float) -> dict[str, Any]:
    return {"event_id": event_id, "type": "review", "customer_id": customer_id, "occurred_at": at(days)}


def test_days_past_due_from_the_exposure_raise_one_alert_per_suppression_window(
    client: TestClient, officer: dict[str, str], customer: int
) -> None:
    assert counts(send(client, officer, invoice_overdue(customer), review(customer, "r-1", 40))) == (2, 0, 0, 0)
    assert counts(send(client, officer, review(customer, "r-2", 62))) == (1, 0, 0, 1)  # 32 days past due
    assert counts(send(client, officer, review(customer, "r-3", 64))) == (1, 0, 0, 0)  # within 7 days: suppressed
    assert counts(send(client, officer, review(customer, "r-2", 62))) == (0, 1, 0, 0)  # redelivered: nothing
    assert counts(send(client, officer, review(customer, "r-4", 69))) == (1, 0, 0, 1)  # 7 days on: raised again
    found = alerts_of(client, officer, customer)
    assert [a["rule_id"] for a in found] == ["dpd_over_30", "dpd_over_30"]
    assert found[1]["evidence"]["values"] == {"state.max_days_past_due": 32}
    paid = {
        "event_id": "pay-1",
        "type": "payment_received",
        "customer_id": customer,
        "occurred_at": at(70),
        "amount": "8000.00",
        "currency": "CNY",
        "reference": "INV-1",
        "days_late": 40,
    }
    send(client, officer, paid)
    exposure = client.get(f"/api/v1/customers/{customer}/exposure", headers=officer).json()
    assert exposure["total"] == "0.00"


def test_a_rule_failing_at_run_time_dead_letters_that_event_only(
    client: TestClient, container: Container, officer: dict[str, str], customer: int
) -> None:
    with container.session_factory.begin() as session:
        session.add(
            MonitoringRule(
                rule_id="fragile",
                version=1,
                name="Fragile",
                name_zh="脆弱",
                expression='event.type == "payment_received" && 100 / event.days_late > 50',
                severity="low",
                tier="watch",
                status="active",
                suppression_seconds=0,
                description="divides by days late",
                created_by="test",
            )
        )
    events = payments(customer, "p")[:3]  # days late 0 (fails), 2 (100 / 2 is not > 50), 1 (fires)
    body = send(client, officer, *events)
    assert counts(body) == (2, 0, 1, 1)
    [rejected] = body["rejected"]
    assert (rejected["index"], rejected["code"]) == (0, "rule_failed")
    assert "fragile v1" in rejected["reason"] and "division by zero" in rejected["reason"]


def test_alerts_move_through_their_statuses_and_closing_needs_a_reason(
    client: TestClient, officer: dict[str, str], customer: int, token_for: Headers, make_user: Callable[..., str]
) -> None:
    listing = {"event_id": "dd-1", "type": "dishonest_debtor_listed", "customer_id": customer, "occurred_at": at()}
    send(client, officer, listing)
    [alert] = alerts_of(client, officer, customer, status="open", severity="critical")
    analyst = token_for(Role.analyst)
    who = make_user(Role.analyst)
    url = f"/api/v1/alerts/{alert['id']}/transition"
    moved = client.post(url, json={"status": "investigating", "assignee": who}, headers=analyst)
    assert moved.status_code == 200 and (moved.json()["status"], moved.json()["assignee"]) == ("investigating", who)
    unknown = client.post(f"/api/v1/alerts/{alert['id']}/assignee", json={"assignee": "nobody"}, headers=analyst)
    assert unknown.status_code == 404
    assert client.post(url, json={"status": "escalated"}, headers=analyst).json()["status"] == "escalated"
    refused = client.post(url, json={"status": "closed", "reason": " "}, headers=analyst)
    assert refused.status_code == 422 and "needs a reason" in refused.json()["message"]
    closed = client.post(url, json={"status": "closed", "reason": "listing confirmed; limit cut"}, headers=analyst)
    assert (closed.json()["status"], closed.json()["close_reason"]) == ("closed", "listing confirmed; limit cut")
    reopened = client.post(url, json={"status": "investigating"}, headers=analyst)
    assert reopened.status_code == 422 and "closed" in reopened.json()["message"]
    assert alerts_of(client, officer, customer, status="open") == []
    assert (
        client.post("/api/v1/alerts/999999/transition", json={"status": "closed"}, headers=analyst).status_code == 404
    )


def test_only_the_roles_that_feed_events_and_work_alerts_may(
    client: TestClient, officer: dict[str, str], customer: int, token_for: Headers
) -> None:
    event = order(customer, "perm-1")
    for role in (Role.approver, Role.compliance_officer, Role.admin):
        assert client.post("/api/v1/events", json={"events": [event]}, headers=token_for(role)).status_code == 403
    assert client.get("/api/v1/events/dead-letters", headers=token_for(Role.admin)).status_code == 403
    assert client.post("/api/v1/events", json={"events": [event]}, headers=token_for(Role.analyst)).status_code == 200
    listing = {"event_id": "dd-2", "type": "dishonest_debtor_listed", "customer_id": customer, "occurred_at": at()}
    send(client, officer, listing)
    [alert] = alerts_of(client, token_for(Role.admin), customer)  # every role reads the queue
    url = f"/api/v1/alerts/{alert['id']}/transition"
    assert client.post(url, json={"status": "escalated"}, headers=token_for(Role.compliance_officer)).status_code == 403
    assert client.post(url, json={"status": "escalated"}, headers=token_for(Role.approver)).status_code == 200
    assert client.post("/api/v1/events", json={"events": [event]}).status_code == 401
