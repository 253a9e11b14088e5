"""Delivery, on SQLite and PostgreSQL: signed webhooks to a server the test starts, e-mail to an SMTP server the
test starts, failed attempts retried with back-off (the clock is given, nothing sleeps), the last attempt leaving a
failed row on the desk, a retry by hand, and two deliverers never sending one row twice."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from riskdesk.audit.models import AuditEntry
from riskdesk.bootstrap import Container
from riskdesk.comms import deliverer
from riskdesk.comms.delivery import DeliveryFailed, EmailSender, Outgoing, WebhookSender
from riskdesk.comms.models import Notification
from riskdesk.comms.signing import verify
from riskdesk.security.permissions import Role
from tests.comms.conftest import (
    T0,
    Headers,
    Mailbox,
    WebhookReceiver,
    lawsuit,
    listing,
    outbox,
    send_events,
    subscribe,
)
from tests.conftest import free_port, make_settings

WEBHOOK = {"webhook": WebhookSender(timeout_seconds=5)}


def deliver(container: Container, now: datetime, senders: Any = None) -> dict[str, int]:
    report = deliverer.deliver_due(
        container.session_factory, keyring=container.keyring, senders=senders or WEBHOOK, now=now
    )
    return {key: value for key, value in report.counts().items() if value}


def test_a_webhook_gets_the_alert_as_json_signed_with_the_subscriptions_secret(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    officer: dict[str, str],
    customer: int,
    receiver: WebhookReceiver,
) -> None:
    hook = subscribe(client, admin, channel="webhook", target=receiver.url, min_severity="high")
    assert (
        hook["secret"].startswith("whsec_")
        and "secret" not in client.get("/api/v1/notification-subscriptions", headers=admin).json()["items"][0]
    )
    send_events(client, officer, listing(customer))
    [queued] = outbox(client, admin)
    assert queued["status"] == "pending" and queued["attempts"] == 0

    assert deliver(container, T0) == {"claimed": 1, "delivered": 1}
    [request] = receiver.requests
    assert request.path == "/hooks/riskdesk"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["X-Riskdesk-Event"] == "alert.raised"
    assert request.headers["X-Riskdesk-Delivery"] == str(queued["id"])
    signed_at = verify(hook["secret"], request.body, request.headers["X-Riskdesk-Signature"], now=int(T0.timestamp()))
    assert signed_at == int(T0.timestamp())
    body = json.loads(request.body)
    assert body["event"] == "alert.raised"
    assert body["alert"] | {"values": None} == body["alert"] | {
        "rule_id": "dishonest_debtor",
        "severity": "critical",
        "tier": "default_candidate",
        "event_id": "dd-1",
        "event_type": "dishonest_debtor_listed",
        "values": None,
    }
    assert body["customer"] == {"id": customer, "kind": "company", "name": "杭州预警通知测试有限公司"}
    assert body["links"]["desk"] == f"/alerts?customer_id={customer}"
    [sent] = outbox(client, admin, "?status=delivered")
    assert sent["attempts"] == 1 and sent["delivered_at"] and sent["last_error"] == ""
    assert deliver(container, T0 + timedelta(days=1)) == {}  # delivered once, never again


def test_a_server_error_is_a_failed_attempt_and_the_retry_after_the_back_off_delivers(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    officer: dict[str, str],
    customer: int,
    receiver: WebhookReceiver,
) -> None:
    subscribe(client, admin, channel="webhook", target=receiver.url)
    send_events(client, officer, listing(customer))
    receiver.answers = [500]
    assert deliver(container, T0) == {"claimed": 1, "retrying": 1}
    [waiting] = outbox(client, admin)
    assert waiting["status"] == "pending" and waiting["attempts"] == 1
    assert waiting["last_error"] == "127.0.0.1:" + receiver.url.split(":")[2].split("/")[0] + (
        " answered HTTP 500: database is down"
    )
    assert datetime.fromisoformat(waiting["next_attempt_at"]) == T0 + deliverer.BACKOFF[0]
    assert deliver(container, T0 + timedelta(seconds=59)) == {}  # not yet due
    assert deliver(container, T0 + deliverer.BACKOFF[0]) == {"claimed": 1, "delivered": 1}
    first, second = receiver.requests
    assert first.headers["X-Riskdesk-Delivery"] == second.headers["X-Riskdesk-Delivery"]  # the receiver's dedup key
    assert outbox(client, admin)[0] | {"status": "delivered", "attempts": 2} == outbox(client, admin)[0]


def test_a_closed_port_is_a_failed_attempt_with_a_readable_error(
    client: TestClient, container: Container, admin: dict[str, str], officer: dict[str, str], customer: int
) -> None:
    port = free_port()
    subscribe(client, admin, channel="webhook", target=f"http://127.0.0.1:{port}/hook")
    send_events(client, officer, listing(customer))
    assert deliver(container, T0) == {"claimed": 1, "retrying": 1}
    error = outbox(client, admin)[0]["last_error"]
    assert error.startswith(f"cannot reach 127.0.0.1:{port}: ConnectError:"), error
    assert "refused" in error.lower()


def test_after_the_last_attempt_the_notification_is_failed_on_the_desk_and_a_retry_by_hand_is_audited(
    client: TestClient,
    container: Container,
    token_for: Headers,
    admin: dict[str, str],
    officer: dict[str, str],
    customer: int,
) -> None:
    subscribe(client, admin, channel="webhook", target=f"http://127.0.0.1:{free_port()}/hook")
    send_events(client, officer, listing(customer))
    now = T0
    for attempt in range(1, deliverer.MAX_ATTEMPTS + 1):
        expected = "failed" if attempt == deliverer.MAX_ATTEMPTS else "retrying"
        assert deliver(container, now) == {"claimed": 1, expected: 1}, attempt
        if attempt < deliverer.MAX_ATTEMPTS:
            now += deliverer.BACKOFF[attempt - 1]
    assert deliver(container, now + timedelta(days=30)) == {}
    analyst = token_for(Role.analyst)
    [failed] = outbox(client, analyst, "?status=failed")  # every role sees the failed row
    assert failed["attempts"] == deliverer.MAX_ATTEMPTS and "cannot reach" in failed["last_error"]
    assert failed["next_attempt_at"] is None
    assert outbox(client, admin, "?status=pending") == []

    assert client.post(f"/api/v1/notifications/{failed['id']}/retry", headers=analyst).status_code == 403
    retried = client.post(f"/api/v1/notifications/{failed['id']}/retry", headers=admin)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending" and retried.json()["attempts"] == 0
    with container.session_factory() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(["notification.failed", "notification.retried"]))
        ).all()
        assert [e.action for e in entries] == ["notification.failed", "notification.retried"]
        retry_entry = json.loads(entries[1].changes)
        assert retry_entry["notification_id"] == failed["id"] and retry_entry["attempts"] == deliverer.MAX_ATTEMPTS
        assert entries[1].entity_id == str(customer)
    assert deliver(container, now + timedelta(days=30, seconds=1)) == {"claimed": 1, "retrying": 1}
    delivered_again = client.post(f"/api/v1/notifications/{failed['id']}/retry", headers=admin)
    assert delivered_again.status_code == 200  # a waiting one may be sent at once too
    assert client.post("/api/v1/notifications/999999/retry", headers=admin).status_code == 404


def test_a_delivered_notification_cannot_be_retried(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    officer: dict[str, str],
    customer: int,
    receiver: WebhookReceiver,
) -> None:
    subscribe(client, admin, channel="webhook", target=receiver.url)
    send_events(client, officer, listing(customer))
    deliver(container, T0)
    [sent] = outbox(client, admin)
    refused = client.post(f"/api/v1/notifications/{sent['id']}/retry", headers=admin)
    assert refused.status_code == 409 and "was delivered" in refused.json()["message"]


def test_an_email_arrives_over_smtp_with_recipient_subject_and_body_in_both_languages(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    officer: dict[str, str],
    customer: int,
    mailbox: Mailbox,
) -> None:
    subscribe(client, admin, channel="email", target="risk.team@example.com", min_severity="high")
    send_events(client, officer, lawsuit(customer))
    smtp = EmailSender(
        host=mailbox.host,
        port=mailbox.port,
        sender="riskdesk@example.com",
        starttls=False,
        public_url="https://riskdesk.example",
    )
    assert deliver(container, T0, senders={"email": smtp}) == {"claimed": 1, "delivered": 1}
    [envelope] = mailbox.envelopes
    assert envelope.mail_from == "riskdesk@example.com" and envelope.rcpt_tos == ["risk.team@example.com"]
    [message] = mailbox.messages()
    assert message["To"] == "risk.team@example.com"
    assert message["Subject"] == (
        "[riskdesk] 预警 HIGH: 涉诉或被强制执行 — 杭州预警通知测试有限公司 / alert 高: Lawsuit or court enforcement"
    )
    [notification] = outbox(client, admin)
    assert message["X-Riskdesk-Delivery"] == str(notification["id"])
    text = message.get_content()
    assert f"客户 / Customer: 杭州预警通知测试有限公司 (#{customer})" in text
    assert "严重程度 / Severity: 高 / high" in text and "层级 / Tier: 预警 / early warning" in text
    assert "event.role = defendant" in text
    assert f"查看 / Open: https://riskdesk.example/alerts?customer_id={customer}" in text


def test_without_an_smtp_host_an_email_attempt_fails_saying_so(
    client: TestClient, container: Container, admin: dict[str, str], officer: dict[str, str], customer: int
) -> None:
    subscribe(client, admin, channel="email", target="risk.team@example.com")
    send_events(client, officer, listing(customer))
    assert deliver(container, T0, senders=container.notification_senders) == {"claimed": 1, "retrying": 1}
    assert outbox(client, admin)[0]["last_error"].startswith("e-mail is not configured: set RISKDESK_SMTP_HOST")


PAYLOAD = {
    "event": "alert.raised",
    "alert": {
        "id": 1,
        "rule_id": "dishonest_debtor",
        "rule_version": 1,
        "rule_name": "Listed as a dishonest debtor",
        "rule_name_zh": "列入失信被执行人名单",
        "severity": "critical",
        "tier": "default_candidate",
        "event_id": "dd-1",
        "event_type": "dishonest_debtor_listed",
        "occurred_at": "2026-03-01T01:00:00+00:00",
        "sla_due_at": "2026-03-02T01:00:00+00:00",
        "values": {},
    },
    "customer": {"id": 7, "kind": "individual", "name": "李*"},
    "links": {"desk": "/alerts?customer_id=7", "api": "/api/v1/alerts/1"},
}


def test_a_refused_recipient_or_a_server_without_starttls_is_a_failed_attempt(mailbox: Mailbox) -> None:
    plain = EmailSender(host=mailbox.host, port=mailbox.port, starttls=False)
    refusal = r"127\.0\.0\.1 refused nobody@refused\.example: 550 5\.1\.1 no such mailbox"
    with pytest.raises(DeliveryFailed, match=refusal):
        plain.send(Outgoing(1, "alert.raised", "nobody@refused.example", PAYLOAD), now=T0)
    tls = EmailSender(host=mailbox.host, port=mailbox.port, starttls=True)  # the test's server offers no STARTTLS
    with pytest.raises(DeliveryFailed, match=f"SMTP 127.0.0.1:{mailbox.port}: SMTPNotSupportedError"):
        tls.send(Outgoing(2, "alert.raised", "risk@example.com", PAYLOAD), now=T0)
    assert mailbox.envelopes == []


class Exploding:
    def send(self, message: Outgoing, *, now: datetime) -> None:
        raise RuntimeError("a bug in a sender")


def test_one_receivers_failure_never_holds_back_another(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    officer: dict[str, str],
    customer: int,
    receiver: WebhookReceiver,
) -> None:
    subscribe(client, admin, channel="email", target="risk.team@example.com")
    subscribe(client, admin, channel="webhook", target=receiver.url)
    send_events(client, officer, listing(customer))
    senders = {"email": Exploding(), **WEBHOOK}
    assert deliver(container, T0, senders=senders) == {"claimed": 2, "delivered": 1, "retrying": 1}
    by_channel = {n["channel"]: n for n in outbox(client, admin)}
    assert by_channel["webhook"]["status"] == "delivered"
    assert by_channel["email"]["last_error"] == "RuntimeError: a bug in a sender"


def test_two_deliverers_never_claim_the_same_row(
    client: TestClient, container: Container, admin: dict[str, str], officer: dict[str, str], customer: int
) -> None:
    for n in range(3):
        subscribe(client, admin, channel="email", target=f"desk{n}@example.com", min_severity="low")
    send_events(client, officer, listing(customer), lawsuit(customer))
    factory, keyring = container.session_factory, container.keyring
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 6

    _, first = deliverer.claim(factory, keyring=keyring, now=T0, limit=4, worker="a")
    _, second = deliverer.claim(factory, keyring=keyring, now=T0, limit=10, worker="b")
    _, third = deliverer.claim(factory, keyring=keyring, now=T0 + timedelta(seconds=30), limit=10, worker="c")
    ids = [c.outgoing.delivery_id for c in first + second]
    assert len(first) == 4 and len(second) == 2 and third == [] and len(set(ids)) == 6
    # A deliverer that died keeps its rows only until its lease runs out; then another takes them.
    _, after_lease = deliverer.claim(factory, keyring=keyring, now=T0 + deliverer.LEASE, limit=10, worker="d")
    assert len(after_lease) == 6


def test_deliverers_claiming_at_the_same_moment_share_the_rows_without_overlap(
    client: TestClient, container: Container, admin: dict[str, str], officer: dict[str, str], customer: int
) -> None:
    for n in range(4):
        subscribe(client, admin, channel="email", target=f"desk{n}@example.com", min_severity="low")
    send_events(client, officer, listing(customer), lawsuit(customer), listing(customer, "dd-2"))
    claimed: list[int] = []
    errors: list[Exception] = []
    start = threading.Barrier(4)

    def claimer(name: str) -> None:
        start.wait()
        try:
            while True:
                _, got = deliverer.claim(
                    container.session_factory, keyring=container.keyring, now=T0, limit=2, worker=name
                )
                if not got:
                    return
                claimed.extend(c.outgoing.delivery_id for c in got)
        except Exception as exc:  # reported below: a thread's exception would otherwise be only a warning
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(claimed) == len(set(claimed)) == 12  # three alerts × four subscriptions, each row once


def test_an_outcome_after_the_lease_ran_out_is_not_recorded(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    officer: dict[str, str],
    customer: int,
    receiver: WebhookReceiver,
) -> None:
    subscribe(client, admin, channel="webhook", target=receiver.url)
    send_events(client, officer, listing(customer))
    factory, keyring = container.session_factory, container.keyring
    lease, [slow] = deliverer.claim(factory, keyring=keyring, now=T0, limit=1, worker="slow")
    assert deliver(container, T0 + deliverer.LEASE) == {"claimed": 1, "delivered": 1}
    report = deliverer.DeliveryReport()
    deliverer._record(factory, slow, lease=lease, error="late", give_up=False, now=T0, report=report)
    assert report.lost == 1 and outbox(client, admin)[0]["status"] == "delivered"


def test_the_web_app_delivers_in_the_background_when_an_interval_is_set(
    client: TestClient,
    database_url: str,
    tmp_path: Path,
    admin: dict[str, str],
    officer: dict[str, str],
    customer: int,
    receiver: WebhookReceiver,
) -> None:
    from riskdesk.web.app import create_app

    subscribe(client, admin, channel="webhook", target=receiver.url)
    send_events(client, officer, listing(customer))
    looping = Container(settings=make_settings(database_url, data_dir=tmp_path, notifications_interval_seconds=0.05))
    with TestClient(create_app(looping)):
        deadline = time.monotonic() + 20
        while not outbox(client, admin, "?status=delivered") and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(receiver.requests) == 1 and outbox(client, admin)[0]["status"] == "delivered"


def test_a_notification_of_a_subscription_deactivated_before_delivery_fails_at_once(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    officer: dict[str, str],
    customer: int,
    receiver: WebhookReceiver,
) -> None:
    hook = subscribe(client, admin, channel="webhook", target=receiver.url)
    send_events(client, officer, listing(customer))
    client.patch(f"/api/v1/notification-subscriptions/{hook['id']}", json={"active": False}, headers=admin)
    assert deliver(container, T0) == {"claimed": 1, "failed": 1}
    assert receiver.requests == []
    assert outbox(client, admin)[0]["last_error"].startswith("the subscription was deactivated before delivery")
